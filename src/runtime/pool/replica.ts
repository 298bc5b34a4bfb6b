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
import { compileTrustedSelector } from '../../labels/selector.ts';
import { SelectorIndex } from '../../labels/selector-index.ts';
import { TransientError } from '../errors.ts';
import type { DeltaBatch, IndexDelta, IndexSnapshot, ReplicaStatus } from './protocol.ts';

export class ReplicaGapError extends Error {
  override name = 'ReplicaGapError';
}

/** Applies one delta; the single definition shared by the main thread and the replicas. */
export function applyDelta(index: SelectorIndex, delta: IndexDelta): void {
  switch (delta.op) {
    case 'upsertSelector':
      index.upsertSelector(delta.id, delta.partition, compileTrustedSelector(delta.selector));
      break;
    case 'removeSelector':
      index.removeSelector(delta.id);
      break;
    case 'upsertLabels':
      index.upsertLabels(delta.id, delta.partition, delta.labels);
      break;
    case 'removeLabels':
      index.removeLabels(delta.id);
      break;
  }
}

type Pending = { readonly kind: 'snapshot'; readonly snapshot: IndexSnapshot } | { readonly kind: 'batch'; readonly batch: DeltaBatch };

interface Waiter {
  readonly seq: number;
  readonly resolve: () => void;
}

export class IndexReplica {
  #index = new SelectorIndex();
  /** Highest sequence applied to `index`; -1 until the first snapshot. */
  #seq = -1;
  /** Highest sequence received (applied or deferred): what gap detection and acks use. */
  #received = -1;
  #running = 0;
  #deferred: Pending[] = [];
  #waiters: Waiter[] = [];

  get index(): SelectorIndex {
    return this.#index;
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
    const last = batch.firstSeq + batch.deltas.length - 1;
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
    if (this.#seq >= seq) return undefined;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        reject(new TransientError(`replica at sequence ${this.#seq} did not reach ${seq} within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter: Waiter = {
        seq,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.#waiters.push(waiter);
    });
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
    this.#seq = snapshot.seq;
    this.#wake();
  }

  #applyBatch(batch: DeltaBatch): void {
    const { firstSeq, deltas } = batch;
    for (let i = Math.max(0, this.#seq + 1 - firstSeq); i < deltas.length; i++) {
      applyDelta(this.#index, deltas[i] as IndexDelta);
    }
    this.#seq = Math.max(this.#seq, firstSeq + deltas.length - 1);
    this.#wake();
  }

  #wake(): void {
    if (this.#waiters.length === 0) return;
    const ready = this.#waiters.filter((w) => w.seq <= this.#seq);
    if (ready.length === 0) return;
    this.#waiters = this.#waiters.filter((w) => w.seq > this.#seq);
    for (const w of ready) w.resolve();
  }
}
