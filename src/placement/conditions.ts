/**
 * Setting status conditions the way `meta.SetStatusCondition` does, so that
 * recomputing a status from an unchanged world yields a byte-identical
 * object (and so zero writes, docs/architecture.md#minimal-writes):
 *
 * - `lastTransitionTime` changes only when `status` changes; a new reason,
 *   message or observedGeneration updates the condition in place;
 * - conditions of other types (written by other code, e.g. `Stalled` from the
 *   dead-letter path) are kept as they are, in their position;
 * - every condition is written with the same key order, and times with
 *   second precision (`metav1.Time`'s RFC 3339 form), so equal content is
 *   equal text.
 */
import type { Condition } from '../api/condition.ts';
import type { ConditionStatus } from '../api/constants.ts';

/** metav1.Condition's message limit. */
export const CONDITION_MESSAGE_MAX_LENGTH = 32768;

/** A condition to set; `lastTransitionTime` is decided by `setConditions`. */
export interface ConditionUpdate {
  readonly type: string;
  readonly status: ConditionStatus;
  readonly reason: string;
  readonly message: string;
  readonly observedGeneration?: number | undefined;
}

/** RFC 3339 UTC with second precision, as `metav1.Time` serialises. */
export function conditionTimestamp(now: Date | string): string {
  const date = typeof now === 'string' ? new Date(now) : now;
  if (Number.isNaN(date.getTime())) throw new RangeError(`invalid time: ${String(now)}`);
  return `${date.toISOString().slice(0, 19)}Z`;
}

/**
 * `previous` with each update applied: an existing condition of the same
 * type is replaced in place (keeping its `lastTransitionTime` if the status
 * is unchanged), a new one is appended in the order given.
 */
export function setConditions(
  previous: readonly Condition[] | undefined,
  updates: readonly ConditionUpdate[],
  now: Date | string,
): Condition[] {
  const out: Condition[] = (previous ?? []).map((c) => ({ ...c }));
  let timestamp: string | undefined;
  for (const update of updates) {
    const index = out.findIndex((c) => c.type === update.type);
    const existing = index === -1 ? undefined : out[index];
    const lastTransitionTime =
      existing !== undefined && existing.status === update.status && existing.lastTransitionTime !== ''
        ? existing.lastTransitionTime
        : (timestamp ??= conditionTimestamp(now));
    const condition = buildCondition(update, lastTransitionTime);
    if (index === -1) out.push(condition);
    else out[index] = condition;
  }
  return out;
}

/** The condition of `type`, if present. */
export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

function buildCondition(update: ConditionUpdate, lastTransitionTime: string): Condition {
  const message =
    update.message.length > CONDITION_MESSAGE_MAX_LENGTH
      ? `${update.message.slice(0, CONDITION_MESSAGE_MAX_LENGTH - 1)}…`
      : update.message;
  // Fixed key order: equal conditions serialise to equal text.
  const condition: Condition = { type: update.type, status: update.status } as Condition;
  if (update.observedGeneration !== undefined) condition.observedGeneration = update.observedGeneration;
  condition.lastTransitionTime = lastTransitionTime;
  condition.reason = update.reason;
  condition.message = message;
  return condition;
}
