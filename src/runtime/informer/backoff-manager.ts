export interface BackoffSettings {
  initialMs?: number;
  maxMs?: number;
  resetAfterMs?: number;
  jitter?: number;
}

/**
 * client-go's reflector backoff (800 ms initial, factor 2, 30 s cap, reset
 * after 2 min without failure, jitter 1.0): each consecutive failure
 * doubles the wait, the wait is stretched by up to `jitter`×, and a
 * stretch of `resetAfterMs` without failure starts over from the initial
 * delay — so a flapping API server is not hammered, and a healthy one that
 * hiccups once is retried quickly.
 */
export class BackoffManager {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #resetAfterMs: number;
  readonly #jitter: number;
  readonly #now: () => number;
  readonly #random: () => number;
  #currentMs = 0;
  #lastFailureAt = -Infinity;

  constructor(opts: BackoffSettings & { now?: () => number; random?: () => number } = {}) {
    this.#initialMs = opts.initialMs ?? 800;
    this.#maxMs = opts.maxMs ?? 30_000;
    this.#resetAfterMs = opts.resetAfterMs ?? 120_000;
    this.#jitter = opts.jitter ?? 1.0;
    this.#now = opts.now ?? Date.now;
    this.#random = opts.random ?? Math.random;
  }

  /** Records a failure and returns how long to wait before the next attempt. */
  next(): number {
    const now = this.#now();
    if (now - this.#lastFailureAt > this.#resetAfterMs) this.#currentMs = 0;
    this.#lastFailureAt = now;
    this.#currentMs = this.#currentMs === 0 ? this.#initialMs : Math.min(this.#currentMs * 2, this.#maxMs);
    return Math.round(this.#currentMs * (1 + this.#random() * this.#jitter));
  }
}

/** Longest Retry-After believed (the API client caps its own retries the same way). */
export const MAX_RETRY_AFTER_MS = 60_000;
/** Shortest wait after a Retry-After, so `Retry-After: 0` on a loop of 429s cannot spin. */
export const MIN_RETRY_AFTER_MS = 1_000;

/**
 * How long a reflector waits after a failed LIST or WATCH. A server that
 * says when to come back (`Retry-After` on a 429 or 5xx: API Priority and
 * Fairness, or "storage is (re)initializing" right after an API server
 * restart) is believed, as client-go's rest client believes it, and the
 * backoff is left alone: after an outage the backoff has grown to tens of
 * seconds, and applying it to a server that asked for one second would
 * leave the informer deaf to changes for up to a minute. Anything else
 * (connection refused, 504 from a stalled etcd) backs off exponentially.
 */
export function retryDelayMs(err: unknown, backoff: BackoffManager): number {
  const seconds = (err as { retryAfterSeconds?: unknown } | null)?.retryAfterSeconds;
  if (typeof seconds === 'number' && Number.isFinite(seconds) && seconds >= 0) {
    return Math.min(Math.max(seconds * 1000, MIN_RETRY_AFTER_MS), MAX_RETRY_AFTER_MS);
  }
  return backoff.next();
}
