import type { Logger } from '../../observability/logger.ts';
import { classifyError, type Classification } from '../errors.ts';
import { runIsolated } from '../isolation.ts';
import { Actor, Place, RetryState } from './actor.ts';
import type { Clock, TimerHandle } from './clock.ts';
import type { ConcurrencyLimiter, SlotClaimant } from './concurrency-limiter.ts';
import { DelayHeap } from './delay-heap.ts';
import { ControllerCounters, type ActorMetrics, type ControllerObservers } from './metrics.ts';
import { morePressing, PriorityLanes } from './priority-lanes.ts';
import { ReconcileRun } from './reconcile-run.ts';
import { decideRetry, retryPolicy, type RetryPolicy } from './retry-policy.ts';
import type {
  KeySchedulerOptions,
  KeySchedulerStats,
  DeadLetterCause,
  DeadLetterHook,
  EnqueueOptions,
  Priority,
  Reconcile,
  ReconcileResult,
} from './types.ts';

/** Share of picks the low lane is guaranteed while both lanes hold work. */
export const DEFAULT_LOW_PRIORITY_SHARE = 0.1;

/** How long a deferred key (a summary) may wait while other work is ready. */
export const DEFAULT_MAX_DEFERRAL_MS = 10_000;

/** setTimeout's ceiling; longer delays are clamped (the timer re-arms anyway). */
const MAX_DELAY_MS = 2 ** 31 - 1;

/** What a controller borrows from its `ActorSystem`. */
export interface KeySchedulerRuntime {
  limiter: ConcurrencyLimiter;
  /** The configured ceiling (the limiter's limit may be lower while adapting). */
  maxInFlight: () => number;
  clock: Clock;
  random: () => number;
  logger: Logger;
  metrics: ActorMetrics;
  paused: boolean;
}

/**
 * One controller's actor registry and scheduler: an actor per key, created
 * on the first enqueue and reclaimed as soon as it is idle; two priority
 * lanes of ready actors; a delay heap with a single timer for delayed and
 * backing-off keys; reconciles started when the shared `ConcurrencyLimiter`
 * grants this controller a slot.
 *
 * Invariants (see `Place`): an actor is in exactly one place, so it is never
 * queued twice nor reconciled twice at once; an enqueue during its run sets
 * the run's mailbox, which schedules exactly one more run when it ends.
 *
 * Created through `ActorSystem.scheduler()`.
 */
export class KeyScheduler implements SlotClaimant {
  readonly name: string;
  readonly #reconcile: Reconcile;
  readonly #policy: RetryPolicy;
  readonly #onDeadLetter: DeadLetterHook | undefined;
  readonly #limiter: ConcurrencyLimiter;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #log: Logger;
  readonly #observers: ControllerObservers;
  readonly #counters = new ControllerCounters();

  readonly #actors = new Map<string, Actor>();
  readonly #lanes: PriorityLanes<Actor>;
  readonly #delayed = new DelayHeap<Actor>();
  readonly #running = new Set<ReconcileRun>();
  #timer: TimerHandle | null = null;
  #timerAt = Infinity;
  #deadLettered = 0;

  #paused = false;
  #systemPaused: boolean;
  #stopped = false;
  /**
   * One signal per leadership epoch rather than one per reconcile: pause and
   * stop abort every run at once, and an AbortController per reconcile
   * would cost more than the rest of the bookkeeping.
   */
  #epoch = new AbortController();
  #idleWaiters: Array<() => void> = [];

  #events = 0;
  #suppressed = 0;
  #reconciles = 0;

  /** @internal Use `ActorSystem.scheduler()`. */
  constructor(options: KeySchedulerOptions, runtime: KeySchedulerRuntime) {
    if (typeof options.name !== 'string' || options.name === '') throw new TypeError('controller name must be a non-empty string');
    if (typeof options.reconcile !== 'function') throw new TypeError(`controller ${options.name}: reconcile must be a function`);
    this.name = options.name;
    this.#reconcile = options.reconcile;
    this.#policy = retryPolicy(options);
    this.#onDeadLetter = options.onDeadLetter;
    this.#lanes = new PriorityLanes(options.lowPriorityShare ?? DEFAULT_LOW_PRIORITY_SHARE, options.maxDeferralMs ?? DEFAULT_MAX_DEFERRAL_MS);
    this.#limiter = runtime.limiter;
    this.#clock = runtime.clock;
    this.#random = runtime.random;
    this.#systemPaused = runtime.paused;
    this.#log = runtime.logger.child({ controller: options.name });
    this.#observers = runtime.metrics.register({
      name: this.name,
      counters: this.#counters,
      depth: () => this.#lanes.size,
      activeWorkers: () => this.#running.size,
      maxConcurrentReconciles: runtime.maxInFlight,
      deadLetterKeys: () => this.#deadLettered,
      unfinishedWork: () => this.#unfinishedWork(),
    });
  }

  /**
   * Asks for a reconcile of `key`. Collapses into the key's pending
   * reconcile if there is one (highest priority and earliest due time win).
   * A no-op after `stop()`, and for a dead-lettered key unless `reason` is
   * `change`.
   */
  enqueue(key: string, options?: EnqueueOptions): void {
    if (this.#stopped) return;
    if (typeof key !== 'string') throw new TypeError(`controller ${this.name}: key must be a string`);
    const reason = options?.reason ?? 'change';
    const priority: Priority =
      options?.priority ?? (reason === 'change' || reason === 'dependency' ? 'high' : 'low');
    const delayMs = options?.delayMs !== undefined && options.delayMs > 0 ? Math.min(options.delayMs, MAX_DELAY_MS) : 0;
    this.#events++;

    // The clock is read only on the paths that need it: most events of a
    // storm hit a key that is already ready or running and cost a map lookup.
    let actor = this.#actors.get(key);
    if (actor === undefined) {
      actor = new Actor(key);
      this.#actors.set(key, actor);
      actor.priority = priority;
      this.#counters.adds++;
      const now = this.#clock.now();
      this.#schedule(actor, now + delayMs, now);
      return;
    }

    switch (actor.place) {
      case Place.Running: {
        const run = actor.run as ReconcileRun;
        // -Infinity: "as soon as the run ends", whatever the time then.
        const dueAt = delayMs > 0 ? this.#clock.now() + delayMs : -Infinity;
        if (run.nextPending) {
          this.#counters.coalesced++;
          run.nextPriority = morePressing(run.nextPriority, priority);
          if (dueAt < run.nextDueAt) run.nextDueAt = dueAt;
        } else {
          this.#counters.adds++;
          run.nextPending = true;
          run.nextPriority = priority;
          run.nextDueAt = dueAt;
        }
        if (reason === 'change') run.nextChange = true;
        return;
      }
      case Place.Ready: {
        this.#counters.coalesced++;
        this.#lanes.raise(actor, priority);
        return;
      }
      case Place.Waiting: {
        this.#counters.coalesced++;
        actor.priority = morePressing(actor.priority, priority);
        const now = this.#clock.now();
        const retry = actor.retry;
        // The server's Retry-After is a floor no enqueue can undercut.
        let due = now + delayMs;
        if (retry !== null && retry.notBefore > due) due = retry.notBefore;
        if (due < actor.time) {
          if (due <= now) {
            this.#delayed.remove(actor);
            this.#makeReady(actor, now);
          } else {
            actor.time = due;
            this.#delayed.decreased(actor);
            this.#armTimer(now);
          }
        }
        return;
      }
      default: {
        // Idle with retained state: only dead-lettered actors stay idle.
        if (actor.retry?.deadLetter != null) {
          if (reason !== 'change') {
            this.#suppressed++;
            return;
          }
          this.#releaseDeadLetter(actor);
        }
        actor.priority = priority;
        this.#counters.adds++;
        const now = this.#clock.now();
        this.#schedule(actor, now + delayMs, now);
      }
    }
  }

  /** The object is gone: drop every trace of the key (pending work, backoff, dead-letter). */
  forget(key: string): void {
    const actor = this.#actors.get(key);
    if (actor === undefined) return;
    if (actor.retry?.deadLetter != null) this.#deadLettered--;
    actor.retry = null;
    switch (actor.place) {
      case Place.Running: {
        // The run cannot be recalled; it stays registered so a re-created
        // object with the same key still waits for it (never two at once).
        const run = actor.run as ReconcileRun;
        run.discarded = true;
        run.nextPending = false;
        run.nextChange = false;
        return;
      }
      case Place.Waiting:
        this.#delayed.remove(actor);
        break;
      case Place.Ready:
        this.#lanes.remove(actor);
        break;
    }
    actor.place = Place.Idle;
    this.#actors.delete(key);
  }

  setLowPriorityShare(share: number): void {
    this.#lanes.setShare(share);
  }

  setMaxDeferral(ms: number): void {
    this.#lanes.setMaxDeferral(ms);
  }

  isDeadLettered(key: string): boolean {
    return this.#actors.get(key)?.retry?.deadLetter != null;
  }

  /**
   * Leadership lost: start no more reconciles and abort the signals of those
   * in flight; mailboxes, delays and backoff state are kept. A run that
   * fails because of the abort is not counted as a failure: it is simply
   * pending again for when leadership returns.
   */
  pause(): void {
    const wasActive = this.#active;
    this.#paused = true;
    if (wasActive) this.#deactivate();
  }

  resume(): void {
    this.#paused = false;
    this.#activate();
  }

  /** True while this controller starts no reconciles: paused, system paused, or stopped. */
  get paused(): boolean {
    return !this.#active;
  }

  stats(): KeySchedulerStats {
    const c = this.#counters;
    return {
      name: this.name,
      actors: this.#actors.size,
      readyHigh: this.#lanes.high.size,
      readyLow: this.#lanes.low.size,
      readyDeferred: this.#lanes.deferred.size,
      waiting: this.#delayed.size,
      running: this.#running.size,
      deadLettered: this.#deadLettered,
      paused: this.paused,
      events: this.#events,
      adds: c.adds,
      coalesced: c.coalesced,
      suppressed: this.#suppressed,
      reconciles: this.#reconciles,
      errors: c.error,
      retries: c.retries,
      deadLetters: c.deadLetterTerminal + c.deadLetterMaxAttempts,
    };
  }

  // ---- ActorSystem hooks -------------------------------------------------

  /** @internal */
  setSystemPaused(paused: boolean): void {
    const wasActive = this.#active;
    this.#systemPaused = paused;
    if (paused && wasActive) this.#deactivate();
    if (!paused) this.#activate();
  }

  /** @internal Stops intake and scheduling; pending work is dropped, runs continue. */
  stopIntake(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#limiter.withdraw(this);
    if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
    this.#timer = null;
    this.#timerAt = Infinity;
    this.#lanes.clear();
    this.#delayed.clear();
    for (const [key, actor] of this.#actors) {
      if (actor.place !== Place.Running) this.#actors.delete(key);
    }
    this.#deadLettered = 0;
  }

  /** @internal Resolves once no reconcile (or dead-letter hook) is in flight. */
  whenIdle(): Promise<void> {
    if (this.#running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** @internal Aborts the signal of every reconcile in flight. */
  abortInFlight(reason: unknown): void {
    this.#epoch.abort(reason);
    this.#epoch = new AbortController();
  }

  // ---- SlotClaimant --------------------------------------------------------

  /** @internal Called by the limiter with a slot reserved for this controller. */
  takeSlot(): boolean {
    if (!this.#active) return false;
    const actor = this.#lanes.pick(this.#clock.now());
    if (actor === null) return false;
    this.#start(actor);
    return true;
  }

  /** @internal */
  wantsSlot(): boolean {
    return this.#active && this.#lanes.size > 0;
  }

  // ---- scheduling ----------------------------------------------------------

  get #active(): boolean {
    return !this.#paused && !this.#systemPaused && !this.#stopped;
  }

  #deactivate(): void {
    this.#limiter.withdraw(this);
    this.abortInFlight(new LeadershipLostError());
  }

  #activate(): void {
    if (this.#active && this.#lanes.size > 0) this.#limiter.claim(this);
  }

  /** Puts a pending actor where it belongs for `dueAt`. */
  #schedule(actor: Actor, dueAt: number, now: number): void {
    if (dueAt <= now) {
      this.#makeReady(actor, now);
      return;
    }
    actor.place = Place.Waiting;
    actor.time = dueAt;
    this.#delayed.push(actor);
    this.#armTimer(now);
  }

  #makeReady(actor: Actor, readyAt: number): void {
    actor.place = Place.Ready;
    actor.time = readyAt;
    this.#lanes.push(actor);
    if (this.#active) this.#limiter.claim(this);
  }

  /** Keeps the single timer armed for the earliest due time. */
  #armTimer(now: number): void {
    const top = this.#delayed.peek();
    if (top === undefined || top.time >= this.#timerAt) return;
    if (this.#timer !== null) this.#clock.clearTimer(this.#timer);
    this.#timerAt = top.time;
    this.#timer = this.#clock.setTimer(this.#onTimer, Math.min(top.time - now, MAX_DELAY_MS));
  }

  #onTimer = (): void => {
    this.#timer = null;
    this.#timerAt = Infinity;
    if (this.#stopped) return;
    const now = this.#clock.now();
    const delayed = this.#delayed;
    for (let top = delayed.peek(); top !== undefined && top.time <= now; top = delayed.peek()) {
      delayed.pop();
      // Queue time counts from the due time, timer lag included.
      this.#makeReady(top, top.time);
    }
    this.#armTimer(now);
  };

  // ---- running -------------------------------------------------------------

  #start(actor: Actor): void {
    const now = this.#clock.now();
    this.#observers.queueDuration((now - actor.time) / 1000);
    const attempt = actor.retry === null ? 1 : actor.retry.failures + 1;
    const run = new ReconcileRun(actor, attempt, this.#epoch.signal, now, this.#log);
    actor.place = Place.Running;
    actor.run = run;
    this.#running.add(run);
    let promise: Promise<ReconcileResult | void>;
    try {
      // Isolation tags let the lifecycle tell an error escaping this
      // reconcile asynchronously from a runtime bug (see isolation.ts).
      const ctx = run.ctx;
      promise = runIsolated({ controller: this.name, key: ctx.key, reconcileID: ctx.reconcileID }, () => this.#reconcile(ctx));
      // Tolerate a reconcile that is not actually async.
      if (!(promise instanceof Promise)) promise = Promise.resolve(promise);
    } catch (err) {
      promise = Promise.reject(err);
    }
    promise.then(
      (result) => this.#guard(() => this.#succeeded(run, result)),
      (err: unknown) => this.#guard(() => this.#failed(run, err)),
    );
  }

  #succeeded(run: ReconcileRun, result: ReconcileResult | void): void {
    const now = this.#clock.now();
    const seconds = this.#observeDone(run, now);
    const actor = run.actor;
    const requeueAfterMs = result?.requeueAfterMs;
    const requeue = typeof requeueAfterMs === 'number' && requeueAfterMs > 0;
    if (requeue) this.#counters.requeueAfter++;
    else this.#counters.success++;
    if (this.#log.isLevelEnabled('debug')) {
      run.ctx.log.debug(
        { durationMs: seconds * 1000, result: requeue ? 'requeue_after' : 'success', requeueAfterMs: requeue ? requeueAfterMs : undefined },
        'reconcile finished',
      );
    }
    if (run.discarded || this.#stopped) {
      this.#complete(run, NaN, 'low', now);
      return;
    }
    // Success resets the backoff, as client-go's Forget does.
    actor.retry = null;
    if (requeue) this.#complete(run, now + Math.min(requeueAfterMs, MAX_DELAY_MS), result?.requeuePriority ?? 'low', now);
    else this.#complete(run, NaN, 'low', now);
  }

  #failed(run: ReconcileRun, err: unknown): void {
    const now = this.#clock.now();
    const seconds = this.#observeDone(run, now);
    const actor = run.actor;
    this.#counters.error++;
    if (run.discarded || this.#stopped) {
      this.#complete(run, NaN, 'low', now);
      return;
    }
    if (run.ctx.signal.aborted) {
      // Aborted by a leadership loss: not the key's fault. Keep it pending
      // (same priority, no backoff) for when leadership returns.
      run.ctx.log.debug({ err, durationMs: seconds * 1000 }, 'reconcile aborted; will run again when resumed');
      this.#complete(run, now, run.ctx.priority, now);
      return;
    }
    const classification = classifyError(err);
    const retry = (actor.retry ??= new RetryState());
    retry.failures++;
    const decision = decideRetry(classification, retry.failures, this.#policy, this.#random);
    if (decision.kind === 'retry') {
      this.#counters.retries++;
      retry.notBefore = decision.floorMs > 0 ? now + decision.floorMs : -Infinity;
      run.ctx.log.warn(
        {
          err,
          durationMs: seconds * 1000,
          classification: classification.kind,
          attempt: retry.failures,
          retryInMs: Math.round(decision.delayMs),
        },
        'reconcile failed; retrying',
      );
      // A failed user change keeps its priority: it has not been applied yet.
      this.#complete(run, now + decision.delayMs, run.ctx.priority, now);
      return;
    }
    this.#deadLetter(run, err, classification, decision.cause, retry);
  }

  #deadLetter(run: ReconcileRun, err: unknown, classification: Classification, cause: DeadLetterCause, retry: RetryState): void {
    const attempts = retry.failures;
    retry.notBefore = -Infinity;
    retry.deadLetter = { error: err, classification, cause, attempts };
    this.#deadLettered++;
    if (cause === 'terminal') this.#counters.deadLetterTerminal++;
    else this.#counters.deadLetterMaxAttempts++;
    run.ctx.log.error(
      { err, attempts, classification: classification.kind, reason: classification.reason, cause },
      'reconcile dead-lettered; not retried until the object changes',
    );
    const hook = this.#onDeadLetter;
    if (hook === undefined) {
      this.#complete(run, NaN, 'low', this.#clock.now());
      return;
    }
    // The key stays Running (holding its slot) until the hook settles, so the
    // status it writes is never raced by the key's next reconcile.
    const details = { attempts, classification, cause, signal: run.ctx.signal };
    let settled: Promise<void>;
    try {
      settled = Promise.resolve(hook(run.actor.key, err, details));
    } catch (hookErr) {
      settled = Promise.reject(hookErr);
    }
    settled
      .catch((hookErr: unknown) => run.ctx.log.error({ err: hookErr }, 'onDeadLetter hook failed'))
      .then(() => this.#guard(() => this.#complete(run, NaN, 'low', this.#clock.now())));
  }

  /**
   * Ends a run: returns the slot, then merges the run's outcome (`dueAt`,
   * NaN for none) with its mailbox, and schedules the result or reclaims
   * the actor.
   */
  #complete(run: ReconcileRun, dueAt: number, priority: Priority, now: number): void {
    const actor = run.actor;
    this.#running.delete(run);
    actor.run = null;
    actor.place = Place.Idle;
    this.#limiter.release();

    if (this.#stopped) {
      this.#actors.delete(actor.key);
      if (this.#running.size === 0) this.#notifyIdle();
      return;
    }

    let pending = run.nextPending;
    let pendingDue = run.nextDueAt;
    let pendingPriority = run.nextPriority;
    const retry = actor.retry;
    if (retry !== null && retry.deadLetter !== null) {
      if (!(pending && run.nextChange)) {
        if (pending) this.#suppressed++;
        return; // retained, idle, until a `change`
      }
      // The object changed while the failing run was in flight.
      this.#releaseDeadLetter(actor);
    } else if (!Number.isNaN(dueAt)) {
      if (!pending) {
        this.#counters.adds++;
        pending = true;
        pendingDue = dueAt;
        pendingPriority = priority;
      } else {
        if (dueAt < pendingDue) pendingDue = dueAt;
        pendingPriority = morePressing(pendingPriority, priority);
      }
    }

    if (pending) {
      const floor = actor.retry === null ? -Infinity : actor.retry.notBefore;
      actor.priority = pendingPriority;
      this.#schedule(actor, floor > pendingDue ? floor : pendingDue, now);
    } else if (actor.retry === null) {
      this.#actors.delete(actor.key);
    }
  }

  #releaseDeadLetter(actor: Actor): void {
    actor.retry = null;
    this.#deadLettered--;
  }

  #observeDone(run: ReconcileRun, now: number): number {
    this.#reconciles++;
    const seconds = (now - run.startedAt) / 1000;
    this.#observers.workDuration(seconds);
    this.#observers.reconcileTime(seconds);
    return seconds;
  }

  #unfinishedWork(): { totalSeconds: number; longestSeconds: number } {
    const now = this.#clock.now();
    let totalSeconds = 0;
    let longestSeconds = 0;
    for (const run of this.#running) {
      const seconds = (now - run.startedAt) / 1000;
      totalSeconds += seconds;
      if (seconds > longestSeconds) longestSeconds = seconds;
    }
    return { totalSeconds, longestSeconds };
  }

  #notifyIdle(): void {
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /**
   * Runs scheduler bookkeeping from a promise callback. A bug there must
   * surface in the logs, not as an unhandled rejection that kills the
   * process.
   */
  #guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#log.error({ err }, 'actor scheduler invariant violated');
    }
  }
}

/** The abort reason of reconciles in flight when leadership is lost. */
export class LeadershipLostError extends Error {
  override name = 'AbortError';
  constructor() {
    super('leadership lost: reconcile aborted');
  }
}
