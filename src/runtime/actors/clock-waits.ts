import type { Clock, TimerOptions } from './clock.ts';

/**
 * Waiting on a Clock, for loops that retry and time out (reflectors, leader
 * election) and must be testable with a manual clock.
 */

/** Resolves after `ms` on `clock`, or at once when `signal` aborts; never rejects. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal, options?: TimerOptions): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    };
    const timer = clock.setTimer(done, ms, options);
    const onAbort = (): void => {
      clock.clearTimer(timer);
      done();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface ClockTimeout {
  /** Aborts with a `TimeoutError` after the delay. */
  signal: AbortSignal;
  /** Drops the timer once the guarded work is over. */
  cancel(): void;
}

/** `AbortSignal.timeout` on `clock`: like it, the timer never keeps the process alive. */
export function timeoutSignal(clock: Clock, ms: number): ClockTimeout {
  const controller = new AbortController();
  const timer = clock.setTimer(() => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), ms);
  return { signal: controller.signal, cancel: () => clock.clearTimer(timer) };
}
