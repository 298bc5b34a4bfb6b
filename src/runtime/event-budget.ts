/**
 * The budget of best-effort Events (the Normal ones announcing transitions:
 * a Bundle became Ready, an agent connected). They are nice to have and must
 * never compete with the writes the controller exists for: Flotilla exists
 * because status writes competed with real work under a shared client rate
 * limit (Fleet #3163). So, like client-go's EventCorrelator spam filter, and
 * stricter:
 *
 * - **per object** a token bucket (client-go's: burst 25, one token per
 *   5 minutes), so one flapping object cannot flood the namespace;
 * - **overall** a token bucket (10 per second, burst 100), so a wave of
 *   thousands of Bundles becoming Ready at once costs at most a hundred
 *   writes at once and ten a second after, instead of one write per Bundle;
 * - **in flight** at most a few writes at once: a slow API server makes
 *   events pile up nowhere;
 * - **under pressure** (the API server throttles or slows down, or the
 *   client's own rate limit is exhausted) none at all.
 *
 * An event over budget is dropped, never queued: a late "became Ready" is
 * worth less than the write it would delay. Drops are counted by cause
 * (`flotilla_events_dropped_total`). Pure bookkeeping with an injected
 * clock; the recorder asks it before each best-effort write.
 */

export type DropCause = 'object_rate' | 'rate' | 'in_flight' | 'api_pressure';

export interface EventBudgetOptions {
  /** Events per object at once (client-go's spam filter: 25). */
  perObjectBurst?: number;
  /** One more event per object every this many ms (client-go: 5 min). */
  perObjectRefillMs?: number;
  /** Events per second over all objects. */
  qps?: number;
  /** Events at once over all objects. */
  burst?: number;
  /** Best-effort event writes on the wire at once. */
  maxInFlight?: number;
  /** Objects whose buckets are remembered (least recently used forgotten first, refilled). */
  maxTrackedObjects?: number;
  /** True while real work is being held back by the API server or the client's rate limit. */
  underPressure?: () => boolean;
  /** Milliseconds, monotonic. */
  now?: () => number;
}

interface Bucket {
  tokens: number;
  last: number;
}

export const EVENT_BUDGET_DEFAULTS = {
  perObjectBurst: 25,
  perObjectRefillMs: 5 * 60_000,
  qps: 10,
  burst: 100,
  maxInFlight: 4,
  maxTrackedObjects: 4096,
} as const;

export class EventBudget {
  readonly #o: Required<Omit<EventBudgetOptions, 'underPressure' | 'now'>>;
  readonly #underPressure: () => boolean;
  readonly #now: () => number;
  readonly #objects = new Map<string, Bucket>();
  readonly #global: Bucket;
  #inFlight = 0;

  constructor(opts: EventBudgetOptions = {}) {
    this.#o = {
      perObjectBurst: opts.perObjectBurst ?? EVENT_BUDGET_DEFAULTS.perObjectBurst,
      perObjectRefillMs: opts.perObjectRefillMs ?? EVENT_BUDGET_DEFAULTS.perObjectRefillMs,
      qps: opts.qps ?? EVENT_BUDGET_DEFAULTS.qps,
      burst: opts.burst ?? EVENT_BUDGET_DEFAULTS.burst,
      maxInFlight: opts.maxInFlight ?? EVENT_BUDGET_DEFAULTS.maxInFlight,
      maxTrackedObjects: opts.maxTrackedObjects ?? EVENT_BUDGET_DEFAULTS.maxTrackedObjects,
    };
    this.#underPressure = opts.underPressure ?? (() => false);
    this.#now = opts.now ?? (() => performance.now());
    this.#global = { tokens: this.#o.burst, last: this.#now() };
  }

  /** Best-effort writes on the wire now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Takes the budget for one event about `objectId`: a release function to
   * call when its write is done, or why it must be dropped. Nothing is
   * taken when it is dropped.
   */
  admit(objectId: string): { release: () => void } | { dropped: DropCause } {
    if (this.#underPressure()) return { dropped: 'api_pressure' };
    if (this.#inFlight >= this.#o.maxInFlight) return { dropped: 'in_flight' };
    const now = this.#now();
    const object = this.#objectBucket(objectId, now);
    if (object.tokens < 1) return { dropped: 'object_rate' };
    refill(this.#global, now, this.#o.qps / 1000, this.#o.burst);
    if (this.#global.tokens < 1) return { dropped: 'rate' };
    object.tokens -= 1;
    this.#global.tokens -= 1;
    this.#inFlight++;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#inFlight--;
      },
    };
  }

  #objectBucket(objectId: string, now: number): Bucket {
    let bucket = this.#objects.get(objectId);
    if (bucket) {
      this.#objects.delete(objectId); // re-inserted: most recently used last
    } else {
      bucket = { tokens: this.#o.perObjectBurst, last: now };
    }
    this.#objects.set(objectId, bucket);
    if (this.#objects.size > this.#o.maxTrackedObjects) this.#objects.delete(this.#objects.keys().next().value!);
    refill(bucket, now, 1 / this.#o.perObjectRefillMs, this.#o.perObjectBurst);
    return bucket;
  }
}

function refill(bucket: Bucket, now: number, perMs: number, burst: number): void {
  bucket.tokens = Math.min(burst, bucket.tokens + Math.max(0, now - bucket.last) * perMs);
  bucket.last = now;
}
