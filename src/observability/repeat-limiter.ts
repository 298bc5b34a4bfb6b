/**
 * De-duplication of repeated warnings about failures (warnings with an
 * `err`; logger.ts applies it to every such line). A retry loop that warns
 * on every failure (the leader-election lease while the API server is gone,
 * a heartbeat, a downstream namespace) would otherwise print the same line
 * every few seconds for as long as the outage lasts. The first occurrence
 * is logged; the same warning again within `intervalMs` is only counted,
 * and the next one after the interval is logged with `repeated: N` (how
 * many were suppressed since the previous line). Error lines about API
 * problems have their own, longer schedule (runtime/kube/problem-log.ts).
 *
 * "The same warning": the same message from the same logger (its bindings:
 * component, controller, reconcile key …) about the same thing (the line's
 * other fields, such as `workspace`, `object` or a worker's `threadId`).
 * What changes from one retry to the next does not make it another warning:
 * the error (`err`), delays and durations (`…Ms`, `…Seconds`) and counts
 * such as `attempt`.
 */

export interface RepeatLimiterOptions {
  intervalMs?: number;
  now?: () => number;
  /** Bound on the keys remembered; the oldest are forgotten first. */
  maxKeys?: number;
}

interface Seen {
  loggedAt: number;
  suppressed: number;
}

export class RepeatLimiter {
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #maxKeys: number;
  readonly #seen = new Map<string, Seen>();

  constructor(options: RepeatLimiterOptions = {}) {
    this.#intervalMs = options.intervalMs ?? 60_000;
    this.#now = options.now ?? Date.now;
    this.#maxKeys = options.maxKeys ?? 1_000;
  }

  /**
   * Whether to log this occurrence of `key`: `false` to drop it, else the
   * number of occurrences suppressed since the last logged one (0 the first time).
   */
  admit(key: string): false | number {
    const now = this.#now();
    const seen = this.#seen.get(key);
    if (seen && now - seen.loggedAt < this.#intervalMs) {
      seen.suppressed++;
      return false;
    }
    const suppressed = seen?.suppressed ?? 0;
    this.#seen.delete(key); // re-inserted last: the map stays ordered oldest first
    this.#seen.set(key, { loggedAt: now, suppressed: 0 });
    if (this.#seen.size > this.#maxKeys) this.#forgetOldest(now);
    return suppressed;
  }

  #forgetOldest(now: number): void {
    for (const [key, seen] of this.#seen) {
      if (this.#seen.size <= this.#maxKeys && now - seen.loggedAt < this.#intervalMs) break;
      this.#seen.delete(key);
    }
  }
}

const VARYING = new Set(['err', 'attempt', 'attempts', 'cachedObjects', 'failuresSinceLastReport', 'running', 'repeated']);

function varies(name: string): boolean {
  return VARYING.has(name) || name.endsWith('Ms') || name.endsWith('Seconds');
}

/** The limiter's key for a log call: logger bindings, message, and the fields that say what it is about. */
export function repeatKey(bindings: string, message: string, fields: Record<string, unknown> | undefined): string {
  let key = `${bindings}\u0000${message}`;
  if (fields) {
    for (const [name, value] of Object.entries(fields)) {
      if (varies(name)) continue;
      const text = typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
      key += `\u0000${name}=${text}`;
    }
  }
  return key;
}
