/**
 * The serving worker generation and the ones still retiring. A resize starts
 * a new generation (its replicas boot from a snapshot) and retires the old
 * one once its running tasks finish; a worker that crashes or runs out of
 * memory is replaced by Piscina within its generation and counted here.
 */
import type { HeapInfo } from 'node:v8';
import type { DeltaFollowers } from './delta-log.ts';
import type { DeltaBatch, IndexSnapshot, ReplicaStatus } from './protocol.ts';
import { SequenceWaiters } from './sequence-waiters.ts';
import { WorkerGeneration, type WorkerGenerationSettings, type WorkerLimits } from './worker-generation.ts';

export interface WorkerGenerationsHooks {
  /** The authoritative index, for a replica to boot from. */
  snapshot(): IndexSnapshot;
  /** A worker of the serving generation died and is being replaced. */
  workerReplaced(): void;
}

export class WorkerGenerations implements DeltaFollowers {
  #serving: WorkerGeneration | undefined;
  readonly #retiring = new Set<WorkerGeneration>();
  #lastId = 0;
  #restarts = 0;
  readonly #syncWaiters = new SequenceWaiters(
    (seq) => this.#serving?.holds(seq) ?? true,
    (seq, timeoutMs) => `selector pool replicas not in step with sequence ${seq} after ${timeoutMs} ms`,
  );
  readonly #settings: WorkerGenerationSettings;
  readonly #hooks: WorkerGenerationsHooks;

  constructor(limits: WorkerLimits, settings: WorkerGenerationSettings, hooks: WorkerGenerationsHooks) {
    this.#settings = settings;
    this.#hooks = hooks;
    this.#serving = this.#start(limits);
  }

  /** The generation new tasks go to; undefined when running inline only (no threads) or closed. */
  get serving(): WorkerGeneration | undefined {
    return this.#serving;
  }

  /** Workers of the serving generation that died and were replaced, since the pool started. */
  get restarts(): number {
    return this.#restarts;
  }

  get liveThreads(): number {
    return this.#serving?.liveThreads ?? 0;
  }

  present(): boolean {
    return this.#serving !== undefined;
  }

  publish(batch: DeltaBatch): void {
    this.#serving?.publish(batch);
  }

  /**
   * Serves from a new generation with `limits` (none for 0 threads) and
   * retires the current one after its running tasks finish (bounded by
   * `timeoutMs`). Resolves when the old generation is gone.
   */
  replace(limits: WorkerLimits, timeoutMs: number): Promise<void> {
    const old = this.#serving;
    this.#serving = this.#start(limits);
    this.#settings.logger.info({ threads: limits.threads, maxQueue: limits.maxQueue, from: old?.id, to: this.#serving?.id }, 'selector pool resized');
    this.#syncWaiters.wake();
    return old ? this.#retire(old, timeoutMs) : Promise.resolve();
  }

  /** Retires every generation: nothing serves afterwards. */
  close(timeoutMs: number): Promise<void> {
    const generations = [...this.#retiring];
    if (this.#serving) generations.push(this.#serving);
    this.#serving = undefined;
    this.#syncWaiters.wake(); // no generation: every waiter is trivially in step
    return Promise.all(generations.map((g) => this.#retire(g, timeoutMs))).then(() => undefined);
  }

  /**
   * Resolves once every worker of the serving generation is running and its
   * replica acknowledged `seq`. Rejects with `TransientError` after `timeoutMs`.
   */
  whenHolding(seq: number, timeoutMs: number): Promise<void> {
    return this.#syncWaiters.wait(seq, timeoutMs) ?? Promise.resolve();
  }

  /** V8 heap statistics of every live worker, serving and retiring generations alike (they all hold memory). */
  async heapStatistics(timeoutMs: number): Promise<Array<{ threadId: number; heap: HeapInfo }>> {
    const generations = [...this.#retiring, ...(this.#serving ? [this.#serving] : [])];
    return (await Promise.all(generations.map((g) => g.heapStatistics(timeoutMs)))).flat();
  }

  async replicaStatus(timeoutMs: number): Promise<ReplicaStatus[]> {
    return (await this.#serving?.replicaStatus(timeoutMs)) ?? [];
  }

  #start(limits: WorkerLimits): WorkerGeneration | undefined {
    if (limits.threads === 0) return undefined;
    return new WorkerGeneration(++this.#lastId, limits, this.#settings, {
      snapshot: () => this.#hooks.snapshot(),
      acked: () => this.#syncWaiters.wake(),
      workerReplaced: (generation, threadId) => {
        this.#restarts++;
        this.#hooks.workerReplaced();
        this.#settings.logger.warn({ threadId, generation }, 'selector pool worker died; replacing it');
      },
    });
  }

  async #retire(generation: WorkerGeneration, timeoutMs: number): Promise<void> {
    this.#retiring.add(generation);
    try {
      await generation.retire(timeoutMs);
    } finally {
      this.#retiring.delete(generation);
    }
  }
}
