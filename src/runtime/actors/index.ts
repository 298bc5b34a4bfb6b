/**
 * The actor runtime: per-key actors with bounded coalescing mailboxes,
 * priority lanes, a global limit on reconciles in flight, classified retries
 * and a dead-letter state. Knows nothing about Kubernetes: keys are strings.
 * See README.md in this directory for the design and its reasons.
 */
export { ActorSystem, ShutdownError, type ActorSystemOptions, type ActorSystemStats } from './actor-system.ts';
export { KeyScheduler, LeadershipLostError, DEFAULT_LOW_PRIORITY_SHARE } from './key-scheduler.ts';
export { ConcurrencyLimiter, type Release, type SlotClaimant } from './concurrency-limiter.ts';
export { systemClock, type Clock, type TimerHandle } from './clock.ts';
export { ManualClock } from './manual-clock.ts';
export { DEFAULT_BACKOFF, DEFAULT_CONFLICT_MAX_MS, backoffDelay } from './retry-policy.ts';
export type {
  BackoffOptions,
  KeySchedulerOptions,
  KeySchedulerStats,
  DeadLetterCause,
  DeadLetterDetails,
  DeadLetterHook,
  EnqueueOptions,
  EnqueueReason,
  Priority,
  Reconcile,
  ReconcileContext,
  ReconcileResult,
} from './types.ts';
