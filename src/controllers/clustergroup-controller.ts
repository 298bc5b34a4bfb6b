import { ConditionReason, ConditionType, Kind } from '../api/constants.ts';
import type { ClusterGroupStatus } from '../api/cluster-group.ts';
import { tryCompileSelector } from '../labels/selector.ts';
import { setConditions } from '../placement/conditions.ts';
import { statusEqual } from '../placement/summary.ts';
import type { ReconcileContext } from '../runtime/actors/index.ts';
import { splitKey, type KubeObject } from '../runtime/kube/resource.ts';
import { Index, type PlacementContext } from './placement-context.ts';
import { withoutStalled } from './dead-letter.ts';

/** ClusterGroup: derives membership (never stored as truth) and reports its size. */
export class ClusterGroupReconciler {
  readonly #ctx: PlacementContext;

  constructor(ctx: PlacementContext) {
    this.#ctx = ctx;
  }

  async reconcile(rc: ReconcileContext): Promise<void> {
    const ctx = this.#ctx;
    const group = ctx.writer.fresher(Kind.ClusterGroup, rc.key, ctx.clusterGroups.store.get(rc.key));
    if (!group || group.metadata.deletionTimestamp || !ctx.isWorkspace(group.metadata.namespace)) return;
    const compiled = tryCompileSelector(group.spec?.selector ?? null, { path: 'spec.selector' });
    let count = 0;
    let condition: { status: 'True' | 'False'; reason: string; message: string };
    if (!compiled.ok) {
      condition = { status: 'False', reason: 'InvalidSelector', message: compiled.errors.map((e) => `${e.path}: ${e.message}`).join('; ') };
    } else {
      for (const cluster of ctx.clusters.store.byIndex(Index.namespace, group.metadata.namespace ?? '')) {
        if (!cluster.metadata.deletionTimestamp && compiled.selector.matches(cluster.metadata.labels ?? {})) count++;
      }
      condition =
        count > 0
          ? { status: 'True', reason: ConditionReason.Ready, message: `${count} cluster(s) match` }
          : { status: 'False', reason: ConditionReason.NoClusters, message: 'no Cluster of this workspace matches spec.selector' };
    }
    const status: ClusterGroupStatus = {
      ...(group.metadata.generation !== undefined ? { observedGeneration: group.metadata.generation } : {}),
      clusterCount: count,
      conditions: setConditions(withoutStalled(group.status)?.conditions, [
        { type: ConditionType.Ready, ...condition, observedGeneration: group.metadata.generation },
      ], new Date()),
    };
    if (statusEqual(status, group.status)) return;
    const { namespace, name } = splitKey(rc.key);
    await ctx.writer.applyStatus(Kind.ClusterGroup, { metadata: { name, namespace }, status } as KubeObject, 'StatusChanged', rc.signal);
  }
}
