/**
 * The abort signal of one API request: its own timeout, and the caller's
 * signal if it has one. Not `AbortSignal.timeout` + `AbortSignal.any`: the
 * timeout's timer cannot be cancelled, so every request left a timer, an
 * AbortSignal, a WeakRef and a dependent-signal set alive until the timeout
 * (30 s by default) passed — after a burst of 5,000 writes, ~6,800 of each,
 * ~3 MiB of heap (heap snapshots, bench/README.md "Controller memory").
 * Here the timer is cleared and the listener removed when the request ends.
 */
export interface RequestSignal {
  readonly signal: AbortSignal;
  /** Whether the request's own timeout fired (not the caller's signal). */
  timedOut(): boolean;
  /** The request has ended: clears the timer, detaches from the caller's signal. Idempotent. */
  dispose(): void;
}

export function requestSignal(timeoutMs: number, caller?: AbortSignal): RequestSignal {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException(`request timed out after ${timeoutMs} ms`, 'TimeoutError'));
  }, timeoutMs);
  // Like AbortSignal.timeout's: a pending request timeout alone does not keep the process alive.
  timer.unref();
  const forward = (): void => controller.abort(caller?.reason);
  if (caller?.aborted) forward();
  else caller?.addEventListener('abort', forward, { once: true });
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    dispose() {
      clearTimeout(timer);
      caller?.removeEventListener('abort', forward);
    },
  };
}
