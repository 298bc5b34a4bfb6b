/**
 * The Normal Events an operator looks for, found by comparing the status an
 * object had with the status the controller just wrote: a Bundle became
 * Ready or stopped being Ready, was paused or resumed, finished a held
 * rollout; a Cluster's agent connected or disconnected.
 *
 * Comparing stored statuses, not reconciles, is what keeps them honest: a
 * no-op reconcile writes nothing and so announces nothing; a relist or a
 * restart sees the status it wrote last and announces nothing again; only
 * the leader writes, so only it announces. Problems to fix (invalid input,
 * stalled, forbidden) have their own Warning Events and are not repeated
 * here.
 */
import type { Condition } from '../api/condition.ts';
import { ConditionReason, ConditionStatus, ConditionType } from '../api/constants.ts';
import { isInvalidInputReason } from './invalid-input.ts';

export interface TransitionEvent {
  readonly type: 'Normal';
  readonly reason: string;
  readonly note: string;
}

/** Normal Event reasons (the `reason` of events.k8s.io/v1 Events). */
export const TransitionReason = {
  /** Bundle: every targeted Cluster is ready. */
  Ready: 'Ready',
  /** Bundle: it was Ready and is not any more (for a reason that is not invalid input). */
  NotReady: 'NotReady',
  Paused: 'Paused',
  Resumed: 'Resumed',
  /** Bundle: a rollout held by maxUnavailable has reached every targeted Cluster. */
  RolledOut: 'RolledOut',
  AgentConnected: 'AgentConnected',
  AgentDisconnected: 'AgentDisconnected',
} as const;

interface StatusWithConditions {
  readonly conditions?: readonly Condition[] | null;
  readonly summary?: { readonly desiredReady?: number } | null;
}

/** The paused note `computeBundleStatus` starts the Ready message with while the Bundle is paused. */
export const PAUSED_MESSAGE_PREFIX = 'paused (BundleDeployments are kept but not updated); ';

const find = (status: StatusWithConditions | null | undefined, type: string) => status?.conditions?.find((c) => c.type === type);
const isTrue = (c: Condition | undefined) => c?.status === ConditionStatus.True;

/**
 * Transitions between a Bundle's previous and new status. A Bundle that
 * targets no Cluster is Ready with nothing to wait for: that is not news.
 */
export function bundleTransitions(previous: StatusWithConditions | null | undefined, next: StatusWithConditions): TransitionEvent[] {
  const out: TransitionEvent[] = [];
  const readyBefore = find(previous, ConditionType.Ready);
  const readyNow = find(next, ConditionType.Ready);
  if (readyNow && isTrue(readyNow) && !isTrue(readyBefore) && next.summary?.desiredReady !== 0) {
    out.push({ type: 'Normal', reason: TransitionReason.Ready, note: withoutPausedNote(readyNow.message) });
  } else if (readyNow && isTrue(readyBefore) && !isTrue(readyNow) && !isInvalidInputReason(readyNow.reason)) {
    out.push({ type: 'Normal', reason: TransitionReason.NotReady, note: `${readyNow.reason}: ${withoutPausedNote(readyNow.message)}` });
  }
  if (readyBefore && readyNow) {
    const wasPaused = readyBefore.message.startsWith(PAUSED_MESSAGE_PREFIX);
    const isPaused = readyNow.message.startsWith(PAUSED_MESSAGE_PREFIX);
    if (isPaused && !wasPaused) out.push({ type: 'Normal', reason: TransitionReason.Paused, note: 'paused: existing BundleDeployments are kept but not updated' });
    if (wasPaused && !isPaused) out.push({ type: 'Normal', reason: TransitionReason.Resumed, note: 'resumed: BundleDeployments are updated again' });
  }
  const rolloutBefore = find(previous, ConditionType.Rollout);
  const rolloutNow = find(next, ConditionType.Rollout);
  if (rolloutBefore?.status === ConditionStatus.False && isTrue(rolloutNow)) {
    out.push({ type: 'Normal', reason: TransitionReason.RolledOut, note: rolloutNow!.message });
  }
  return out;
}

/** Transitions between a Cluster's previous and new status: its agent connecting or going away. */
export function clusterTransitions(previous: StatusWithConditions | null | undefined, next: StatusWithConditions): TransitionEvent[] {
  const before = find(previous, ConditionType.AgentConnected);
  const now = find(next, ConditionType.AgentConnected);
  if (!now) return [];
  if (isTrue(now) && !isTrue(before)) return [{ type: 'Normal', reason: TransitionReason.AgentConnected, note: now.message }];
  if (isTrue(before) && !isTrue(now)) {
    const why = now.reason === ConditionReason.NoAgent ? 'its heartbeat Lease is gone' : 'its heartbeat expired';
    return [{ type: 'Normal', reason: TransitionReason.AgentDisconnected, note: `agent disconnected (${why}): ${now.message}` }];
  }
  return [];
}

function withoutPausedNote(message: string): string {
  return message.startsWith(PAUSED_MESSAGE_PREFIX) ? message.slice(PAUSED_MESSAGE_PREFIX.length) : message;
}
