/**
 * The state of one BundleDeployment, and counting states into summaries.
 * The state names are Fleet's; the rule is not quite: Fleet's
 * `summary.GetDeploymentState` decides with an ordered switch and ranks
 * WaitApplied above OutOfSync and Modified (`StateRank`).
 *
 * Here a BundleDeployment's state is the **worst** of the states whose
 * condition holds, in `DeploymentState` order (best to worst):
 *
 *   Ready        none of the below
 *   NotReady     `status.ready` is not true
 *   Pending      no BundleDeployment yet (a targeted Cluster without one), it
 *                is being deleted (it will be recreated), or the agent never
 *                applied anything (`status.appliedDeploymentID` unset)
 *   WaitApplied  the agent applied an older ID: `appliedDeploymentID` ≠
 *                `spec.deploymentID`; the new one is on its way
 *   OutOfSync    `spec.deploymentID` ≠ the Bundle's current deployment ID:
 *                the controller has not updated it (the Bundle or Cluster
 *                is paused)
 *   Modified     the agent reports drift: `status.nonModified` is false
 *   ErrApplied   the agent's `Applied` condition is False (its last apply failed)
 *
 * "Worst applicable" keeps one rule instead of a hand-ordered switch: a
 * failed apply is shown even while a newer ID waits, and drift is shown even
 * if the resources are not ready. Where the checks imply one another (never
 * applied ⇒ not ready) the worse, more specific state wins. An agent that
 * does not report drift leaves `nonModified` unset, which is read as "not
 * modified": absence of evidence must not paint every deployment Modified.
 */
import { ConditionStatus, ConditionType, DeploymentState, SummaryCountField } from '../api/constants.ts';
import type { DeploymentCounts } from '../api/summary.ts';
import type { ResourceStatus } from '../api/resource-status.ts';

/** Best to worst; the index is the severity. */
export const DEPLOYMENT_STATES_BEST_TO_WORST = [
  DeploymentState.Ready,
  DeploymentState.NotReady,
  DeploymentState.Pending,
  DeploymentState.WaitApplied,
  DeploymentState.OutOfSync,
  DeploymentState.Modified,
  DeploymentState.ErrApplied,
] as const satisfies readonly DeploymentState[];

const severity: ReadonlyMap<DeploymentState, number> = new Map(DEPLOYMENT_STATES_BEST_TO_WORST.map((s, i) => [s, i]));

/** Higher is worse. */
export function stateSeverity(state: DeploymentState): number {
  return severity.get(state) as number;
}

export function worseState(a: DeploymentState, b: DeploymentState): DeploymentState {
  return stateSeverity(b) > stateSeverity(a) ? b : a;
}

/** The parts of a BundleDeployment its state depends on (an API `BundleDeployment` fits). */
export interface BundleDeploymentStateFacts {
  readonly metadata: { readonly deletionTimestamp?: string | null };
  readonly spec: { readonly deploymentID: string };
  readonly status?: {
    readonly appliedDeploymentID?: string;
    readonly ready?: boolean;
    readonly nonModified?: boolean;
    readonly conditions?: readonly { readonly type: string; readonly status: string }[];
    readonly nonReadyResources?: readonly ResourceStatus[];
    readonly modifiedResources?: readonly ResourceStatus[];
  } | null;
}

/**
 * State of one BundleDeployment; `undefined` means the targeted Cluster has
 * none yet (Pending). `desiredDeploymentID` is the Bundle's current ID, when
 * known (without it, OutOfSync cannot be told and is not reported).
 */
export function bundleDeploymentState(
  bd: BundleDeploymentStateFacts | undefined,
  desiredDeploymentID?: string,
): DeploymentState {
  if (bd === undefined) return DeploymentState.Pending;
  const status = bd.status ?? {};
  if (status.conditions?.some((c) => c.type === ConditionType.Applied && c.status === ConditionStatus.False)) {
    return DeploymentState.ErrApplied;
  }
  if (status.nonModified === false) return DeploymentState.Modified;
  if (desiredDeploymentID !== undefined && bd.spec.deploymentID !== desiredDeploymentID) return DeploymentState.OutOfSync;
  const applied = status.appliedDeploymentID;
  if (applied !== undefined && applied !== '' && applied !== bd.spec.deploymentID) return DeploymentState.WaitApplied;
  const deleting = bd.metadata.deletionTimestamp !== undefined && bd.metadata.deletionTimestamp !== null;
  if (deleting || applied === undefined || applied === '') return DeploymentState.Pending;
  if (status.ready !== true) return DeploymentState.NotReady;
  return DeploymentState.Ready;
}

/** All-zero counts, keys in the order they are written. */
export function emptyDeploymentCounts(): DeploymentCounts {
  return {
    desiredReady: 0,
    ready: 0,
    notReady: 0,
    pending: 0,
    modified: 0,
    errApplied: 0,
    waitApplied: 0,
    outOfSync: 0,
  };
}

/** Adds one deployment in `state` to `counts` (mutates; `desiredReady` is the caller's). */
export function countState(counts: DeploymentCounts, state: DeploymentState): void {
  counts[SummaryCountField[state]]++;
}

/** Non-zero non-ready counts, worst first: "1 errApplied, 3 pending". Empty when all are ready. */
export function describeNonReadyCounts(counts: DeploymentCounts): string {
  const parts: string[] = [];
  for (let i = DEPLOYMENT_STATES_BEST_TO_WORST.length - 1; i > 0; i--) {
    const field = SummaryCountField[DEPLOYMENT_STATES_BEST_TO_WORST[i] as DeploymentState];
    const n = counts[field];
    if (n > 0) parts.push(`${n} ${field}`);
  }
  return parts.join(', ');
}
