import { ConditionReason, ConditionStatus, ConditionType, Kind } from '../api/constants.ts';
import type { ClusterStatus } from '../api/cluster.ts';
import { findCondition, setConditions } from '../placement/conditions.ts';
import { statusEqual } from '../placement/summary.ts';
import type { KubeObject } from '../runtime/kube/resource.ts';
import type { ClusterObject, PlacementContext } from './placement-context.ts';

/**
 * A namespace with the deployment namespace's name exists and is not this
 * Cluster's (someone else created it). Only the user can fix that, so it is
 * reported the way invalid input is: on status (`Ready=False` and
 * `Stalled=True`, reason `NamespaceConflict`) and as one Warning Event when
 * it first appears, not as a failed reconcile with an error log. Resyncs
 * look again, so the Cluster recovers once the name is free.
 *
 * `status.namespace` is left out on purpose: it tells the Bundles where the
 * Cluster's BundleDeployments go, and a namespace that is not the Cluster's
 * must never receive them.
 */
export async function reportNamespaceConflict(ctx: PlacementContext, cluster: ClusterObject, namespace: string, signal: AbortSignal): Promise<void> {
  const { name, namespace: workspace, generation } = cluster.metadata;
  const message =
    `namespace ${namespace} exists but does not belong to Cluster ${workspace}/${name} ` +
    '(it lacks the labels Flotilla puts on deployment namespaces); delete or rename it, and the deployment namespace is created';
  const conflict = { status: ConditionStatus.False, reason: ConditionReason.NamespaceConflict, message, observedGeneration: generation };
  const { namespace: _previousNamespace, ...rest } = cluster.status ?? {};
  const status: ClusterStatus = {
    ...rest,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    conditions: setConditions(cluster.status?.conditions, [
      { type: ConditionType.Ready, ...conflict },
      { type: ConditionType.Stalled, ...conflict, status: ConditionStatus.True },
    ], new Date()),
    display: { ...rest.display, status: ConditionReason.NamespaceConflict },
  };
  if (statusEqual(status, cluster.status)) return;
  const written = await ctx.writer.applyStatus(Kind.Cluster, { metadata: { name, namespace: workspace }, status } as KubeObject, 'StatusChanged', signal);
  const before = findCondition(cluster.status?.conditions, ConditionType.Stalled);
  const reported = before?.status === ConditionStatus.True && before.reason === conflict.reason && before.message === message;
  if (written && !reported) void ctx.events.record(cluster, 'Warning', ConditionReason.NamespaceConflict, message);
}
