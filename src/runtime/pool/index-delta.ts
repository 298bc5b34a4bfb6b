/**
 * What a delta does to a selector index, and which part of a batch is new.
 * The main thread's delta log applies every mutation through `applyDelta`
 * before recording it, and each worker replica applies the recorded deltas
 * through the same function, so the authoritative index and its replicas
 * cannot drift apart by interpreting a delta differently.
 */
import { compileTrustedSelector, type CompiledSelector } from '../../labels/selector.ts';
import type { SelectorIndex } from '../../labels/selector-index.ts';
import type { DeltaBatch, IndexDelta } from './protocol.ts';

/**
 * Applies one delta; false when it changed nothing (a no-op costs no
 * sequence number). `compiled` is the compiled form of an `upsertSelector`
 * delta's selector when the caller has it already.
 */
export function applyDelta(index: SelectorIndex, delta: IndexDelta, compiled?: CompiledSelector): boolean {
  switch (delta.op) {
    case 'upsertSelector':
      return index.upsertSelector(delta.id, delta.partition, compiled ?? compileTrustedSelector(delta.selector));
    case 'removeSelector':
      return index.removeSelector(delta.id);
    case 'upsertLabels':
      return index.upsertLabels(delta.id, delta.partition, delta.labels);
    case 'removeLabels':
      return index.removeLabels(delta.id);
  }
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
