/**
 * One generation of selector workers: a Piscina pool of a fixed size and the
 * replica link of each of its workers. Piscina cannot change thread count,
 * queue size or resource limits in place, so a resize starts a new
 * generation and retires this one (worker-generations.ts). Each worker says
 * hello over its own control port when it starts (replica-endpoint.ts); its
 * replica boots from a snapshot sent then, and follows deltas afterwards.
 *
 * Piscina runs with `atomics: 'disabled'` by default: with Piscina's `'sync'`
 * an idle worker blocks in `Atomics.wait()`, its event loop does not run, and
 * control-channel messages (snapshots, deltas, status) sit unread until the
 * next task arrives (verified: a status call to an idle 'sync' worker never
 * answered within 500 ms; 'async' and 'disabled' answered).
 */
import type { HeapInfo } from 'node:v8';
import type { ResourceLimits } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { Logger } from '../../observability/logger.ts';
import { isReplicaHello, type DeltaBatch, type IndexSnapshot, type ReplicaHello, type ReplicaStatus, type TaskEnvelope, type TaskReply } from './protocol.ts';
import { ReplicaLink } from './replica-link.ts';
import { selectorWorkerUrl } from './worker-url.ts';

export interface WorkerLimits {
  readonly threads: number;
  /**
   * Start workers only when a task needs one (one beyond the inline
   * threshold), instead of all `threads` at once. A worker started late boots
   * its replica from a snapshot, as a replacement does. Started workers stay.
   */
  readonly lazy?: boolean;
  /** Tasks that may wait inside Piscina beyond the `threads` running. */
  readonly maxQueue: number;
  readonly resourceLimits: ResourceLimits | undefined;
}

export interface WorkerGenerationSettings {
  readonly atomics: 'disabled' | 'async';
  /** How long Piscina waits for running tasks when the generation closes. */
  readonly closeTimeoutMs: number;
  readonly logger: Logger;
}

export interface WorkerGenerationHooks {
  /** The authoritative index, for a replica to boot from. */
  snapshot(): IndexSnapshot;
  /** A replica acknowledged more of the log. */
  acked(): void;
  /** A worker of the serving generation died; Piscina starts a replacement (lazy: when a task needs it), which boots from a snapshot. */
  workerReplaced(generation: number, threadId: number): void;
}

export class WorkerGeneration {
  readonly id: number;
  readonly limits: WorkerLimits;
  readonly #piscina: Piscina<TaskEnvelope, TaskReply>;
  readonly #links = new Map<number, ReplicaLink>();
  readonly #hooks: WorkerGenerationHooks;
  readonly #logger: Logger;
  #inFlight = 0;
  #retiring = false;
  /** Workers terminated: nothing more to attach. */
  #stopped = false;
  #onIdle: (() => void) | undefined;
  #retired: Promise<void> | undefined;

  constructor(id: number, limits: WorkerLimits, settings: WorkerGenerationSettings, hooks: WorkerGenerationHooks) {
    this.id = id;
    this.limits = limits;
    this.#hooks = hooks;
    this.#logger = settings.logger;
    this.#piscina = new Piscina<TaskEnvelope, TaskReply>({
      filename: selectorWorkerUrl().href,
      minThreads: limits.lazy ? 0 : limits.threads,
      maxThreads: limits.threads,
      // A worker that idled out would take its replica with it.
      idleTimeout: Infinity,
      maxQueue: limits.maxQueue,
      concurrentTasksPerWorker: 1,
      atomics: settings.atomics,
      closeTimeout: settings.closeTimeoutMs,
      ...(limits.resourceLimits ? { resourceLimits: limits.resourceLimits } : {}),
    });
    this.#piscina.on('message', (message: unknown) => {
      if (isReplicaHello(message)) this.#attach(message);
    });
    this.#piscina.on('workerDestroy', (worker: { id: number }) => {
      this.#links.get(worker.id)?.markDead('removed from the pool');
      // With no idle timeout, Piscina only removes a worker that failed (crash, OOM, abort) or
      // that it is closing down (minThreads only says how many start at once).
      if (!this.#retiring) this.#hooks.workerReplaced(this.id, worker.id);
    });
    // Without a listener, an 'error' event (worker failing with no task, close timeout) would throw.
    this.#piscina.on('error', (err: unknown) => this.#logger.error({ err, generation: id }, 'selector pool error'));
    this.#logger.info({ generation: id, threads: limits.threads, maxQueue: limits.maxQueue }, 'selector pool generation started');
  }

  get liveThreads(): number {
    return this.#piscina.threads.length;
  }

  /** Answers a task on one of the workers; rejects when the worker fails (crash, OOM, termination, abort). */
  async run(envelope: TaskEnvelope, signal?: AbortSignal): Promise<TaskReply> {
    this.#inFlight++;
    try {
      return await (signal ? this.#piscina.run(envelope, { signal }) : this.#piscina.run(envelope));
    } finally {
      if (--this.#inFlight === 0) this.#onIdle?.();
    }
  }

  publish(batch: DeltaBatch): void {
    for (const link of this.#links.values()) link.sendDeltas(batch);
  }

  /**
   * Every worker is running and its replica acknowledged `seq` (lazily
   * started: every worker started so far, none when none was needed yet).
   */
  holds(seq: number): boolean {
    if (this.#links.size < (this.limits.lazy ? this.#piscina.threads.length : this.limits.threads)) return false;
    for (const link of this.#links.values()) if (link.ackedSeq < seq) return false;
    return true;
  }

  replicaSequences(): Array<{ readonly threadId: number; readonly sentSeq: number; readonly ackedSeq: number }> {
    return [...this.#links.values()].map((l) => ({ threadId: l.threadId, sentSeq: l.sentSeq, ackedSeq: l.ackedSeq }));
  }

  /** V8 heap statistics of each live worker's isolate; workers that do not answer within `timeoutMs` are left out. */
  async heapStatistics(timeoutMs: number): Promise<Array<{ threadId: number; heap: HeapInfo }>> {
    const settled = await Promise.allSettled(
      this.#piscina.threads.map(async (w) => ({ threadId: w.threadId, heap: await withTimeout(w.getHeapStatistics(), timeoutMs) })),
    );
    return settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  }

  /** Each live replica's own report; replicas that do not answer in time are left out. */
  async replicaStatus(timeoutMs: number): Promise<ReplicaStatus[]> {
    const settled = await Promise.allSettled([...this.#links.values()].map((l) => l.status(timeoutMs)));
    return settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  }

  /**
   * Stops serving: running tasks finish (up to `timeoutMs`, then their workers
   * are terminated and the tasks fail), then the workers go. Idempotent.
   */
  retire(timeoutMs: number): Promise<void> {
    this.#retiring = true;
    this.#retired ??= this.#close(timeoutMs);
    return this.#retired;
  }

  async #close(timeoutMs: number): Promise<void> {
    try {
      if (await this.#idleWithin(timeoutMs)) {
        await this.#piscina.close();
      } else {
        this.#logger.warn({ generation: this.id, running: this.#inFlight, timeoutMs }, 'selector pool tasks still running at close timeout; terminating workers');
        // Their tasks reject ("Terminating worker thread") and surface as TransientError.
        await this.#piscina.destroy();
      }
    } catch (err) {
      this.#logger.error({ err, generation: this.id }, 'selector pool generation did not close cleanly');
    } finally {
      this.#stopped = true;
      for (const link of this.#links.values()) link.markDead('pool generation retired');
      this.#links.clear();
    }
  }

  /** Resolves true once no task runs, or false after `timeoutMs`. */
  async #idleWithin(timeoutMs: number): Promise<boolean> {
    if (this.#inFlight === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const idle = await new Promise<boolean>((resolve) => {
      this.#onIdle = () => resolve(true);
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    clearTimeout(timer);
    return idle;
  }

  #attach(hello: ReplicaHello): void {
    // A retiring generation still needs its replicas: a worker slow to start may already hold a
    // task (dispatched before close()/resize()) that waits for the snapshot. It gets a snapshot,
    // which covers every sequence such a task can require, but no later deltas.
    if (this.#stopped) {
      hello.port.close();
      return;
    }
    const worker = this.#piscina.threads.find((w) => w.threadId === hello.threadId);
    const link = new ReplicaLink(
      hello.threadId,
      hello.port,
      worker,
      {
        snapshot: () => this.#hooks.snapshot(),
        acked: () => this.#hooks.acked(),
        died: (dead, reason, workerAlive) => {
          if (this.#links.get(dead.threadId) === dead) this.#links.delete(dead.threadId);
          if (workerAlive && !this.#retiring) {
            // Nothing can feed this worker deltas any more: terminating it makes Piscina start a
            // replacement (which boots from a snapshot) and fail its task as TransientError.
            this.#logger.warn({ threadId: dead.threadId, reason }, 'selector replica unusable; replacing its worker');
            void dead.worker?.terminate();
          }
        },
      },
      this.#logger,
    );
    this.#links.get(hello.threadId)?.markDead('superseded');
    this.#links.set(hello.threadId, link);
    // Anything pending is already in the index and so in the snapshot.
    link.sendSnapshot(this.#hooks.snapshot());
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
