import type { Registry } from 'prom-client';
import { silentLogger, type Logger } from '../../observability/logger.ts';
import { AdaptiveLimit, type LimitChangeCause } from './adaptive-limit.ts';
import { systemClock, type Clock } from './clock.ts';
import { ConcurrencyLimiter } from './concurrency-limiter.ts';
import { KeyScheduler } from './key-scheduler.ts';
import { ActorMetrics } from './metrics.ts';
import type { KeySchedulerOptions, KeySchedulerStats } from './types.ts';

export interface ActorSystemOptions {
  /** Global limit on reconciles in flight across all controllers (the ceiling when adaptive). */
  maxInFlight: number;
  /**
   * Whether the limit adapts to the API server (AIMD between `minInFlight`
   * and `maxInFlight`, fed through `inFlightLimit`). Default false: fixed at
   * `maxInFlight`.
   */
  adaptive?: boolean;
  /** Floor of the adaptive limit. Default 1. */
  minInFlight?: number;
  registry: Registry;
  logger?: Logger;
  clock?: Clock;
  /** Source of backoff jitter, in [0, 1). Injectable for deterministic tests. */
  random?: () => number;
}

export interface ActorSystemStats {
  maxInFlight: number;
  /** The limit in effect: `maxInFlight` unless the adaptive limit lowered it. */
  limit: number;
  inFlight: number;
  paused: boolean;
  stopped: boolean;
  controllers: KeySchedulerStats[];
}

/** Why reconciles still running when a shutdown's drain timeout expires are aborted. */
export class ShutdownError extends Error {
  override name = 'AbortError';
  constructor() {
    super('shutdown drain timeout expired: reconcile aborted');
  }
}

/**
 * One per runtime: owns the global `ConcurrencyLimiter`, the metrics and the
 * logger its controllers share, and the runtime-wide switches — pause/resume
 * for leader election and stop for graceful shutdown.
 */
export class ActorSystem {
  readonly #limiter: ConcurrencyLimiter;
  readonly #limit: AdaptiveLimit;
  readonly #decreases: Record<'throttled' | 'latency', number> = { throttled: 0, latency: 0 };
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #logger: Logger;
  readonly #metrics: ActorMetrics;
  readonly #controllers = new Map<string, KeyScheduler>();
  #paused = false;
  #stopping: Promise<{ drained: boolean }> | undefined;

  constructor(options: ActorSystemOptions) {
    this.#logger = options.logger ?? silentLogger;
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#metrics = ActorMetrics.of(options.registry);
    this.#limit = new AdaptiveLimit({
      max: inFlightOption('maxInFlight', options.maxInFlight),
      min: inFlightOption('minInFlight', options.minInFlight ?? 1),
      enabled: options.adaptive ?? false,
      clock: this.#clock,
    });
    this.#limiter = new ConcurrencyLimiter(this.#limit.limit, {
      onClaimantError: (err) => this.#logger.error({ err }, 'actor scheduler failed to start a reconcile'),
    });
    this.#limit.onChange((limit, cause) => this.#limitChanged(limit, cause));
    this.#metrics.registerSystem({ limit: () => this.#limiter.limit, decreases: this.#decreases });
  }

  /** The limiter shared by every controller; also usable for one-off work. */
  get limiter(): ConcurrencyLimiter {
    return this.#limiter;
  }

  /** The configured ceiling on reconciles in flight. */
  get maxInFlight(): number {
    return this.#limit.max;
  }

  /**
   * The adaptive limit behind the limiter: report API outcomes to it
   * (`throttled`, `succeeded`). Fixed at `maxInFlight` unless adaptive.
   */
  get inFlightLimit(): AdaptiveLimit {
    return this.#limit;
  }

  /** Creates a controller. Names must be unique (they label metrics and logs). */
  scheduler(options: KeySchedulerOptions): KeyScheduler {
    if (this.#stopping !== undefined) throw new Error('ActorSystem is stopped');
    if (this.#controllers.has(options.name)) throw new Error(`controller "${options.name}" already exists`);
    const controller = new KeyScheduler(options, {
      limiter: this.#limiter,
      maxInFlight: () => this.#limit.max,
      clock: this.#clock,
      random: this.#random,
      logger: this.#logger,
      metrics: this.#metrics,
      paused: this.#paused,
    });
    this.#controllers.set(options.name, controller);
    return controller;
  }

  /**
   * Config reload of the ceiling. Lowering the limit lets reconciles in
   * flight finish and starts none until the count is below the new limit.
   */
  setMaxInFlight(limit: number): void {
    this.#limit.setMax(inFlightOption('maxInFlight', limit));
  }

  /** Config reload of the adaptive limit's floor. */
  setMinInFlight(limit: number): void {
    this.#limit.setMin(inFlightOption('minInFlight', limit));
  }

  /** Config reload: adapt the limit, or pin it at `maxInFlight`. */
  setAdaptive(enabled: boolean): void {
    this.#limit.setEnabled(enabled);
  }

  /** Config reload of the starvation guard, for every controller. */
  setLowPriorityShare(share: number): void {
    for (const controller of this.#controllers.values()) controller.setLowPriorityShare(share);
  }

  /** Config reload of the summaries' deferral bound, for every controller. */
  setMaxDeferral(ms: number): void {
    for (const controller of this.#controllers.values()) controller.setMaxDeferral(ms);
  }

  /**
   * Leadership lost (or not yet won): no controller starts a reconcile, and
   * in-flight ones have their signals aborted. Mailboxes are kept, so a
   * standby that becomes leader resumes with everything it was told.
   */
  pause(): void {
    this.#paused = true;
    for (const controller of this.#controllers.values()) controller.setSystemPaused(true);
  }

  resume(): void {
    if (this.#stopping !== undefined) return;
    this.#paused = false;
    for (const controller of this.#controllers.values()) controller.setSystemPaused(false);
  }

  get paused(): boolean {
    return this.#paused;
  }

  /**
   * Graceful shutdown: enqueues become no-ops and nothing new starts; the
   * reconciles in flight get `drainTimeoutMs` to finish, after which their
   * signals are aborted. Resolves with whether everything finished in time.
   * Idempotent: later calls return the first call's result.
   */
  stop(options: { drainTimeoutMs: number }): Promise<{ drained: boolean }> {
    this.#stopping ??= this.#stop(options.drainTimeoutMs);
    return this.#stopping;
  }

  stats(): ActorSystemStats {
    return {
      maxInFlight: this.#limit.max,
      limit: this.#limiter.limit,
      inFlight: this.#limiter.inFlight,
      paused: this.#paused,
      stopped: this.#stopping !== undefined,
      controllers: [...this.#controllers.values()].map((c) => c.stats()),
    };
  }

  #limitChanged(limit: number, cause: LimitChangeCause): void {
    this.#limiter.setLimit(limit);
    if (cause === 'throttled' || cause === 'latency') {
      this.#decreases[cause]++;
      this.#logger.debug({ limit, cause, max: this.#limit.max }, 'reconcile concurrency limit lowered');
    }
  }

  async #stop(drainTimeoutMs: number): Promise<{ drained: boolean }> {
    const controllers = [...this.#controllers.values()];
    for (const controller of controllers) controller.stopIntake();
    const idle = Promise.all(controllers.map((c) => c.whenIdle())).then(() => true);
    let timer: ReturnType<Clock['setTimer']> | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = this.#clock.setTimer(() => resolve(false), Math.max(0, drainTimeoutMs));
    });
    const drained = await Promise.race([idle, timedOut]);
    if (timer !== undefined) this.#clock.clearTimer(timer);
    if (!drained) {
      const reason = new ShutdownError();
      for (const controller of controllers) controller.abortInFlight(reason);
      this.#logger.warn({ drainTimeoutMs }, 'shutdown: reconciles still in flight after the drain timeout were aborted');
    }
    return { drained };
  }
}

/** Validated here too, so that the message names the ActorSystem's option. */
function inFlightOption(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be an integer >= 1, got ${String(value)}`);
  return value;
}
