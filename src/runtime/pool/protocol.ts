/**
 * What crosses the thread boundary between the main thread and the selector
 * workers. Everything here is plain data (structured-clone friendly); no
 * classes, no functions.
 *
 * Two channels per worker:
 * - the *replica control channel* (a dedicated MessageChannel exposed with
 *   comlink as `ReplicaControl`): snapshots and delta batches flow main →
 *   worker, each worker keeping its own copy of the selector index;
 * - Piscina's task channel: `TaskEnvelope` in, `TaskReply` out. A task
 *   carries ids/keys and the sequence number it requires, never the index.
 */
import type { MessagePort } from 'node:worker_threads';
import type { LabelSelector, Labels } from '../../labels/selector.ts';
import type { SelectorIndexDump } from '../../labels/selector-index.ts';
import type { RecordDump } from './record-store.ts';

/** One change to the index. Sequence numbers are implicit: see `DeltaBatch`. */
export type IndexDelta =
  | { readonly op: 'upsertSelector'; readonly id: string; readonly partition: string; readonly selector: LabelSelector | null }
  | { readonly op: 'removeSelector'; readonly id: string }
  | { readonly op: 'upsertLabels'; readonly id: string; readonly partition: string; readonly labels: Labels }
  | { readonly op: 'removeLabels'; readonly id: string }
  | { readonly op: 'upsertRecord'; readonly table: string; readonly key: string; readonly partition: string; readonly value: unknown }
  | { readonly op: 'removeRecord'; readonly table: string; readonly key: string };

/** Consecutive deltas: `deltas[i]` has sequence number `firstSeq + i`. */
export interface DeltaBatch {
  readonly firstSeq: number;
  readonly deltas: readonly IndexDelta[];
}

/** The whole index at sequence `seq` (every delta up to and including `seq` applied). */
export interface IndexSnapshot extends SelectorIndexDump {
  readonly seq: number;
  /** The replicated records (record-store.ts). */
  readonly records: RecordDump;
}

/** What a worker replica reports about itself over the control channel. */
export interface ReplicaStatus {
  readonly threadId: number;
  /** Highest sequence applied; -1 before the first snapshot. */
  readonly seq: number;
  /** Batches received while a task ran, applied when it finishes. */
  readonly deferredBatches: number;
  readonly selectors: number;
  readonly labelSets: number;
  readonly records: number;
  readonly heapUsedBytes: number;
}

/** The object a worker exposes on its control channel (via comlink). */
export interface ReplicaControl {
  /** Replaces the replica with `snapshot`; returns the replica's sequence afterwards. */
  loadSnapshot(snapshot: IndexSnapshot): number;
  /**
   * Applies a batch (deltas at or below the current sequence are skipped, so
   * resending is harmless). Throws `ReplicaGapError` when the batch starts
   * beyond the next expected sequence: the main thread then resends a snapshot.
   */
  applyDeltas(batch: DeltaBatch): number;
  status(): ReplicaStatus;
}

/** First message a worker posts on `parentPort`: its control port. */
export interface ReplicaHello {
  readonly flotillaReplicaHello: 1;
  readonly threadId: number;
  readonly port: MessagePort;
}

export function isReplicaHello(message: unknown): message is ReplicaHello {
  return typeof message === 'object' && message !== null && (message as { flotillaReplicaHello?: unknown }).flotillaReplicaHello === 1;
}

/** Built-in queries plus the generic "run this module's function over the replica". */
export type PoolTask =
  | { readonly kind: 'selectorsMatching'; readonly partition: string; readonly labels: Labels }
  | { readonly kind: 'labelSetsMatching'; readonly partition: string; readonly selector: LabelSelector | null }
  | {
      readonly kind: 'selectorsChangedBetween';
      readonly partition: string;
      readonly oldLabels: Labels | null;
      readonly newLabels: Labels | null;
    }
  | ModuleTask;

/**
 * Runs `export` of `module` (a file URL) as `fn(input, index, records)` where
 * `index` is a read-only `SelectorIndexReader` and `records` a `RecordReader`: on a worker replica, or on the
 * main-thread index when the task goes inline. The function must be pure with
 * respect to the index (read only) and its input/output structured-cloneable.
 */
export interface ModuleTask {
  readonly kind: 'module';
  readonly module: string;
  readonly export: string;
  readonly input: unknown;
}

export type TaskKind = PoolTask['kind'];

export interface TaskResults {
  selectorsMatching: string[];
  labelSetsMatching: string[];
  selectorsChangedBetween: string[];
  module: unknown;
}

export interface TaskEnvelope {
  /** The worker applies deltas up to this sequence before answering. */
  readonly requiredSeq: number;
  /** How long the worker waits for its replica to reach `requiredSeq` before failing the task (transient). */
  readonly replicaWaitMs: number;
  readonly task: PoolTask;
}

/** An error crossing threads: Piscina keeps only message+stack, so the class travels as data. */
export interface EncodedError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  /** `TerminalError.reason`. */
  readonly reason?: string;
  /** `ThrottledError.retryAfterMs`. */
  readonly retryAfterMs?: number;
  readonly code?: string;
}

/** Every worker answer resolves (never rejects) with this; a rejection means the worker itself failed. */
export type TaskReply =
  | { readonly ok: true; readonly seq: number; readonly value: unknown }
  | { readonly ok: false; readonly seq: number; readonly error: EncodedError };
