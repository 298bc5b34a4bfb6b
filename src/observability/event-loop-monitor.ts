/**
 * Liveness evidence that does not involve anything outside the process.
 *
 * If the event loop is stuck for good, the kubelet's probe simply times out
 * and no code is needed. What needs detecting is the loop that still runs
 * but only in bursts — blocked for seconds at a time, so that leases lapse
 * and watches time out while a lucky probe still gets an answer. A heartbeat
 * timer measures how late it fires (timer drift); a drift at or above the
 * threshold marks the loop as stalled for the next `threshold` milliseconds.
 * One long stall (a huge initial LIST, a major GC) therefore fails at most a
 * probe or two, which the kubelet's default failureThreshold of 3 absorbs,
 * while a loop that keeps stalling fails every probe and gets restarted.
 */
export interface EventLoopMonitorOptions {
  /** Drift that counts as a stall (default 10 s). */
  stallThresholdMs?: number;
  /** Heartbeat period (default 500 ms); bounds how finely drift is seen. */
  intervalMs?: number;
  now?: () => number;
}

export interface LivenessVerdict {
  ok: boolean;
  reason?: string;
}

export class EventLoopMonitor {
  readonly stallThresholdMs: number;
  readonly #intervalMs: number;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #lastBeat = 0;
  #lastStall: { at: number; delayMs: number } | undefined;
  #maxDelayMs = 0;
  #beats = 0;

  constructor(options: EventLoopMonitorOptions = {}) {
    this.stallThresholdMs = options.stallThresholdMs ?? 10_000;
    this.#intervalMs = options.intervalMs ?? 500;
    this.#now = options.now ?? (() => performance.now());
    if (!(this.stallThresholdMs > 0)) throw new RangeError(`stallThresholdMs must be > 0, got ${this.stallThresholdMs}`);
    if (!(this.#intervalMs > 0)) throw new RangeError(`intervalMs must be > 0, got ${this.#intervalMs}`);
  }

  get running(): boolean {
    return this.#timer !== undefined;
  }

  /** Largest timer drift seen since start, in ms (for diagnostics). */
  get maxDelayMs(): number {
    return this.#maxDelayMs;
  }

  /** Heartbeats since start: proof the monitor is actually sampling. */
  get beats(): number {
    return this.#beats;
  }

  start(): this {
    if (this.#timer !== undefined) return this;
    this.#lastBeat = this.#now();
    // Unref'd: a health monitor must never be what keeps the process alive.
    this.#timer = setInterval(() => this.#beat(), this.#intervalMs).unref();
    return this;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #beat(): void {
    const now = this.#now();
    const delay = Math.max(0, now - this.#lastBeat - this.#intervalMs);
    this.#lastBeat = now;
    this.#beats += 1;
    this.#maxDelayMs = Math.max(this.#maxDelayMs, delay);
    if (delay >= this.stallThresholdMs) this.#lastStall = { at: now, delayMs: delay };
  }

  check(): LivenessVerdict {
    // Not started: no evidence either way, and liveness must not fail on a missing monitor.
    if (this.#timer === undefined) return { ok: true };
    const now = this.#now();
    const pending = now - this.#lastBeat - this.#intervalMs;
    if (pending >= this.stallThresholdMs) {
      return { ok: false, reason: `event loop heartbeat overdue by ${Math.round(pending)} ms (threshold ${this.stallThresholdMs} ms)` };
    }
    const stall = this.#lastStall;
    if (stall !== undefined && now - stall.at < this.stallThresholdMs) {
      return {
        ok: false,
        reason: `event loop was blocked for ${Math.round(stall.delayMs)} ms ${Math.round(now - stall.at)} ms ago (threshold ${this.stallThresholdMs} ms)`,
      };
    }
    return { ok: true };
  }
}
