import type { Classification } from '../errors.ts';
import type { HeapNode } from './delay-heap.ts';
import type { LaneNode } from './lane.ts';
import type { ReconcileRun } from './reconcile-run.ts';
import type { DeadLetterCause, Priority } from './types.ts';

/** Where an actor is; exactly one at a time. */
export const Place = {
  /** No pending work, not running. Reclaimed unless it holds dead-letter state. */
  Idle: 0,
  /** Pending, not yet due: in the controller's delay heap (`time` = due time). */
  Waiting: 1,
  /** Pending and due: in the lane of its `priority` (`time` = when it became ready). */
  Ready: 2,
  /** Reconciling; events that arrive now go to the run's mailbox (`run`). */
  Running: 3,
} as const;
export type Place = (typeof Place)[keyof typeof Place];

/**
 * Per-key state. Kept deliberately small because a storm can create one per
 * object: everything rare (failures, dead-letter) lives in `retry`, and
 * everything about a reconcile in progress in `run`, both null most of the
 * time. The mailbox is the actor itself: at most one pending reconcile, with
 * `priority` and `time` merged on every enqueue.
 */
export class Actor implements LaneNode<Actor>, HeapNode {
  readonly key: string;
  place: Place = Place.Idle;
  /** Priority of the pending reconcile (Waiting or Ready). */
  priority: Priority = 'low';
  time = 0;
  prev: Actor | null = null;
  next: Actor | null = null;
  heapIndex = -1;
  run: ReconcileRun | null = null;
  retry: RetryState | null = null;

  constructor(key: string) {
    this.key = key;
  }
}

/** Consecutive-failure state of a key; dropped on success. */
export class RetryState {
  failures = 0;
  /** No retry before this time: the server's Retry-After (-Infinity = none). */
  notBefore = -Infinity;
  deadLetter: DeadLetterRecord | null = null;
}

export interface DeadLetterRecord {
  error: unknown;
  classification: Classification;
  cause: DeadLetterCause;
  attempts: number;
}
