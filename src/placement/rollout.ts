/**
 * Rollout safety: `Bundle.spec.rolloutStrategy.maxUnavailable`
 * (docs/architecture.md#rollout; Fleet's field and semantics).
 *
 * When a Bundle's deployment ID changes (new content or options), existing
 * BundleDeployments are updated to it only while the number of the Bundle's
 * targeted clusters that are *unavailable* stays within `maxUnavailable`.
 * Unavailable: a BundleDeployment whose agent has not reported the spec's
 * deployment ID as applied and ready (`status.appliedDeploymentID ==
 * spec.deploymentID && status.ready`). An updated one is unavailable until
 * its agent reports it ready, so the next update waits for that report (the
 * BundleDeployment's status change enqueues the Bundle again).
 *
 * Not held: creating a BundleDeployment for a newly targeted cluster
 * (nothing runs there that could become unavailable), deleting one, and
 * updates that do not change the deployment ID (labels, unpausing).
 * Updating one that is unavailable already is free: it cannot make more
 * clusters unavailable, and it is how a broken rollout is fixed.
 *
 * The limit: a count, or a percentage of the targeted clusters rounded down;
 * never below 1 (at least one cluster progresses, as in Fleet). Absent:
 * 100%, no limit.
 */
import type { ConditionUpdate } from './conditions.ts';
import type { BundleDeploymentUpdate, ExistingBundleDeployment } from './bundle-deployments.ts';
import { ConditionReason, ConditionStatus, ConditionType } from '../api/constants.ts';

/** The parts of a BundleDeployment availability depends on (an API `BundleDeployment` fits). */
export interface AvailabilityFacts {
  readonly metadata: { readonly deletionTimestamp?: string | null };
  readonly spec: { readonly deploymentID?: string };
  readonly status?: { readonly appliedDeploymentID?: string; readonly ready?: boolean } | null;
}

/** Whether the agent reports this BundleDeployment applied at its spec's deployment ID and ready. */
export function isAvailable(bd: AvailabilityFacts): boolean {
  const deleting = bd.metadata.deletionTimestamp !== undefined && bd.metadata.deletionTimestamp !== null;
  return !deleting && bd.spec.deploymentID !== undefined && bd.status?.appliedDeploymentID === bd.spec.deploymentID && bd.status?.ready === true;
}

/**
 * How many of `targeted` clusters may be unavailable. Malformed values (the
 * API's CEL rule rejects them) count as absent: no limit.
 */
export function maxUnavailableCount(value: number | string | null | undefined, targeted: number): number {
  let limit = targeted;
  if (typeof value === 'number' && Number.isInteger(value)) limit = value;
  else if (typeof value === 'string') {
    const percent = /^(\d{1,3})%$/.exec(value);
    if (percent) limit = Math.floor((Number(percent[1]) * targeted) / 100);
  }
  return Math.max(1, limit);
}

export interface RolloutInput<E> {
  /** The diff's updates, in its (sorted) order. */
  readonly updates: readonly BundleDeploymentUpdate<E>[];
  /** This Bundle's BundleDeployments on clusters it targets (the ones that can be unavailable). */
  readonly targetedDeployments: readonly E[];
  /** Number of targeted clusters (the base of a percentage and of the message). */
  readonly targeted: number;
  readonly maxUnavailable?: number | string | null | undefined;
  /** The Bundle's current deployment ID. */
  readonly deploymentID: string;
}

export interface RolloutPlan<E> {
  /** Updates to apply now. */
  readonly proceed: readonly BundleDeploymentUpdate<E>[];
  /** Updates held back by `maxUnavailable`: their BundleDeployments keep their old spec. */
  readonly held: readonly BundleDeploymentUpdate<E>[];
  readonly limit: number;
  /** Targeted clusters unavailable once `proceed` is applied. */
  readonly unavailable: number;
  /** Targeted BundleDeployments carrying the current deployment ID once `proceed` is applied. */
  readonly updated: number;
}

/** Which updates may go now. Pure: same inputs, same plan. */
export function planRollout<E extends ExistingBundleDeployment & AvailabilityFacts>(input: RolloutInput<E>): RolloutPlan<E> {
  const limit = maxUnavailableCount(input.maxUnavailable, input.targeted);
  const live = input.targetedDeployments.filter((bd) => !(bd.metadata.deletionTimestamp !== undefined && bd.metadata.deletionTimestamp !== null));
  let unavailable = live.filter((bd) => !isAvailable(bd)).length;
  let updated = live.filter((bd) => bd.spec.deploymentID === input.deploymentID).length;
  const proceed: BundleDeploymentUpdate<E>[] = [];
  const held: BundleDeploymentUpdate<E>[] = [];
  const rollouts: BundleDeploymentUpdate<E>[] = [];
  for (const u of input.updates) {
    if (u.changes.includes('spec.deploymentID')) rollouts.push(u);
    else proceed.push(u);
  }
  // The unavailable ones first: updating them costs nothing.
  rollouts.sort((a, b) => Number(isAvailable(a.existing)) - Number(isAvailable(b.existing)));
  for (const u of rollouts) {
    if (!isAvailable(u.existing)) {
      proceed.push(u);
    } else if (unavailable < limit) {
      proceed.push(u);
      unavailable++;
    } else {
      held.push(u);
      continue;
    }
    if (u.desired.spec.deploymentID === input.deploymentID && u.existing.spec.deploymentID !== input.deploymentID) updated++;
  }
  return { proceed, held, limit, unavailable, updated };
}

/**
 * The Bundle's `Rollout` condition: False (MaxUnavailable) while updates are
 * held; True (RolledOut) once none is, but only if the condition is there
 * already, so Bundles that never held an update carry no extra condition
 * (and get no extra status write).
 */
export function rolloutCondition(plan: RolloutPlan<unknown>, targeted: number, present: boolean): ConditionUpdate | undefined {
  if (plan.held.length > 0) {
    return {
      type: ConditionType.Rollout,
      status: ConditionStatus.False,
      reason: ConditionReason.MaxUnavailable,
      message: `${plan.updated} of ${targeted} clusters updated; waiting for ${plan.unavailable} not-ready clusters (maxUnavailable ${plan.limit})`,
    };
  }
  if (!present) return undefined;
  return {
    type: ConditionType.Rollout,
    status: ConditionStatus.True,
    reason: ConditionReason.RolledOut,
    message: `no update is held by maxUnavailable; ${plan.updated} of ${targeted} clusters updated`,
  };
}
