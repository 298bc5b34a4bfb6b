import type { Logger } from '../../observability/logger.ts';
import type { Classification } from '../errors.ts';

/**
 * `high`: something a user changed (watch events) — must not wait behind a
 * startup storm. `low`: initial list, resync and time-based requeues.
 * `deferred`: bookkeeping that follows the controller's own writes (status
 * summaries) — runs when nothing else waits, or after the deferral bound.
 */
export type Priority = 'high' | 'low' | 'deferred';

/**
 * Why a key was enqueued. Only `change` (the object's spec or metadata
 * changed) releases a dead-lettered key: a terminal error is a property of
 * the object's content, so nothing but a new version of it can fix it.
 * `dependency` (something the object points at changed, e.g. a Cluster's
 * labels for a Bundle) does not release it for the same reason.
 */
export type EnqueueReason = 'change' | 'initial' | 'resync' | 'requeue' | 'dependency';

export interface EnqueueOptions {
  /** Defaults from the reason: `change`/`dependency` → high, others → low. */
  priority?: Priority;
  /** Not before this many ms from now (coalescing keeps the earliest due time). */
  delayMs?: number;
  /** Defaults to `change`. */
  reason?: EnqueueReason;
}

export interface ReconcileContext {
  readonly key: string;
  /** Unique per reconcile; also bound on `log`. */
  readonly reconcileID: string;
  /** 1 for the first try after a success; n+1 after n consecutive failures. */
  readonly attempt: number;
  readonly priority: Priority;
  /** Aborted when leadership is lost (pause) or a shutdown's drain timeout expires. */
  readonly signal: AbortSignal;
  /** Child logger carrying `controller`, `key` and `reconcileID`. */
  readonly log: Logger;
}

export interface ReconcileResult {
  /**
   * Reconcile again after this many ms (time-based work), at low priority.
   * As in controller-runtime, 0 or absent means "no requeue".
   */
  requeueAfterMs?: number;
  /**
   * The requeue's priority: `low` (default) or `deferred`, for follow-up
   * bookkeeping (a summary of what the reconcile just wrote) that must not
   * compete with other keys' writes.
   */
  requeuePriority?: 'low' | 'deferred';
}

export type Reconcile = (ctx: ReconcileContext) => Promise<ReconcileResult | void>;

export type DeadLetterCause = 'terminal' | 'max_attempts';

export interface DeadLetterDetails {
  /** Consecutive failed attempts, including the one that dead-lettered the key. */
  attempts: number;
  classification: Classification;
  cause: DeadLetterCause;
  /** Aborted on pause/stop like the reconcile's own signal. */
  signal: AbortSignal;
}

/**
 * Called once each time a key enters the dead-letter state, so the controller
 * can record it on the object's status and as an Event. Awaited before the key
 * may run again; a throw or rejection is logged and otherwise ignored.
 */
export type DeadLetterHook = (key: string, error: unknown, details: DeadLetterDetails) => Promise<void> | void;

export interface BackoffOptions {
  /** First retry delay (client-go's default controller rate limiter: 5 ms). */
  baseMs: number;
  /** Cap of the doubling (client-go: 1000 s). */
  maxMs: number;
  /**
   * Relative ±jitter: each delay is drawn uniformly from d·[1−j, 1+j], then
   * clamped to `maxMs`. 0 gives client-go's exact sequence; 1 is full jitter.
   */
  jitter?: number;
}

export interface KeySchedulerOptions {
  /** Metric label and log field; unique within a registry. */
  name: string;
  reconcile: Reconcile;
  backoff?: BackoffOptions;
  /**
   * Cap of the backoff after a 409 Conflict. Conflicts mean "re-read and
   * try again", so they retry on the same doubling but never wait long.
   */
  conflictMaxMs?: number;
  /** Dead-letter after this many consecutive failures; 0 = unlimited (default). */
  maxAttempts?: number;
  /**
   * Share of dequeues guaranteed to the low lane while both lanes hold work
   * (0–1; default 0.1, i.e. every 10th pick). 0 = strict priority.
   */
  lowPriorityShare?: number;
  /**
   * How long a `deferred` key may wait while other work is ready before it
   * joins the low lane (default `DEFAULT_MAX_DEFERRAL_MS`, 10 s).
   */
  maxDeferralMs?: number;
  onDeadLetter?: DeadLetterHook;
}

export interface KeySchedulerStats {
  name: string;
  /** Live actors in the registry (pending, running, backing off or dead-lettered). */
  actors: number;
  readyHigh: number;
  readyLow: number;
  readyDeferred: number;
  /** Pending but not yet due (delays, backoff). */
  waiting: number;
  running: number;
  deadLettered: number;
  paused: boolean;
  /** Enqueue calls accepted (after stop they are ignored and not counted). */
  events: number;
  /** Enqueues that filled an empty mailbox (client-go's `adds`). */
  adds: number;
  /** Enqueues that collapsed into an existing pending reconcile. */
  coalesced: number;
  /** Enqueues dropped because the key is dead-lettered and the reason was not `change`. */
  suppressed: number;
  reconciles: number;
  errors: number;
  retries: number;
  deadLetters: number;
}
