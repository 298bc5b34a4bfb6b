/**
 * Client-side request rate limit (client-go's flowcontrol token bucket).
 * `qps <= 0` disables it: controller-runtime turned client-side limiting off
 * in v0.21 and relies on the server's API Priority and Fairness, and a low
 * default is exactly what made Fleet #3163 take minutes. Limits can change at
 * runtime (config reload); waiters are served in FIFO order so no request
 * starves.
 */
export class TokenBucket {
  #qps: number;
  #burst: number;
  #tokens: number;
  #last: number;
  readonly #now: () => number;
  readonly #waiters: Array<() => void> = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(opts: { qps: number; burst: number; now?: () => number }) {
    this.#now = opts.now ?? (() => performance.now());
    this.#qps = opts.qps;
    this.#burst = Math.max(1, opts.burst);
    this.#tokens = this.#burst;
    this.#last = this.#now();
  }

  get qps(): number {
    return this.#qps;
  }

  get burst(): number {
    return this.#burst;
  }

  setLimits(qps: number, burst: number): void {
    this.#refill();
    this.#qps = qps;
    this.#burst = Math.max(1, burst);
    this.#tokens = Math.min(this.#tokens, this.#burst);
    // The pending timer was computed for the old rate.
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#drain();
  }

  /** Whether a request now would have to wait (requests are queued, or no token is left). */
  get exhausted(): boolean {
    if (this.#qps <= 0) return false;
    if (this.#waiters.length > 0) return true;
    this.#refill();
    return this.#tokens < 1;
  }

  /** Resolves when a token is available; returns how long the caller waited (ms). */
  async take(): Promise<number> {
    if (this.#qps <= 0) return 0;
    if (this.#waiters.length === 0) {
      this.#refill();
      if (this.#tokens >= 1) {
        this.#tokens -= 1;
        return 0;
      }
    }
    const start = this.#now();
    await new Promise<void>((resolve) => {
      this.#waiters.push(resolve);
      this.#schedule();
    });
    return this.#now() - start;
  }

  #refill(): void {
    const now = this.#now();
    if (this.#qps > 0) this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) / 1000) * this.#qps);
    this.#last = now;
  }

  #drain(): void {
    if (this.#qps <= 0) {
      for (const w of this.#waiters.splice(0)) w();
      return;
    }
    this.#refill();
    while (this.#waiters.length > 0 && this.#tokens >= 1) {
      this.#tokens -= 1;
      this.#waiters.shift()!();
    }
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#waiters.length === 0) return;
    const missing = Math.max(0, 1 - this.#tokens);
    const delayMs = this.#qps > 0 ? Math.ceil((missing / this.#qps) * 1000) : 0;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#drain();
    }, delayMs);
  }
}
