/**
 * Selector matching offloaded to worker threads that hold their own replica
 * of the selector index (DESIGN §3 "Worker pool").
 *
 * Shape, and why:
 * - The main thread owns the authoritative `SelectorIndex`. Every mutation
 *   gets the next sequence number and becomes a delta. Deltas are batched
 *   (flushed before a pooled task is dispatched, else every
 *   `deltaFlushIntervalMs` or once `maxPendingDeltas` accumulate) and pushed
 *   to each worker over its comlink control channel: broadcasting each delta
 *   on its own would cost a ~50 µs message per worker per change.
 * - A pooled task carries its inputs (labels, a selector, ids) and the
 *   sequence it requires, never the index; the worker applies deltas up to
 *   that sequence before answering. A fresh or replacement worker boots from a
 *   snapshot sent when it says hello, then follows deltas.
 * - Small tasks run inline: a round trip costs the main thread more than
 *   matching a few hundred selectors itself. A task's cost is the number of
 *   selector evaluations the inverted index predicts; at or below
 *   `inlineThreshold` it runs on the main thread (default measured by
 *   bench/pool.ts, see DEFAULT_INLINE_THRESHOLD).
 * - Backpressure: at most threads + maxQueue tasks are admitted into Piscina;
 *   further callers await a slot (`AdmissionGate`). Nothing is dropped or
 *   rejected for being busy.
 * - A worker that crashes or runs out of memory (`resourceLimits`) is
 *   replaced by Piscina; its task rejects with `TransientError` (the caller's
 *   reconcile retries) and the replacement boots from a snapshot.
 * - Piscina cannot change thread count or queue size in place, so `resize()`
 *   starts a new generation of workers (booting from a snapshot) and retires
 *   the old one once its running tasks finish. Only the inline threshold
 *   changes in place.
 * - Piscina runs with `atomics: 'disabled'`: with the default `'sync'` an idle
 *   worker blocks in `Atomics.wait()`, its event loop does not run, and
 *   control-channel messages (snapshots, deltas, status) sit unread until the
 *   next task arrives (verified: a status call to an idle 'sync' worker never
 *   answered within 500 ms; 'async' and 'disabled' answered).
 */
import { performance } from 'node:perf_hooks';
import type { ResourceLimits } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { Registry } from 'prom-client';
import { CompiledSelector, toCompiledSelector, type LabelSelector, type Labels } from '../../labels/selector.ts';
import { SelectorIndex, type SelectorIndexReader } from '../../labels/selector-index.ts';
import { silentLogger, type Logger } from '../../observability/logger.ts';
import { TransientError } from '../errors.ts';
import { AdmissionGate } from './admission.ts';
import { decodeError } from './error-codec.ts';
import { PoolMetrics, type TaskObserver, type TaskPath } from './metrics.ts';
import {
  isReplicaHello,
  type IndexDelta,
  type IndexSnapshot,
  type ModuleTask,
  type PoolTask,
  type ReplicaHello,
  type ReplicaStatus,
  type TaskEnvelope,
  type TaskReply,
  type TaskResults,
} from './protocol.ts';
import { ReplicaLink } from './replica-link.ts';
import { builtinTaskCost, executeBuiltinTask, executeTask } from './tasks.ts';
import { selectorWorkerUrl } from './worker-url.ts';

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

export interface SelectorMatchPoolOptions {
  /** Worker threads. 0 runs everything inline (no workers). */
  readonly threads: number;
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
  /** Piscina `atomics` mode; must let idle workers run their event loop (see module comment). Default 'disabled'. */
  readonly atomics?: 'disabled' | 'async';
}

export interface PoolResizeOptions {
  readonly threads?: number;
  readonly maxQueue?: number;
  readonly inlineThreshold?: number;
  readonly resourceLimits?: ResourceLimits;
}

export interface TaskOutcome<T> {
  readonly value: T;
  /** Index sequence the answer reflects (at least the sequence current when the task was submitted). */
  readonly seq: number;
  readonly path: TaskPath;
}

export interface RunOnReplicaOptions<I> {
  /** File URL (or URL) of an ES module; resolve relative modules with `new URL('./x.ts', import.meta.url)`. */
  readonly module: string | URL;
  /** Exported function `(input, index: SelectorIndexReader) => output`. Default `default`. */
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
  readonly replicas: ReadonlyArray<{ readonly threadId: number; readonly sentSeq: number; readonly ackedSeq: number }>;
  readonly closed: boolean;
}

interface Generation {
  readonly id: number;
  readonly piscina: Piscina<TaskEnvelope, TaskReply>;
  readonly threads: number;
  readonly maxQueue: number;
  readonly resourceLimits: ResourceLimits | undefined;
  readonly links: Map<number, ReplicaLink>;
  inFlight: number;
  retiring: boolean;
  /** Workers terminated: nothing more to attach. */
  stopped: boolean;
  onIdle: (() => void) | undefined;
  retired: Promise<void> | undefined;
}

interface SyncWaiter {
  readonly seq: number;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

function checkCount(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${value}`);
  return value;
}

function sameLimits(a: ResourceLimits | undefined, b: ResourceLimits | undefined): boolean {
  return JSON.stringify(a ?? {}) === JSON.stringify(b ?? {});
}

/** Piscina's "busy" rejections (its queue full, or no queue and no free worker). */
const PISCINA_BUSY = new Set(['Task queue is at limit', 'No task queue available and all Workers are busy']);

export class SelectorMatchPool {
  readonly #index = new SelectorIndex();
  #seq = 0;
  #pending: IndexDelta[] = [];
  #pendingFirstSeq = 1;
  #flushTimer: NodeJS.Timeout | undefined;
  #snapshotCache: IndexSnapshot | undefined;

  #gen: Generation | undefined;
  readonly #retiring = new Set<Generation>();
  #generationCounter = 0;
  readonly #gate: AdmissionGate;
  #threads: number;
  #maxQueue: number;
  #inlineThreshold: number;
  #resourceLimits: ResourceLimits | undefined;

  readonly #closeTimeoutMs: number;
  readonly #replicaWaitMs: number;
  readonly #taskTimeoutMs: number;
  readonly #flushIntervalMs: number;
  readonly #maxPendingDeltas: number;
  readonly #atomics: 'disabled' | 'async';
  readonly #metrics: PoolMetrics;
  readonly #logger: Logger;

  #syncWaiters: SyncWaiter[] = [];
  #completedPooled = 0;
  #completedInline = 0;
  #restarts = 0;
  #inFlight = 0;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: SelectorMatchPoolOptions) {
    this.#threads = checkCount('threads', options.threads, 0);
    this.#maxQueue = checkCount('maxQueue', options.maxQueue, 0);
    this.#inlineThreshold = options.inlineThreshold ?? DEFAULT_INLINE_THRESHOLD;
    if (!(this.#inlineThreshold >= 0)) throw new RangeError(`inlineThreshold must be >= 0, got ${this.#inlineThreshold}`);
    this.#resourceLimits = options.resourceLimits;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
    this.#replicaWaitMs = options.replicaWaitMs ?? 10_000;
    this.#taskTimeoutMs = options.taskTimeoutMs ?? 0;
    this.#flushIntervalMs = options.deltaFlushIntervalMs ?? 5;
    this.#maxPendingDeltas = options.maxPendingDeltas ?? 1000;
    this.#atomics = options.atomics ?? 'disabled';
    this.#logger = (options.logger ?? silentLogger).child({ component: 'selector-pool' });
    this.#gate = new AdmissionGate(Math.max(1, this.#threads + this.#maxQueue));
    this.#metrics = new PoolMetrics(options.registry, {
      queueDepth: () => this.#queueDepth(),
      threads: () => this.#liveThreads(),
    });
    if (this.#threads > 0) this.#gen = this.#startGeneration();
  }

  /** The authoritative index, for synchronous reads on the main thread. */
  get index(): SelectorIndexReader {
    return this.#index;
  }

  get seq(): number {
    return this.#seq;
  }

  // ---- mutations -------------------------------------------------------------------------------

  /**
   * Adds or replaces selector `id` in `partition`. Throws `InvalidSelectorError`
   * for an invalid selector (compile it yourself with `compileSelector(s, { path })`
   * for errors naming the object's field). Returns false for a no-op (equal
   * selector already stored), which costs no delta.
   */
  upsertSelector(id: string, partition: string, selector: LabelSelector | CompiledSelector | null | undefined): boolean {
    const compiled = toCompiledSelector(selector);
    if (!this.#index.upsertSelector(id, partition, compiled)) return false;
    this.#record({ op: 'upsertSelector', id, partition, selector: compiled.toLabelSelector() });
    return true;
  }

  removeSelector(id: string): boolean {
    if (!this.#index.removeSelector(id)) return false;
    this.#record({ op: 'removeSelector', id });
    return true;
  }

  /** Adds or replaces label set `id` (e.g. a Cluster's labels). False for a no-op. */
  upsertLabels(id: string, partition: string, labels: Labels): boolean {
    if (!this.#index.upsertLabels(id, partition, labels)) return false;
    // The index's own frozen copy: the caller may mutate `labels` before the flush.
    const stored = this.#index.getLabels(id) as { labels: Labels };
    this.#record({ op: 'upsertLabels', id, partition, labels: stored.labels });
    return true;
  }

  removeLabels(id: string): boolean {
    if (!this.#index.removeLabels(id)) return false;
    this.#record({ op: 'removeLabels', id });
    return true;
  }

  #record(delta: IndexDelta): void {
    this.#seq++;
    this.#snapshotCache = undefined; // stale now; do not keep a dump of the whole index alive
    if (!this.#gen) {
      // No replicas to feed (inline-only or closed); a future generation boots from a snapshot.
      this.#pendingFirstSeq = this.#seq + 1;
      return;
    }
    this.#pending.push(delta);
    if (this.#pending.length >= this.#maxPendingDeltas) this.#flush();
    else if (!this.#flushTimer) {
      this.#flushTimer = setTimeout(() => this.#flush(), this.#flushIntervalMs);
      this.#flushTimer.unref();
    }
  }

  #flush(): void {
    if (this.#flushTimer) {
      clearTimeout(this.#flushTimer);
      this.#flushTimer = undefined;
    }
    if (this.#pending.length === 0) return;
    const deltas = this.#pending;
    const firstSeq = this.#pendingFirstSeq;
    this.#pending = [];
    this.#pendingFirstSeq = this.#seq + 1;
    if (!this.#gen) return;
    for (const link of this.#gen.links.values()) link.sendDeltas(firstSeq, deltas);
  }

  #snapshot(): IndexSnapshot {
    // Workers starting together (pool start, resize) share one dump of the same sequence.
    if (this.#snapshotCache?.seq !== this.#seq) this.#snapshotCache = { seq: this.#seq, ...this.#index.dump() };
    return this.#snapshotCache;
  }

  // ---- queries ---------------------------------------------------------------------------------

  /** Ids of the selectors in `partition` that match `labels`, sorted. */
  async selectorsMatching(partition: string, labels: Labels): Promise<string[]> {
    return (await this.execute({ kind: 'selectorsMatching', partition, labels })).value;
  }

  /** Ids of the label sets in `partition` that `selector` matches, sorted. Rejects with `InvalidSelectorError` if invalid. */
  async labelSetsMatching(partition: string, selector: LabelSelector | CompiledSelector | null | undefined): Promise<string[]> {
    const compiled = toCompiledSelector(selector);
    const task: PoolTask = { kind: 'labelSetsMatching', partition, selector: compiled.toLabelSelector() };
    return (await this.#execute(task, builtinTaskCost(this.#index, task, compiled), task.kind, compiled)).value as string[];
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
    return (await this.#execute(task, options.cost, options.name ?? `module:${exportName}`)).value as O;
  }

  /** Any task, with the sequence it was answered at and the path it took. */
  async execute<T extends PoolTask>(task: T, options: ExecuteOptions = {}): Promise<TaskOutcome<TaskResults[T['kind']]>> {
    let cost = options.cost;
    if (cost === undefined) {
      if (task.kind === 'module') throw new TypeError('a module task needs a cost estimate (options.cost)');
      cost = builtinTaskCost(this.#index, task as Exclude<PoolTask, ModuleTask>);
    }
    const name = options.name ?? (task.kind === 'module' ? `module:${(task as ModuleTask).export}` : task.kind);
    return (await this.#execute(task, cost, name)) as TaskOutcome<TaskResults[T['kind']]>;
  }

  async #execute(task: PoolTask, cost: number, name: string, selector?: CompiledSelector): Promise<TaskOutcome<unknown>> {
    const observer = this.#metrics.task(name);
    const started = performance.now();
    if (cost <= this.#inlineThreshold || !this.#gen) return this.#inline(task, selector, observer, started);
    const admitted = await this.#gate.acquire();
    const gen = this.#gen;
    if (!admitted || !gen) {
      // Closed while waiting: the authoritative index still answers.
      if (admitted) this.#gate.release();
      return this.#inline(task, selector, observer, started);
    }
    return this.#pooled(gen, task, selector, observer, started);
  }

  async #inline(task: PoolTask, selector: CompiledSelector | undefined, observer: TaskObserver, started: number): Promise<TaskOutcome<unknown>> {
    const seq = this.#seq;
    try {
      const value = task.kind === 'module' ? await executeTask(this.#index, task) : executeBuiltinTask(this.#index, task, selector);
      observer.observe((performance.now() - started) / 1000, 'inline', 'success');
      this.#completedInline++;
      return { value, seq, path: 'inline' };
    } catch (err) {
      observer.observe((performance.now() - started) / 1000, 'inline', 'error');
      throw err;
    }
  }

  async #pooled(gen: Generation, task: PoolTask, selector: CompiledSelector | undefined, observer: TaskObserver, started: number): Promise<TaskOutcome<unknown>> {
    this.#flush(); // the worker needs every delta up to requiredSeq; send them now rather than at the next tick
    const envelope: TaskEnvelope = { requiredSeq: this.#seq, replicaWaitMs: this.#replicaWaitMs, task };
    gen.inFlight++;
    this.#inFlight++;
    let reply: TaskReply;
    try {
      reply = await (this.#taskTimeoutMs > 0
        ? gen.piscina.run(envelope, { signal: AbortSignal.timeout(this.#taskTimeoutMs) })
        : gen.piscina.run(envelope));
    } catch (err) {
      if (PISCINA_BUSY.has((err as Error)?.message)) {
        // Cannot happen while the gate holds (it admits <= threads + maxQueue), but if Piscina
        // ever disagrees, answer from the authoritative index rather than fail the caller.
        this.#logger.warn({ task: task.kind }, 'selector pool queue unexpectedly full; answering inline');
        return this.#inline(task, selector, observer, started);
      }
      observer.observe((performance.now() - started) / 1000, 'pooled', 'worker_failure');
      throw this.#workerFailure(err);
    } finally {
      gen.inFlight--;
      this.#inFlight--;
      this.#gate.release();
      if (gen.inFlight === 0) gen.onIdle?.();
    }
    if (!reply.ok) {
      observer.observe((performance.now() - started) / 1000, 'pooled', 'error');
      throw decodeError(reply.error);
    }
    observer.observe((performance.now() - started) / 1000, 'pooled', 'success');
    this.#completedPooled++;
    return { value: reply.value, seq: reply.seq, path: 'pooled' };
  }

  /** A rejected `run()` means the worker failed (crash, OOM, termination, abort): retryable. */
  #workerFailure(err: unknown): TransientError {
    const code = (err as { code?: unknown } | null)?.code;
    const name = (err as { name?: unknown } | null)?.name;
    const what = name === 'AbortError' ? `timed out after ${this.#taskTimeoutMs} ms` : 'failed in its worker';
    const message = `selector pool task ${what}: ${(err as Error)?.message ?? String(err)}${typeof code === 'string' ? ` (${code})` : ''}`;
    return new TransientError(message, { cause: err });
  }

  // ---- workers ---------------------------------------------------------------------------------

  #startGeneration(): Generation {
    const piscina = new Piscina<TaskEnvelope, TaskReply>({
      filename: selectorWorkerUrl().href,
      minThreads: this.#threads,
      maxThreads: this.#threads,
      // A worker that idled out would take its replica with it.
      idleTimeout: Infinity,
      maxQueue: this.#maxQueue,
      concurrentTasksPerWorker: 1,
      atomics: this.#atomics,
      closeTimeout: this.#closeTimeoutMs,
      ...(this.#resourceLimits ? { resourceLimits: this.#resourceLimits } : {}),
    });
    const gen: Generation = {
      id: ++this.#generationCounter,
      piscina,
      threads: this.#threads,
      maxQueue: this.#maxQueue,
      resourceLimits: this.#resourceLimits,
      links: new Map(),
      inFlight: 0,
      retiring: false,
      stopped: false,
      onIdle: undefined,
      retired: undefined,
    };
    piscina.on('message', (message: unknown) => {
      if (isReplicaHello(message)) this.#attach(gen, message);
    });
    piscina.on('workerDestroy', (worker: { id: number }) => {
      gen.links.get(worker.id)?.markDead('removed from the pool');
      if (gen.retiring || this.#gen !== gen) return;
      // With minThreads = maxThreads and no idle timeout, Piscina only removes a worker that
      // failed (crash, OOM, abort); it starts a replacement, which boots from a snapshot.
      this.#restarts++;
      this.#metrics.workerRestarted();
      this.#logger.warn({ threadId: worker.id, generation: gen.id }, 'selector pool worker died; replacing it');
    });
    // Without a listener, an 'error' event (worker failing with no task, close timeout) would throw.
    piscina.on('error', (err: unknown) => this.#logger.error({ err, generation: gen.id }, 'selector pool error'));
    this.#logger.info({ generation: gen.id, threads: gen.threads, maxQueue: gen.maxQueue }, 'selector pool generation started');
    return gen;
  }

  #attach(gen: Generation, hello: ReplicaHello): void {
    // A retiring generation still needs its replicas: a worker slow to start may already hold a
    // task (dispatched before close()/resize()) that waits for the snapshot. It gets a snapshot,
    // which covers every sequence such a task can require, but no later deltas.
    if (gen.stopped) {
      hello.port.close();
      return;
    }
    const worker = gen.piscina.threads.find((w) => w.threadId === hello.threadId);
    const link = new ReplicaLink(
      hello.threadId,
      hello.port,
      worker,
      {
        snapshot: () => this.#snapshot(),
        acked: () => this.#checkSync(),
        died: (dead, reason, workerAlive) => {
          if (gen.links.get(dead.threadId) === dead) gen.links.delete(dead.threadId);
          if (workerAlive && !gen.retiring && !this.#closed) {
            // Nothing can feed this worker deltas any more: terminating it makes Piscina start a
            // replacement (which boots from a snapshot) and fail its task as TransientError.
            this.#logger.warn({ threadId: dead.threadId, reason }, 'selector replica unusable; replacing its worker');
            void dead.worker?.terminate();
          }
        },
      },
      this.#logger,
    );
    gen.links.get(hello.threadId)?.markDead('superseded');
    gen.links.set(hello.threadId, link);
    // Anything pending is already in the index and so in the snapshot.
    link.sendSnapshot(this.#snapshot());
  }

  #liveThreads(): number {
    return this.#gen ? this.#gen.piscina.threads.length : 0;
  }

  #queueDepth(): number {
    const running = Math.min(this.#inFlight, this.#liveThreads());
    return this.#gate.waiting + Math.max(0, this.#inFlight - running);
  }

  /**
   * Resolves once every worker of the current generation is running and has
   * acknowledged every mutation made so far (replicas booted and in step).
   * Rejects with `TransientError` after `timeoutMs`.
   */
  whenSynced(timeoutMs = 30_000): Promise<void> {
    this.#flush();
    if (this.#isSynced(this.#seq)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: SyncWaiter = {
        seq: this.#seq,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#syncWaiters = this.#syncWaiters.filter((w) => w !== waiter);
          reject(new TransientError(`selector pool replicas not in step with sequence ${waiter.seq} after ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.#syncWaiters.push(waiter);
    });
  }

  #isSynced(seq: number): boolean {
    const gen = this.#gen;
    if (!gen) return true;
    if (gen.links.size < gen.threads) return false;
    for (const link of gen.links.values()) if (link.ackedSeq < seq) return false;
    return true;
  }

  #checkSync(): void {
    if (this.#syncWaiters.length === 0) return;
    const still: SyncWaiter[] = [];
    for (const w of this.#syncWaiters) {
      if (this.#isSynced(w.seq)) {
        clearTimeout(w.timer);
        w.resolve();
      } else still.push(w);
    }
    this.#syncWaiters = still;
  }

  /** Each live replica's own report (over its control channel); replicas that do not answer in time are left out. */
  async replicaStatus(timeoutMs = 1000): Promise<ReplicaStatus[]> {
    const links = [...(this.#gen?.links.values() ?? [])];
    const settled = await Promise.allSettled(links.map((l) => l.status(timeoutMs)));
    return settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  }

  stats(): PoolStats {
    return {
      generation: this.#gen?.id ?? 0,
      threads: this.#threads,
      liveThreads: this.#liveThreads(),
      maxQueue: this.#maxQueue,
      inlineThreshold: this.#inlineThreshold,
      seq: this.#seq,
      pendingDeltas: this.#pending.length,
      inFlight: this.#inFlight,
      waiting: this.#gate.waiting,
      queueDepth: this.#queueDepth(),
      completed: { pooled: this.#completedPooled, inline: this.#completedInline },
      workerRestarts: this.#restarts,
      selectors: this.#index.selectorCount,
      labelSets: this.#index.labelSetCount,
      replicas: [...(this.#gen?.links.values() ?? [])].map((l) => ({ threadId: l.threadId, sentSeq: l.sentSeq, ackedSeq: l.ackedSeq })),
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
    const threads = checkCount('threads', options.threads ?? this.#threads, 0);
    const maxQueue = checkCount('maxQueue', options.maxQueue ?? this.#maxQueue, 0);
    if (options.inlineThreshold !== undefined) {
      if (!(options.inlineThreshold >= 0)) throw new RangeError(`inlineThreshold must be >= 0, got ${options.inlineThreshold}`);
      this.#inlineThreshold = options.inlineThreshold;
    }
    const limits = options.resourceLimits ?? this.#resourceLimits;
    if (threads === this.#threads && maxQueue === this.#maxQueue && sameLimits(limits, this.#resourceLimits)) return;
    this.#threads = threads;
    this.#maxQueue = maxQueue;
    this.#resourceLimits = limits;
    this.#gate.resize(Math.max(1, threads + maxQueue));
    this.#flush(); // the old generation's replicas get everything up to now; the new one boots from a snapshot
    const old = this.#gen;
    this.#gen = threads > 0 ? this.#startGeneration() : undefined;
    this.#logger.info({ threads, maxQueue, from: old?.id, to: this.#gen?.id }, 'selector pool resized');
    this.#checkSync();
    if (old) await this.#retire(old, this.#closeTimeoutMs);
  }

  #retire(gen: Generation, timeoutMs: number): Promise<void> {
    gen.retired ??= this.#doRetire(gen, timeoutMs);
    return gen.retired;
  }

  async #doRetire(gen: Generation, timeoutMs: number): Promise<void> {
    gen.retiring = true;
    this.#retiring.add(gen);
    try {
      let timedOut = false;
      if (gen.inFlight > 0) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          gen.onIdle = resolve;
          timer = setTimeout(() => {
            timedOut = true;
            resolve();
          }, timeoutMs);
        });
        clearTimeout(timer);
      }
      if (timedOut) {
        this.#logger.warn({ generation: gen.id, running: gen.inFlight, timeoutMs }, 'selector pool tasks still running at close timeout; terminating workers');
        // Their tasks reject ("Terminating worker thread") and surface as TransientError.
        await gen.piscina.destroy();
      } else {
        await gen.piscina.close();
      }
    } catch (err) {
      this.#logger.error({ err, generation: gen.id }, 'selector pool generation did not close cleanly');
    } finally {
      gen.stopped = true;
      for (const link of gen.links.values()) link.markDead('pool generation retired');
      gen.links.clear();
      this.#retiring.delete(gen);
    }
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
    const timeoutMs = options.timeoutMs ?? this.#closeTimeoutMs;
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    this.#pending = [];
    const gens = [...this.#retiring];
    if (this.#gen) gens.push(this.#gen);
    this.#gen = undefined;
    this.#gate.releaseWaiters();
    this.#checkSync(); // no generation: every waiter is trivially in step
    this.#closing = Promise.all(gens.map((g) => this.#retire(g, timeoutMs))).then(() => {
      this.#logger.info('selector pool closed');
    });
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
