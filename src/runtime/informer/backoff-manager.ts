/**
 * client-go's reflector backoff (wait.NewExponentialBackoffManager with
 * 800 ms initial, 30 s cap, 2 min reset, jitter 1.0): each consecutive
 * failure doubles the wait, the wait is stretched by up to `jitter`×, and a
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

  constructor(
    opts: { initialMs?: number; maxMs?: number; resetAfterMs?: number; jitter?: number; now?: () => number; random?: () => number } = {},
  ) {
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
