import type { Classification } from '../errors.ts';
import type { BackoffOptions, DeadLetterCause } from './types.ts';

/**
 * The per-item part of client-go's `DefaultControllerRateLimiter` (5 ms
 * doubling to 1000 s), which controller-runtime uses too; plus ±10 % jitter.
 * (`DefaultItemBasedRateLimiter` starts at 1 ms.)
 */
export const DEFAULT_BACKOFF: Required<BackoffOptions> = { baseMs: 5, maxMs: 1_000_000, jitter: 0.1 };

/** A conflict only needs a fresh read: retry fast, but never hot-loop against a fight. */
export const DEFAULT_CONFLICT_MAX_MS = 1_000;

export interface RetryPolicy {
  baseMs: number;
  maxMs: number;
  jitter: number;
  conflictMaxMs: number;
  /** 0 = unlimited. */
  maxAttempts: number;
}

export type RetryDecision =
  /** `floorMs`: no enqueue may bring the retry earlier than this (server's Retry-After). */
  | { kind: 'retry'; delayMs: number; floorMs: number }
  | { kind: 'dead-letter'; cause: DeadLetterCause };

export function retryPolicy(options: {
  backoff?: BackoffOptions;
  conflictMaxMs?: number;
  maxAttempts?: number;
}): RetryPolicy {
  const baseMs = options.backoff?.baseMs ?? DEFAULT_BACKOFF.baseMs;
  const maxMs = options.backoff?.maxMs ?? DEFAULT_BACKOFF.maxMs;
  const jitter = options.backoff?.jitter ?? DEFAULT_BACKOFF.jitter;
  const conflictMaxMs = options.conflictMaxMs ?? Math.min(DEFAULT_CONFLICT_MAX_MS, maxMs);
  const maxAttempts = options.maxAttempts ?? 0;
  if (!(Number.isFinite(baseMs) && baseMs > 0)) throw new RangeError(`backoff.baseMs must be > 0, got ${String(baseMs)}`);
  if (!(Number.isFinite(maxMs) && maxMs >= baseMs)) {
    throw new RangeError(`backoff.maxMs must be >= backoff.baseMs, got ${String(maxMs)}`);
  }
  if (!(jitter >= 0 && jitter <= 1)) throw new RangeError(`backoff.jitter must be within [0, 1], got ${String(jitter)}`);
  if (!(Number.isFinite(conflictMaxMs) && conflictMaxMs >= 0)) {
    throw new RangeError(`conflictMaxMs must be >= 0, got ${String(conflictMaxMs)}`);
  }
  if (!(Number.isInteger(maxAttempts) && maxAttempts >= 0)) {
    throw new RangeError(`maxAttempts must be an integer >= 0, got ${String(maxAttempts)}`);
  }
  return { baseMs, maxMs, jitter, conflictMaxMs, maxAttempts };
}

/**
 * Delay before retry number `failures` (1 = first retry): `base·2^(failures−1)`
 * capped at `capMs`, then jittered uniformly within ±`jitter` and clamped to
 * the cap again so the cap is a hard bound.
 */
export function backoffDelay(failures: number, baseMs: number, capMs: number, jitter: number, random: () => number): number {
  // 2^52 already overflows any sane cap; bounding the exponent keeps it finite.
  const exponent = Math.min(Math.max(failures - 1, 0), 52);
  const delay = Math.min(baseMs * 2 ** exponent, capMs);
  if (jitter === 0) return delay;
  return Math.min(capMs, delay * (1 - jitter + 2 * jitter * random()));
}

/** What to do after the `failures`-th consecutive failed reconcile of a key. */
export function decideRetry(
  classification: Classification,
  failures: number,
  policy: RetryPolicy,
  random: () => number,
): RetryDecision {
  if (classification.kind === 'terminal') return { kind: 'dead-letter', cause: 'terminal' };
  if (policy.maxAttempts > 0 && failures >= policy.maxAttempts) return { kind: 'dead-letter', cause: 'max_attempts' };
  const floorMs = classification.retryAfterMs ?? 0;
  if (classification.kind === 'conflict') {
    const cap = Math.min(policy.conflictMaxMs, policy.maxMs);
    return { kind: 'retry', delayMs: backoffDelay(failures, policy.baseMs, cap, policy.jitter, random), floorMs: 0 };
  }
  // transient and throttled: the backoff, but never sooner than the server asked.
  const delayMs = Math.max(floorMs, backoffDelay(failures, policy.baseMs, policy.maxMs, policy.jitter, random));
  return { kind: 'retry', delayMs, floorMs };
}
