/**
 * Time source of the actor runtime. Injected so that tests of delays and
 * backoff advance time explicitly instead of sleeping.
 */
export interface Clock {
  /** Monotonic milliseconds (only differences are meaningful). */
  now(): number;
  /**
   * Calls `fn` once after `delayMs`. Real timers do not keep the process
   * alive on their own (a due retry is no reason to delay shutdown) unless
   * `keepAlive` says the timer is what the process is waiting for.
   */
  setTimer(fn: () => void, delayMs: number, options?: TimerOptions): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

/** Opaque handle returned by `Clock.setTimer`. */
export type TimerHandle = object;

export interface TimerOptions {
  keepAlive?: boolean;
}

/** `performance.now()` and `setTimeout`, unref'd unless asked to keep the process alive. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(fn, delayMs, options) {
    const timer = setTimeout(fn, Math.max(0, delayMs));
    if (!options?.keepAlive) timer.unref();
    return timer;
  },
  clearTimer(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
