/**
 * What the STATUS column of `kubectl get bundles|clusters|clustergroups`
 * shows (`status.display.status`): one CamelCase word, the reason that
 * matters most for the object now. `status.display.state` stays the worst
 * BundleDeployment state, for tools; STATUS answers the operator's question
 * "what do I look at?", so a problem that stops all progress outranks the
 * states it causes (an invalid Bundle deploys nothing, so all its clusters
 * read Pending: Pending is not the news, InvalidResources is).
 *
 * Priority, first match wins:
 *
 *   1. `Stalled=True`: the key is dead-lettered (a terminal error, retried
 *      only when the object changes): its reason, e.g. TerminalError.
 *   2. A `False` Ready or Targeted condition whose reason is not a
 *      deployment state: the object's own problem, which the states below
 *      only reflect: invalid input (InvalidResources, ContentTooLarge,
 *      InvalidTarget, ClusterGroupNotFound, InvalidSelector,
 *      NamespaceConflict...), nothing to deploy to (NoTargets,
 *      NoMatchingClusters, NoClusters), or a deployment namespace being
 *      deleted (NamespaceTerminating). Ready is looked at before Targeted.
 *   3. ErrApplied, then Modified: a problem on some cluster, which pausing
 *      or a held rollout does not explain.
 *   4. Paused: existing BundleDeployments are held on purpose (their
 *      OutOfSync is expected).
 *   5. A held rollout (`Rollout=False`, MaxUnavailable): why others are
 *      OutOfSync.
 *   6. The worst remaining state: OutOfSync, WaitApplied, Pending, NotReady,
 *      Ready.
 *   7. No state (nothing deployed): `Ready` when the Ready condition is
 *      True, otherwise nothing.
 *
 * A forbidden workspace (403) cannot be shown here: the controller may not
 * write the status either; it is reported by a Warning Event and
 * `flotilla_workspace_forbidden`.
 */
import type { Condition } from '../api/condition.ts';
import { ConditionStatus, ConditionType, DeploymentState } from '../api/constants.ts';
import { stateSeverity } from './deployment-state.ts';

export interface DisplayStatusInput {
  readonly conditions?: readonly Condition[] | null | undefined;
  /** Worst BundleDeployment state (`display.state`); undefined when there are none. */
  readonly worst?: DeploymentState | undefined;
  /** The object is paused (`spec.paused`). */
  readonly paused?: boolean | undefined;
}

const DEPLOYMENT_STATES: ReadonlySet<string> = new Set(Object.values(DeploymentState));

/** The STATUS word for an object; `undefined` when there is nothing to say. */
export function displayStatus(input: DisplayStatusInput): string | undefined {
  const conditions = input.conditions ?? [];
  const find = (type: string) => conditions.find((c) => c.type === type);
  const stalled = find(ConditionType.Stalled);
  if (stalled?.status === ConditionStatus.True && stalled.reason) return stalled.reason;
  for (const type of [ConditionType.Ready, ConditionType.Targeted]) {
    const c = find(type);
    if (c?.status === ConditionStatus.False && c.reason && !DEPLOYMENT_STATES.has(c.reason)) return c.reason;
  }
  const worst = input.worst;
  if (worst !== undefined && stateSeverity(worst) >= stateSeverity(DeploymentState.Modified)) return worst;
  if (input.paused === true) return 'Paused';
  const rollout = find(ConditionType.Rollout);
  if (rollout?.status === ConditionStatus.False && rollout.reason) return rollout.reason;
  if (worst !== undefined) return worst;
  return find(ConditionType.Ready)?.status === ConditionStatus.True ? 'Ready' : undefined;
}
