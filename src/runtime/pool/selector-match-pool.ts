/**
 * Selector matching offloaded to worker threads that hold their own replica
 * of the selector index (docs/architecture.md#worker-pool). This class is
 * the facade callers use; each part does one job:
 * - delta-log.ts: the authoritative index and the batched, sequence-numbered
 *   deltas that keep the replicas (replica.ts) in step;
 * - dispatch.ts: inline fast path vs worker, admission (backpressure),
 *   worker failures surfacing as `TransientError`;
 * - worker-generations.ts / worker-generation.ts: the Piscina pools, their
 *   replica links, worker replacement, resize and close;
 * - tasks.ts: what each task kind computes, on the main thread and in the
 *   workers alike.
 */
import type { HeapInfo } from 'node:v8';
import type { ResourceLimits } from 'node:worker_threads';
import type { Registry } from 'prom-client';
import { toCompiledSelector, type CompiledSelector, type LabelSelector, type Labels } from '../../labels/selector.ts';
import type { SelectorIndexReader } from '../../labels/selector-index.ts';
import { componentLogger, silentLogger, type Logger } from '../../observability/logger.ts';
import { DeltaLog } from './delta-log.ts';
import { checkInlineThreshold, DEFAULT_INLINE_THRESHOLD, TaskDispatcher, type TaskOutcome } from './dispatch.ts';
import { PoolMetrics } from './metrics.ts';
import type { ModuleTask, PoolTask, ReplicaStatus, TaskResults } from './protocol.ts';
import { builtinTaskCost, labelSetsMatchingTask } from './tasks.ts';
import type { RecordReader } from './record-store.ts';
import type { WorkerLimits } from './worker-generation.ts';
import { WorkerGenerations } from './worker-generations.ts';

export interface SelectorMatchPoolOptions {
  /** Worker threads. 0 runs everything inline (no workers). */
  readonly threads: number;
  /**
   * Start each worker when a task first needs one (a cost above the inline
   * threshold) rather than all at construction: a controller whose batches
   * stay small never pays for worker isolates (~30 MiB each). A late worker
   * boots its replica from a snapshot. Default false.
   */
  readonly lazyWorkers?: boolean;
  /** Tasks that may wait inside the pool beyond the `threads` running; more callers await admission. */
  readonly maxQueue: number;
  /** Tasks costing at most this many selector evaluations run inline. Default `DEFAULT_INLINE_THRESHOLD`. */
  readonly inlineThreshold?: number;
  readonly registry: Registry;
  readonly logger?: Logger;
  /** Per-worker V8 limits; a worker exceeding them is replaced and its task fails as `TransientError`. */
  readonly resourceLimits?: ResourceLimits;
  /** How long `close()`/`resize()` wait for running tasks before terminating workers. Default 10 s. */
  readonly closeTimeoutMs?: number;
  /** How long a worker waits for its replica to catch up with a task's sequence. Default 10 s. */
  readonly replicaWaitMs?: number;
  /**
   * A task not finished this long after submission is aborted (`TransientError`); if it was
   * running, its worker is terminated and replaced. It counts queueing too (Piscina's abort
   * signal cannot start at dispatch), so keep it well above worker start-up (~0.3-1 s when
   * running .ts sources). 0 disables. Default 0.
   */
  readonly taskTimeoutMs?: number;
  /** Upper bound on how long a delta may sit unsent when no task forces a flush. Default 5 ms. */
  readonly deltaFlushIntervalMs?: number;
  /** Flush as soon as this many deltas are pending. Default 1000. */
  readonly maxPendingDeltas?: number;
  /** Piscina `atomics` mode; must let idle workers run their event loop (see worker-generation.ts). Default 'disabled'. */
  readonly atomics?: 'disabled' | 'async';
}

export interface PoolResizeOptions {
  readonly threads?: number;
  readonly maxQueue?: number;
  readonly inlineThreshold?: number;
  readonly resourceLimits?: ResourceLimits;
}

export interface RunOnReplicaOptions<I> {
  /** File URL (or URL) of an ES module; resolve relative modules with `new URL('./x.ts', import.meta.url)`. */
  readonly module: string | URL;
  /** Exported function `(input, index: SelectorIndexReader, records: RecordReader) => output`. Default `default`. */
  readonly export?: string;
  /** Metric label for the task. Default `module:<export>`. */
  readonly name?: string;
  readonly input: I;
  /** Estimated selector evaluations (compared with `inlineThreshold`). */
  readonly cost: number;
}

export interface ExecuteOptions {
  /** Override the cost estimate (required for `module` tasks). */
  readonly cost?: number;
  readonly name?: string;
}

export interface PoolStats {
  readonly generation: number;
  readonly threads: number;
  readonly liveThreads: number;
  readonly maxQueue: number;
  readonly inlineThreshold: number;
  /** Current index sequence (number of mutations so far). */
  readonly seq: number;
  readonly pendingDeltas: number;
  readonly inFlight: number;
  readonly waiting: number;
  readonly queueDepth: number;
  readonly completed: { readonly pooled: number; readonly inline: number };
  readonly workerRestarts: number;
  readonly selectors: number;
  readonly labelSets: number;
  readonly records: number;
  readonly replicas: ReadonlyArray<{ readonly threadId: number; readonly sentSeq: number; readonly ackedSeq: number }>;
  readonly closed: boolean;
}

function checkCount(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${value}`);
  return value;
}

function sameLimits(a: WorkerLimits, b: WorkerLimits): boolean {
  return a.threads === b.threads && a.maxQueue === b.maxQueue && JSON.stringify(a.resourceLimits ?? {}) === JSON.stringify(b.resourceLimits ?? {});
}

/** Tasks admitted into the workers at once. The gate needs one slot at least; with no threads every task runs inline and takes none. */
function admissionCapacity(limits: WorkerLimits): number {
  return Math.max(1, limits.threads + limits.maxQueue);
}

export class SelectorMatchPool {
  readonly #log: DeltaLog;
  readonly #workers: WorkerGenerations;
  readonly #dispatcher: TaskDispatcher;
  #limits: WorkerLimits;
  readonly #closeTimeoutMs: number;
  readonly #logger: Logger;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: SelectorMatchPoolOptions) {
    // Every option is checked before the first worker starts: a bad one must not leave threads behind.
    this.#limits = {
      threads: checkCount('threads', options.threads, 0),
      maxQueue: checkCount('maxQueue', options.maxQueue, 0),
      resourceLimits: options.resourceLimits,
      lazy: options.lazyWorkers ?? false,
    };
    const inlineThreshold = checkInlineThreshold(options.inlineThreshold ?? DEFAULT_INLINE_THRESHOLD);
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
    this.#logger = componentLogger(options.logger ?? silentLogger, 'selector-pool');
    this.#log = new DeltaLog({
      flushIntervalMs: options.deltaFlushIntervalMs ?? 5,
      maxPendingDeltas: options.maxPendingDeltas ?? 1000,
      followers: { present: () => this.#workers.present(), publish: (batch) => this.#workers.publish(batch) },
    });
    const metrics = new PoolMetrics(options.registry, {
      queueDepth: () => this.#dispatcher.queueDepth(),
      threads: () => this.#workers.liveThreads,
    });
    this.#workers = new WorkerGenerations(
      this.#limits,
      { atomics: options.atomics ?? 'disabled', closeTimeoutMs: this.#closeTimeoutMs, logger: this.#logger },
      { snapshot: () => this.#log.snapshot(), workerReplaced: () => metrics.workerRestarted() },
    );
    this.#dispatcher = new TaskDispatcher(
      {
        inlineThreshold,
        maxAdmitted: admissionCapacity(this.#limits),
        replicaWaitMs: options.replicaWaitMs ?? 10_000,
        taskTimeoutMs: options.taskTimeoutMs ?? 0,
      },
      this.#log,
      this.#workers,
      metrics,
      this.#logger,
    );
  }

  /** The authoritative index, for synchronous reads on the main thread. */
  get index(): SelectorIndexReader {
    return this.#log.index;
  }

  get seq(): number {
    return this.#log.seq;
  }

  // ---- mutations -------------------------------------------------------------------------------

  /**
   * Adds or replaces selector `id` in `partition`. Throws `InvalidSelectorError`
   * for an invalid selector (compile it yourself with `compileSelector(s, { path })`
   * for errors naming the object's field). Returns false for a no-op (equal
   * selector already stored), which costs no delta.
   */
  upsertSelector(id: string, partition: string, selector: LabelSelector | CompiledSelector | null | undefined): boolean {
    return this.#log.upsertSelector(id, partition, toCompiledSelector(selector));
  }

  removeSelector(id: string): boolean {
    return this.#log.removeSelector(id);
  }

  /** Adds or replaces label set `id` (e.g. a Cluster's labels). False for a no-op. */
  upsertLabels(id: string, partition: string, labels: Labels): boolean {
    return this.#log.upsertLabels(id, partition, labels);
  }

  removeLabels(id: string): boolean {
    return this.#log.removeLabels(id);
  }

  /**
   * Adds or replaces a replicated record (record-store.ts) that `module`
   * tasks read in the workers. False for a no-op (equal value stored).
   */
  upsertRecord(table: string, key: string, partition: string, value: unknown): boolean {
    return this.#log.upsertRecord(table, key, partition, value);
  }

  removeRecord(table: string, key: string): boolean {
    return this.#log.removeRecord(table, key);
  }

  /** The authoritative records, for synchronous reads on the main thread. */
  get records(): RecordReader {
    return this.#log.records;
  }

  // ---- queries ---------------------------------------------------------------------------------

  /** Ids of the selectors in `partition` that match `labels`, sorted. */
  async selectorsMatching(partition: string, labels: Labels): Promise<string[]> {
    return (await this.execute({ kind: 'selectorsMatching', partition, labels })).value;
  }

  /** Ids of the label sets in `partition` that `selector` matches, sorted. Rejects with `InvalidSelectorError` if invalid. */
  async labelSetsMatching(partition: string, selector: LabelSelector | CompiledSelector | null | undefined): Promise<string[]> {
    return (await this.execute(labelSetsMatchingTask(partition, toCompiledSelector(selector)))).value;
  }

  /** Ids of the selectors whose result differs between the two label sets (null = object absent), sorted. */
  async selectorsChangedBetween(partition: string, oldLabels: Labels | null, newLabels: Labels | null): Promise<string[]> {
    return (await this.execute({ kind: 'selectorsChangedBetween', partition, oldLabels, newLabels })).value;
  }

  /**
   * Runs a pure function module over the index: in a worker against its
   * replica, or inline when `cost` is small. For summaries/diffs over large
   * batches whose inputs the replica already holds.
   */
  async runOnReplica<I, O>(options: RunOnReplicaOptions<I>): Promise<O> {
    const exportName = options.export ?? 'default';
    const task: ModuleTask = {
      kind: 'module',
      module: typeof options.module === 'string' ? options.module : options.module.href,
      export: exportName,
      input: options.input,
    };
    return (await this.#dispatcher.dispatch(task, options.cost, options.name ?? `module:${exportName}`)).value as O;
  }

  /** Any task, with the sequence it was answered at and the path it took. */
  async execute<T extends PoolTask>(task: T, options: ExecuteOptions = {}): Promise<TaskOutcome<TaskResults[T['kind']]>> {
    let cost = options.cost;
    if (cost === undefined) {
      if (task.kind === 'module') throw new TypeError('a module task needs a cost estimate (options.cost)');
      cost = builtinTaskCost(this.#log.index, task as Exclude<PoolTask, ModuleTask>);
    }
    const name = options.name ?? (task.kind === 'module' ? `module:${(task as ModuleTask).export}` : task.kind);
    return (await this.#dispatcher.dispatch(task, cost, name)) as TaskOutcome<TaskResults[T['kind']]>;
  }

  // ---- replicas and stats ----------------------------------------------------------------------

  /**
   * Resolves once every worker of the current generation is running and has
   * acknowledged every mutation made so far (replicas booted and in step).
   * Rejects with `TransientError` after `timeoutMs`.
   */
  whenSynced(timeoutMs = 30_000): Promise<void> {
    this.#log.flush();
    return this.#workers.whenHolding(this.#log.seq, timeoutMs);
  }

  /** V8 heap statistics of each live worker thread's isolate (Node's `Worker#getHeapStatistics`); slow ones are left out. */
  workerHeapStatistics(timeoutMs = 1000): Promise<Array<{ threadId: number; heap: HeapInfo }>> {
    return this.#workers.heapStatistics(timeoutMs);
  }

  /** Each live replica's own report (over its control channel); replicas that do not answer in time are left out. */
  replicaStatus(timeoutMs = 1000): Promise<ReplicaStatus[]> {
    return this.#workers.replicaStatus(timeoutMs);
  }

  stats(): PoolStats {
    const serving = this.#workers.serving;
    return {
      generation: serving?.id ?? 0,
      threads: this.#limits.threads,
      liveThreads: this.#workers.liveThreads,
      maxQueue: this.#limits.maxQueue,
      inlineThreshold: this.#dispatcher.inlineThreshold,
      seq: this.#log.seq,
      pendingDeltas: this.#log.pendingDeltas,
      inFlight: this.#dispatcher.inFlight,
      waiting: this.#dispatcher.waiting,
      queueDepth: this.#dispatcher.queueDepth(),
      completed: this.#dispatcher.completed,
      workerRestarts: this.#workers.restarts,
      selectors: this.#log.index.selectorCount,
      labelSets: this.#log.index.labelSetCount,
      records: this.#log.recordCount,
      replicas: serving?.replicaSequences() ?? [],
      closed: this.#closed,
    };
  }

  // ---- reconfiguration and shutdown ------------------------------------------------------------

  /**
   * Applies new limits (config reload). The inline threshold changes in place;
   * a different thread count, queue size or resource limit starts a new
   * generation of workers (Piscina cannot resize in place) and retires the
   * old one after its running tasks finish (bounded by `closeTimeoutMs`).
   * Resolves when the old generation is gone.
   */
  async resize(options: PoolResizeOptions): Promise<void> {
    if (this.#closed) throw new Error('selector pool is closed');
    const limits: WorkerLimits = {
      threads: checkCount('threads', options.threads ?? this.#limits.threads, 0),
      maxQueue: checkCount('maxQueue', options.maxQueue ?? this.#limits.maxQueue, 0),
      resourceLimits: options.resourceLimits ?? this.#limits.resourceLimits,
      lazy: this.#limits.lazy,
    };
    if (options.inlineThreshold !== undefined) this.#dispatcher.inlineThreshold = options.inlineThreshold;
    if (sameLimits(limits, this.#limits)) return;
    this.#limits = limits;
    this.#dispatcher.resizeAdmission(admissionCapacity(limits));
    this.#log.flush(); // the old generation's replicas get everything up to now; the new one boots from a snapshot
    await this.#workers.replace(limits, this.#closeTimeoutMs);
  }

  /**
   * Stops the workers: running tasks finish (up to `timeoutMs`, default
   * `closeTimeoutMs`; then they fail as `TransientError`), callers waiting for
   * admission and later calls are answered inline from the authoritative
   * index, which stays usable. Idempotent.
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    this.#log.discardPending();
    const closed = this.#workers.close(options.timeoutMs ?? this.#closeTimeoutMs);
    this.#dispatcher.releaseWaiters();
    this.#closing = closed.then(() => {
      this.#logger.info('selector pool closed');
    });
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
