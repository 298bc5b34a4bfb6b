import { systemClock, type Clock } from './clock.ts';

/**
 * An in-flight limit that adapts to the server it talks to: additive
 * increase, multiplicative decrease (AIMD), as TCP's congestion window and
 * Envoy's adaptive concurrency filter do, between a floor and the configured
 * maximum. It knows nothing about HTTP: callers report outcomes.
 *
 * - **Decrease** (× 0.5) when the server rejects a request (429), or when
 *   the requests of the last interval were much slower than usual. Like TCP,
 *   at most once per window: a rejection of a request sent *before* the last
 *   decrease says the old, larger window was too large, which has already been
 *   acted on; counting it again would collapse the limit to the floor on one
 *   burst.
 * - **Increase** (+1) after each interval (1 s) of successes without a
 *   decrease. The interval is not a round trip (TCP's pace) because the
 *   server's feedback is slower than a round trip: API Priority and Fairness
 *   accounts rejections per second and doubles its Retry-After (up to 32 s)
 *   once it sees 3 × Retry-After of them within Retry-After seconds. Probing
 *   for one more seat per round trip (tens of ms) would be rejected many
 *   times a second and drive Retry-After to its maximum; probing once a
 *   second stays under that rate, so Retry-After stays at 1 s.
 * - **Latency**: a request's latency is compared with the baseline of its
 *   kind, the lowest interval median of that kind in the last 5 minutes (so
 *   it follows a server that became faster or slower for good, without
 *   drifting up with a congestion that lasts). When the median ratio of an
 *   interval exceeds 4, requests are queuing somewhere (APF's queues, the
 *   server's CPU): lowering the concurrency loses no throughput while a
 *   queue exists, and keeps the queue from overflowing into 429s. Envoy's
 *   gradient controller tracks the same ratio continuously; a threshold is
 *   enough here, and 4 leaves 2 × headroom after halving, so a saturated
 *   server stays saturated.
 */

export const DECREASE_FACTOR = 0.5;
export const INCREASE_INTERVAL_MS = 1000;
export const LATENCY_FACTOR = 4;
export const BASELINE_WINDOW_MS = 5 * 60_000;
/** Fewer samples than this say nothing about a median. */
export const MIN_LATENCY_SAMPLES = 5;

export type LimitChangeCause = 'throttled' | 'latency' | 'increase' | 'bounds';

export interface AdaptiveLimitOptions {
  /** Ceiling: the configured maximum. The limit starts here. */
  max: number;
  /** Floor, at least 1. Default 1. */
  min?: number;
  /** false: the limit stays at `max` and outcomes are ignored. Default true. */
  enabled?: boolean;
  clock?: Clock;
}

export interface SuccessSample {
  /** When the request was sent, on the limit's clock. */
  startedAt: number;
  latencyMs: number;
  /**
   * Requests of the same kind are comparable in latency (e.g. the verb).
   * Undefined for requests whose latency says nothing about congestion
   * (paginated LISTs of any size).
   */
  kind?: string | undefined;
}

interface Interval {
  startedAt: number;
  successes: number;
  /** Latency / baseline of its kind, for samples sent after the last decrease. */
  ratios: number[];
  latencies: Map<string, number[]>;
}

export class AdaptiveLimit {
  readonly #clock: Clock;
  #max: number;
  #min: number;
  #enabled: boolean;
  #limit: number;
  #lastDecreaseAt = -Infinity;
  #interval: Interval;
  readonly #baselines = new Map<string, Array<{ at: number; median: number }>>();
  readonly #listeners: Array<(limit: number, cause: LimitChangeCause) => void> = [];

  constructor(options: AdaptiveLimitOptions) {
    this.#clock = options.clock ?? systemClock;
    this.#max = validate('max', options.max);
    this.#min = validate('min', options.min ?? 1);
    this.#enabled = options.enabled ?? true;
    this.#limit = this.#max;
    this.#interval = newInterval(this.#clock.now());
  }

  /** The current limit, within [min(min, max), max]. */
  get limit(): number {
    return this.#limit;
  }

  get max(): number {
    return this.#max;
  }

  get min(): number {
    return this.#min;
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  /** Called after every change of the limit, with its cause. */
  onChange(listener: (limit: number, cause: LimitChangeCause) => void): void {
    this.#listeners.push(listener);
  }

  /**
   * A new ceiling (config reload). A limit that was at the old maximum (no
   * congestion seen) follows the new one at once; a reduced limit keeps
   * what it learnt and is only clamped.
   */
  setMax(max: number): void {
    const wasAtMax = this.#limit >= this.#max;
    this.#max = validate('max', max);
    this.#set(wasAtMax || !this.#enabled ? this.#max : this.#limit, 'bounds');
  }

  setMin(min: number): void {
    this.#min = validate('min', min);
    this.#set(this.#limit, 'bounds');
  }

  /** Turning adaptation off pins the limit at the maximum; turning it on starts from there. */
  setEnabled(enabled: boolean): void {
    this.#enabled = enabled;
    this.#lastDecreaseAt = -Infinity;
    this.#interval = newInterval(this.#clock.now());
    this.#set(this.#max, 'bounds');
  }

  /** The server rejected a request sent at `startedAt` (429). */
  throttled(startedAt: number): void {
    if (!this.#enabled || startedAt < this.#lastDecreaseAt) return;
    this.#decrease('throttled');
  }

  /** A request succeeded. */
  succeeded(sample: SuccessSample): void {
    if (!this.#enabled) return;
    const interval = this.#interval;
    const now = this.#clock.now();
    interval.successes++;
    if (sample.kind !== undefined) {
      const baseline = this.#baseline(sample.kind, now);
      if (baseline !== undefined && sample.startedAt >= this.#lastDecreaseAt) {
        interval.ratios.push(sample.latencyMs / Math.max(baseline, 1e-3));
      }
      let latencies = interval.latencies.get(sample.kind);
      if (latencies === undefined) interval.latencies.set(sample.kind, (latencies = []));
      latencies.push(sample.latencyMs);
    }
    if (now - interval.startedAt >= INCREASE_INTERVAL_MS) this.#closeInterval(now);
  }

  #closeInterval(now: number): void {
    const interval = this.#interval;
    this.#interval = newInterval(now);
    this.#recordBaselines(interval, now);
    if (interval.ratios.length >= MIN_LATENCY_SAMPLES && median(interval.ratios) > LATENCY_FACTOR) {
      this.#decrease('latency');
    } else if (interval.successes > 0) {
      this.#set(this.#limit + 1, 'increase');
    }
  }

  #decrease(cause: 'throttled' | 'latency'): void {
    const now = this.#clock.now();
    this.#lastDecreaseAt = now;
    // The interval restarts: the next increase needs a full interval of
    // successes at the new limit.
    this.#interval = newInterval(now);
    this.#set(Math.floor(this.#limit * DECREASE_FACTOR), cause);
  }

  #set(value: number, cause: LimitChangeCause): void {
    const next = Math.max(Math.min(this.#min, this.#max), Math.min(this.#max, value));
    if (next === this.#limit) return;
    this.#limit = next;
    for (const listener of this.#listeners) listener(next, cause);
  }

  #baseline(kind: string, now: number): number | undefined {
    const history = this.#baselines.get(kind);
    if (history === undefined) return undefined;
    let min = Infinity;
    for (const h of history) if (now - h.at <= BASELINE_WINDOW_MS) min = Math.min(min, h.median);
    return min === Infinity ? undefined : min;
  }

  #recordBaselines(interval: Interval, now: number): void {
    for (const [kind, latencies] of interval.latencies) {
      if (latencies.length < MIN_LATENCY_SAMPLES) continue;
      let history = this.#baselines.get(kind);
      if (history === undefined) this.#baselines.set(kind, (history = []));
      history.push({ at: now, median: median(latencies) });
    }
    for (const history of this.#baselines.values()) {
      while (history.length > 0 && now - history[0]!.at > BASELINE_WINDOW_MS) history.shift();
    }
  }
}

function newInterval(now: number): Interval {
  return { startedAt: now, successes: 0, ratios: [], latencies: new Map() };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function validate(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`adaptive limit ${name} must be an integer >= 1, got ${String(value)}`);
  return value;
}
