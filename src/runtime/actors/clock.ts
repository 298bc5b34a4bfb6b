/**
 * Time source of the actor runtime. Injected so that tests of delays and
 * backoff advance time explicitly instead of sleeping.
 */
export interface Clock {
  /** Monotonic milliseconds (only differences are meaningful). */
  now(): number;
  /**
   * Calls `fn` once after `delayMs`. Real timers must not keep the process
   * alive on their own: a due retry is no reason to delay shutdown.
   */
  setTimer(fn: () => void, delayMs: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

/** Opaque handle returned by `Clock.setTimer`. */
export type TimerHandle = object;

/** `performance.now()` and unref'd `setTimeout`. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(fn, delayMs) {
    const timer = setTimeout(fn, Math.max(0, delayMs));
    timer.unref();
    return timer;
  },
  clearTimer(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
