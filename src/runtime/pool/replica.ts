/**
 * A selector-index replica kept in step by sequence-numbered deltas. Each
 * worker holds one (the main thread holds the authoritative index and
 * produces the deltas). The replica is what makes offloading pay: tasks name
 * keys and a required sequence instead of shipping selectors (which costs
 * ~60x more than matching inline, docs/architecture.md#worker-pool).
 *
 * Guarantees:
 * - deltas apply in sequence order; a batch that skips ahead is refused
 *   (`ReplicaGapError`) so the sender resends a snapshot;
 * - resending old deltas is harmless (already-applied sequences are skipped);
 * - a task sees one consistent state: batches arriving while a task runs
 *   (an async module task yields to the event loop) are applied after it.
 */
import { SelectorIndex } from '../../labels/selector-index.ts';
import { applyDelta, deltasAfter, lastSeqOf } from './index-delta.ts';
import type { DeltaBatch, IndexSnapshot, ReplicaStatus } from './protocol.ts';
import { SequenceWaiters } from './sequence-waiters.ts';
import { RecordStore } from './record-store.ts';

export class ReplicaGapError extends Error {
  override name = 'ReplicaGapError';
}

type Pending = { readonly kind: 'snapshot'; readonly snapshot: IndexSnapshot } | { readonly kind: 'batch'; readonly batch: DeltaBatch };

export class IndexReplica {
  #index = new SelectorIndex();
  #records = new RecordStore();
  /** Highest sequence applied to `index`; -1 until the first snapshot. */
  #seq = -1;
  /** Highest sequence received (applied or deferred): what gap detection and acks use. */
  #received = -1;
  #running = 0;
  #deferred: Pending[] = [];
  readonly #waiters = new SequenceWaiters(
    (seq) => this.#seq >= seq,
    (seq, timeoutMs) => `replica at sequence ${this.#seq} did not reach ${seq} within ${timeoutMs} ms`,
  );

  get index(): SelectorIndex {
    return this.#index;
  }

  get records(): RecordStore {
    return this.#records;
  }

  get seq(): number {
    return this.#seq;
  }

  loadSnapshot(snapshot: IndexSnapshot): number {
    this.#received = snapshot.seq;
    if (this.#running > 0) {
      this.#deferred = [{ kind: 'snapshot', snapshot }]; // supersedes anything deferred before it
      return this.#received;
    }
    this.#applySnapshot(snapshot);
    return this.#received;
  }

  applyDeltas(batch: DeltaBatch): number {
    const last = lastSeqOf(batch);
    if (this.#received < 0) {
      throw new ReplicaGapError(`replica has no snapshot yet; got deltas ${batch.firstSeq}..${last}`);
    }
    if (batch.firstSeq > this.#received + 1) {
      throw new ReplicaGapError(`replica at ${this.#received} got deltas ${batch.firstSeq}..${last}: ${batch.firstSeq - this.#received - 1} missing`);
    }
    if (last <= this.#received) return this.#received;
    this.#received = last;
    if (this.#running > 0) this.#deferred.push({ kind: 'batch', batch });
    else this.#applyBatch(batch);
    return this.#received;
  }

  /**
   * Resolves once the replica has applied `seq`. Returns `undefined` when it
   * already has (the common case, no promise allocated). Rejects with a
   * `TransientError` after `timeoutMs`, so a replica that stopped receiving
   * deltas fails tasks (which callers retry) instead of hanging them.
   */
  waitFor(seq: number, timeoutMs: number): Promise<void> | undefined {
    return this.#waiters.wait(seq, timeoutMs);
  }

  /** Runs a task against a stable replica: deltas arriving meanwhile wait until it ends. */
  async runExclusive<T>(fn: () => T | Promise<T>): Promise<T> {
    this.#running++;
    try {
      return await fn();
    } finally {
      this.#running--;
      if (this.#running === 0) this.#drainDeferred();
    }
  }

  status(threadId: number): ReplicaStatus {
    return {
      threadId,
      seq: this.#seq,
      deferredBatches: this.#deferred.length,
      selectors: this.#index.selectorCount,
      labelSets: this.#index.labelSetCount,
      records: this.#records.count,
      heapUsedBytes: process.memoryUsage().heapUsed,
    };
  }

  #drainDeferred(): void {
    const pending = this.#deferred;
    this.#deferred = [];
    for (const p of pending) {
      if (p.kind === 'snapshot') this.#applySnapshot(p.snapshot);
      else this.#applyBatch(p.batch);
    }
  }

  #applySnapshot(snapshot: IndexSnapshot): void {
    this.#index = SelectorIndex.fromDump(snapshot);
    this.#records = RecordStore.fromDump(snapshot.records);
    this.#seq = snapshot.seq;
    this.#waiters.wake();
  }

  #applyBatch(batch: DeltaBatch): void {
    const fresh = deltasAfter(batch, this.#seq);
    if (!fresh) return;
    const state = { index: this.#index, records: this.#records };
    for (const delta of fresh.deltas) applyDelta(state, delta);
    this.#seq = lastSeqOf(fresh);
    this.#waiters.wake();
  }
}
