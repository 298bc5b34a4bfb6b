/**
 * Logs explained API problems (explain-error.ts) without flooding: every
 * reflector retries on its own backoff, so an unreachable API server would
 * otherwise produce one error line per resource type per retry, forever.
 *
 * A problem is logged at error level when it first appears, then again only
 * while it persists, at doubling intervals (1 min up to 15 min) with the
 * number of failures in between; when every source that reported it has
 * recovered, one info line says it is resolved. Distinct problems (say, two
 * different denied resources) are logged independently.
 *
 * One log per API client: the problems are about that client's connection
 * and credentials.
 */
import type { Logger } from '../../observability/logger.ts';
import type { ApiProblem } from './explain-error.ts';

export interface ProblemLogOptions {
  logger: Logger;
  firstRepeatMs?: number;
  maxRepeatMs?: number;
  now?: () => number;
}

interface Tracked {
  problem: ApiProblem;
  sources: Set<string>;
  /** Failures since the last line about this problem. */
  unlogged: number;
  nextLogAt: number;
  intervalMs: number;
}

export class ProblemLog {
  readonly #log: Logger;
  readonly #firstRepeatMs: number;
  readonly #maxRepeatMs: number;
  readonly #now: () => number;
  readonly #problems = new Map<string, Tracked>();

  constructor(opts: ProblemLogOptions) {
    this.#log = opts.logger;
    this.#firstRepeatMs = opts.firstRepeatMs ?? 60_000;
    this.#maxRepeatMs = opts.maxRepeatMs ?? 15 * 60_000;
    this.#now = opts.now ?? Date.now;
  }

  /** `source` (a reflector's name, logged as `reflector`) failed with `problem`. */
  report(source: string, problem: ApiProblem): void {
    // A source has one current problem: a new one replaces what it reported before.
    for (const [key, tracked] of this.#problems) {
      if (key !== problem.key && tracked.sources.has(source)) this.#release(key, tracked, source);
    }
    const now = this.#now();
    const tracked = this.#problems.get(problem.key);
    if (!tracked) {
      this.#problems.set(problem.key, { problem, sources: new Set([source]), unlogged: 0, nextLogAt: now + this.#firstRepeatMs, intervalMs: this.#firstRepeatMs });
      this.#log.error({ problem: problem.category, reflector: source }, problem.message);
      return;
    }
    tracked.sources.add(source);
    tracked.unlogged++;
    if (now < tracked.nextLogAt) return;
    this.#log.error({ problem: tracked.problem.category, reflector: source, failuresSinceLastReport: tracked.unlogged }, `still failing: ${tracked.problem.message}`);
    tracked.unlogged = 0;
    tracked.intervalMs = Math.min(tracked.intervalMs * 2, this.#maxRepeatMs);
    tracked.nextLogAt = now + tracked.intervalMs;
  }

  /** `source` succeeded: whatever it reported is over for it. */
  resolve(source: string): void {
    if (this.#problems.size === 0) return;
    for (const [key, tracked] of this.#problems) {
      if (tracked.sources.has(source)) this.#release(key, tracked, source);
    }
  }

  /** The problems currently open, for status displays. */
  current(): ApiProblem[] {
    return [...this.#problems.values()].map((t) => t.problem);
  }

  #release(key: string, tracked: Tracked, source: string): void {
    tracked.sources.delete(source);
    if (tracked.sources.size > 0) return;
    this.#problems.delete(key);
    this.#log.info({ problem: tracked.problem.category }, `resolved: ${tracked.problem.message.split(';')[0]}`);
  }
}

const byOwner = new WeakMap<object, ProblemLog>();

/** The problem log shared by everything using `owner` (an API client); created on first use. */
export function problemLogFor(owner: object, logger: Logger): ProblemLog {
  let log = byOwner.get(owner);
  if (!log) byOwner.set(owner, (log = new ProblemLog({ logger })));
  return log;
}
