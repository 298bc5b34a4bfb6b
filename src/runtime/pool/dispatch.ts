/**
 * Sends each task down one of two paths and accounts for it.
 *
 * - Inline: a round trip to a worker costs the main thread more than matching
 *   a few hundred selectors itself, so a task whose estimated cost (selector
 *   evaluations) is at or below `inlineThreshold` runs on the main thread
 *   against the authoritative index. So does every task while no worker
 *   generation serves.
 * - Pooled: the task carries its inputs and the sequence it requires, never
 *   the index; the worker applies deltas up to that sequence before
 *   answering. At most threads + maxQueue tasks are admitted into Piscina;
 *   further callers await a slot (`AdmissionGate`): nothing is dropped or
 *   rejected for being busy. A task whose worker fails (crash, OOM,
 *   `taskTimeoutMs`) rejects with `TransientError`, which the caller's
 *   reconcile retries.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../observability/logger.ts';
import { TransientError } from '../errors.ts';
import { AdmissionGate } from './admission.ts';
import type { DeltaLog } from './delta-log.ts';
import { decodeError } from './error-codec.ts';
import type { PoolMetrics, TaskObserver, TaskPath } from './metrics.ts';
import type { PoolTask, TaskEnvelope, TaskReply } from './protocol.ts';
import { executeBuiltinTask, executeTask } from './tasks.ts';
import type { WorkerGenerations } from './worker-generations.ts';

/**
 * Selector evaluations at or below which a task runs on the main thread.
 * Measured by bench/pool.ts (2-core VM, Node 24): a pooled query costs the
 * main thread ~45-65 µs of busy time whatever its size (post, receive,
 * promise bookkeeping; ~60 µs is one postMessage round trip here), while
 * inline matching costs ~0.05-0.08 µs per evaluated selector including result
 * sorting. Main-thread time breaks even at ~800-1,000 evaluations across runs
 * and selector shapes; at equal main-thread cost inline still wins on latency
 * (~60 µs vs ~150 µs wall) and needs no queue slot, so the default sits at the
 * top of that range.
 */
export const DEFAULT_INLINE_THRESHOLD = 1000;

export interface TaskOutcome<T> {
  readonly value: T;
  /** Index sequence the answer reflects (at least the sequence current when the task was submitted). */
  readonly seq: number;
  readonly path: TaskPath;
}

export interface DispatchSettings {
  readonly inlineThreshold: number;
  /** Tasks admitted into the workers at once (running plus queued inside Piscina). */
  readonly maxAdmitted: number;
  /** How long a worker waits for its replica to catch up with a task's sequence. */
  readonly replicaWaitMs: number;
  /** A task not finished this long after submission is aborted; 0 disables. */
  readonly taskTimeoutMs: number;
}

/** Piscina's "busy" rejections (its queue full, or no queue and no free worker). */
const PISCINA_BUSY = new Set(['Task queue is at limit', 'No task queue available and all Workers are busy']);

export function checkInlineThreshold(value: number): number {
  if (!(value >= 0)) throw new RangeError(`inlineThreshold must be >= 0, got ${value}`);
  return value;
}

export class TaskDispatcher {
  readonly #log: DeltaLog;
  readonly #workers: WorkerGenerations;
  readonly #metrics: PoolMetrics;
  readonly #logger: Logger;
  readonly #gate: AdmissionGate;
  readonly #replicaWaitMs: number;
  readonly #taskTimeoutMs: number;
  #inlineThreshold: number;
  #inFlight = 0;
  #completedPooled = 0;
  #completedInline = 0;

  constructor(settings: DispatchSettings, log: DeltaLog, workers: WorkerGenerations, metrics: PoolMetrics, logger: Logger) {
    this.#inlineThreshold = checkInlineThreshold(settings.inlineThreshold);
    this.#gate = new AdmissionGate(settings.maxAdmitted);
    this.#replicaWaitMs = settings.replicaWaitMs;
    this.#taskTimeoutMs = settings.taskTimeoutMs;
    this.#log = log;
    this.#workers = workers;
    this.#metrics = metrics;
    this.#logger = logger;
  }

  get inlineThreshold(): number {
    return this.#inlineThreshold;
  }

  set inlineThreshold(value: number) {
    this.#inlineThreshold = checkInlineThreshold(value);
  }

  /** Tasks handed to workers and not yet answered, across generations. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Callers awaiting admission. */
  get waiting(): number {
    return this.#gate.waiting;
  }

  get completed(): { readonly pooled: number; readonly inline: number } {
    return { pooled: this.#completedPooled, inline: this.#completedInline };
  }

  /** Tasks waiting: queued in Piscina beyond the live threads, plus callers awaiting admission. */
  queueDepth(): number {
    const running = Math.min(this.#inFlight, this.#workers.liveThreads);
    return this.#gate.waiting + Math.max(0, this.#inFlight - running);
  }

  resizeAdmission(maxAdmitted: number): void {
    this.#gate.resize(maxAdmitted);
  }

  /** Closing: callers awaiting admission are answered inline instead. */
  releaseWaiters(): void {
    this.#gate.releaseWaiters();
  }

  async dispatch(task: PoolTask, cost: number, name: string): Promise<TaskOutcome<unknown>> {
    const observer = this.#metrics.task(name);
    const started = performance.now();
    if (cost <= this.#inlineThreshold || !this.#workers.serving) return this.#inline(task, observer, started);
    const admitted = await this.#gate.acquire();
    const generation = this.#workers.serving;
    if (!admitted || !generation) {
      // Closed while waiting: the authoritative index still answers.
      if (admitted) this.#gate.release();
      return this.#inline(task, observer, started);
    }
    this.#log.flush(); // the worker needs every delta up to requiredSeq; send them now rather than at the next tick
    const envelope: TaskEnvelope = { requiredSeq: this.#log.seq, replicaWaitMs: this.#replicaWaitMs, task };
    this.#inFlight++;
    let reply: TaskReply;
    try {
      reply = await generation.run(envelope, this.#taskTimeoutMs > 0 ? AbortSignal.timeout(this.#taskTimeoutMs) : undefined);
    } catch (err) {
      if (PISCINA_BUSY.has((err as Error)?.message)) {
        // Cannot happen while the gate holds (it admits <= threads + maxQueue), but if Piscina
        // ever disagrees, answer from the authoritative index rather than fail the caller.
        this.#logger.warn({ task: task.kind }, 'selector pool queue unexpectedly full; answering inline');
        return this.#inline(task, observer, started);
      }
      observer.observe(secondsSince(started), 'pooled', 'worker_failure');
      throw this.#workerFailure(err);
    } finally {
      this.#inFlight--;
      this.#gate.release();
    }
    if (!reply.ok) {
      observer.observe(secondsSince(started), 'pooled', 'error');
      throw decodeError(reply.error);
    }
    observer.observe(secondsSince(started), 'pooled', 'success');
    this.#completedPooled++;
    return { value: reply.value, seq: reply.seq, path: 'pooled' };
  }

  async #inline(task: PoolTask, observer: TaskObserver, started: number): Promise<TaskOutcome<unknown>> {
    const seq = this.#log.seq;
    try {
      const value = task.kind === 'module' ? await executeTask(this.#log.index, task, this.#log.records) : executeBuiltinTask(this.#log.index, task);
      observer.observe(secondsSince(started), 'inline', 'success');
      this.#completedInline++;
      return { value, seq, path: 'inline' };
    } catch (err) {
      observer.observe(secondsSince(started), 'inline', 'error');
      throw err;
    }
  }

  /** A rejected run means the worker failed (crash, OOM, termination, abort): retryable. */
  #workerFailure(err: unknown): TransientError {
    const code = (err as { code?: unknown } | null)?.code;
    const name = (err as { name?: unknown } | null)?.name;
    const what = name === 'AbortError' ? `timed out after ${this.#taskTimeoutMs} ms` : 'failed in its worker';
    const message = `selector pool task ${what}: ${(err as Error)?.message ?? String(err)}${typeof code === 'string' ? ` (${code})` : ''}`;
    return new TransientError(message, { cause: err });
  }
}

function secondsSince(started: number): number {
  return (performance.now() - started) / 1000;
}
