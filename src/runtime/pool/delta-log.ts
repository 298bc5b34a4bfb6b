/**
 * The main thread's side of replication (the worker side is replica.ts): the
 * authoritative selector index and the log of its changes. Every mutation
 * that changes the index gets the next sequence number and becomes a delta.
 * Deltas are batched (flushed on demand, else every `flushIntervalMs` or once
 * `maxPendingDeltas` accumulate) because broadcasting each one on its own
 * would cost a ~50 µs message per worker per change.
 */
import type { CompiledSelector, Labels } from '../../labels/selector.ts';
import { SelectorIndex, type SelectorIndexReader } from '../../labels/selector-index.ts';
import { applyDelta } from './index-delta.ts';
import { RecordStore, type RecordReader } from './record-store.ts';
import type { DeltaBatch, IndexDelta, IndexSnapshot } from './protocol.ts';

/** Where flushed batches go: the replicas of the current worker generation. */
export interface DeltaFollowers {
  /** False while there is no replica (inline only, closed): deltas are then not kept, as a later replica boots from a snapshot. */
  present(): boolean;
  publish(batch: DeltaBatch): void;
}

export interface DeltaLogOptions {
  readonly flushIntervalMs: number;
  readonly maxPendingDeltas: number;
  readonly followers: DeltaFollowers;
}

export class DeltaLog {
  readonly #index = new SelectorIndex();
  readonly #records = new RecordStore();
  readonly #state = { index: this.#index, records: this.#records };
  #seq = 0;
  #pending: IndexDelta[] = [];
  #pendingFirstSeq = 1;
  #flushTimer: NodeJS.Timeout | undefined;
  #snapshotCache: IndexSnapshot | undefined;
  readonly #flushIntervalMs: number;
  readonly #maxPendingDeltas: number;
  readonly #followers: DeltaFollowers;

  constructor(options: DeltaLogOptions) {
    this.#flushIntervalMs = options.flushIntervalMs;
    this.#maxPendingDeltas = options.maxPendingDeltas;
    this.#followers = options.followers;
  }

  get index(): SelectorIndexReader {
    return this.#index;
  }

  get records(): RecordReader {
    return this.#records;
  }

  get recordCount(): number {
    return this.#records.count;
  }

  /** Sequence number of the latest change (the number of changes so far). */
  get seq(): number {
    return this.#seq;
  }

  get pendingDeltas(): number {
    return this.#pending.length;
  }

  upsertSelector(id: string, partition: string, selector: CompiledSelector): boolean {
    return this.#apply({ op: 'upsertSelector', id, partition, selector: selector.toLabelSelector() }, selector);
  }

  removeSelector(id: string): boolean {
    return this.#apply({ op: 'removeSelector', id });
  }

  upsertLabels(id: string, partition: string, labels: Labels): boolean {
    if (!applyDelta(this.#state, { op: 'upsertLabels', id, partition, labels })) return false;
    // The index's own frozen copy, not `labels`: the caller may mutate that before the flush.
    this.#append({ op: 'upsertLabels', id, partition, labels: (this.#index.getLabels(id) as { labels: Labels }).labels });
    return true;
  }

  removeLabels(id: string): boolean {
    return this.#apply({ op: 'removeLabels', id });
  }

  upsertRecord(table: string, key: string, partition: string, value: unknown): boolean {
    if (!applyDelta(this.#state, { op: 'upsertRecord', table, key, partition, value })) return false;
    // The stored value, not the caller's: it may be mutated before the flush.
    this.#append({ op: 'upsertRecord', table, key, partition, value: this.#records.get(table, key) });
    return true;
  }

  removeRecord(table: string, key: string): boolean {
    return this.#apply({ op: 'removeRecord', table, key });
  }

  #apply(delta: IndexDelta, compiled?: CompiledSelector): boolean {
    if (!applyDelta(this.#state, delta, compiled)) return false;
    this.#append(delta);
    return true;
  }

  #append(delta: IndexDelta): void {
    this.#seq++;
    this.#snapshotCache = undefined; // stale now; do not keep a dump of the whole index alive
    if (!this.#followers.present()) {
      this.#pendingFirstSeq = this.#seq + 1;
      return;
    }
    this.#pending.push(delta);
    if (this.#pending.length >= this.#maxPendingDeltas) this.flush();
    else if (!this.#flushTimer) {
      this.#flushTimer = setTimeout(() => this.flush(), this.#flushIntervalMs);
      this.#flushTimer.unref();
    }
  }

  /** Sends the pending deltas now (a task about to require them, a generation about to change). */
  flush(): void {
    this.#stopTimer();
    if (this.#pending.length === 0) return;
    const batch: DeltaBatch = { firstSeq: this.#pendingFirstSeq, deltas: this.#pending };
    this.#pending = [];
    this.#pendingFirstSeq = this.#seq + 1;
    if (this.#followers.present()) this.#followers.publish(batch);
  }

  /** Drops the pending deltas unsent: nobody will follow them (closing). */
  discardPending(): void {
    this.#stopTimer();
    this.#pending = [];
    this.#pendingFirstSeq = this.#seq + 1;
  }

  /** The whole index at the current sequence, for a replica to boot from. */
  snapshot(): IndexSnapshot {
    // Workers starting together (pool start, resize) share one dump of the same sequence.
    if (this.#snapshotCache?.seq !== this.#seq) this.#snapshotCache = { seq: this.#seq, ...this.#index.dump(), records: this.#records.dump() };
    return this.#snapshotCache;
  }

  #stopTimer(): void {
    if (this.#flushTimer) {
      clearTimeout(this.#flushTimer);
      this.#flushTimer = undefined;
    }
  }
}
