/**
 * What a delta does to a selector index, and which part of a batch is new.
 * The main thread's delta log applies every mutation through `applyDelta`
 * before recording it, and each worker replica applies the recorded deltas
 * through the same function, so the authoritative index and its replicas
 * cannot drift apart by interpreting a delta differently.
 */
import { compileTrustedSelector, type CompiledSelector } from '../../labels/selector.ts';
import type { SelectorIndex } from '../../labels/selector-index.ts';
import type { RecordStore } from './record-store.ts';
import type { DeltaBatch, IndexDelta } from './protocol.ts';

/**
 * Applies one delta; false when it changed nothing (a no-op costs no
 * sequence number). `compiled` is the compiled form of an `upsertSelector`
 * delta's selector when the caller has it already.
 */
export function applyDelta(state: ReplicatedState, delta: IndexDelta, compiled?: CompiledSelector): boolean {
  const { index, records } = state;
  switch (delta.op) {
    case 'upsertSelector':
      return index.upsertSelector(delta.id, delta.partition, compiled ?? compileTrustedSelector(delta.selector));
    case 'removeSelector':
      return index.removeSelector(delta.id);
    case 'upsertLabels':
      return index.upsertLabels(delta.id, delta.partition, delta.labels);
    case 'removeLabels':
      return index.removeLabels(delta.id);
    case 'upsertRecord':
      return records.upsert(delta.table, delta.key, delta.partition, delta.value);
    case 'removeRecord':
      return records.remove(delta.table, delta.key);
  }
}

/** What the deltas change: the selector index and the records beside it. */
export interface ReplicatedState {
  readonly index: SelectorIndex;
  readonly records: RecordStore;
}

export function lastSeqOf(batch: DeltaBatch): number {
  return batch.firstSeq + batch.deltas.length - 1;
}

/** The deltas of `batch` with sequence numbers above `seq`; undefined when there are none. */
export function deltasAfter(batch: DeltaBatch, seq: number): DeltaBatch | undefined {
  const skip = Math.max(0, seq + 1 - batch.firstSeq);
  if (skip >= batch.deltas.length) return undefined;
  return skip === 0 ? batch : { firstSeq: batch.firstSeq + skip, deltas: batch.deltas.slice(skip) };
}
