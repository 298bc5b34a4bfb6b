import { ConditionReason, ConditionType, Kind } from '../api/constants.ts';
import type { ClusterGroupStatus } from '../api/cluster-group.ts';
import { tryCompileSelector } from '../labels/selector.ts';
import { setConditions } from '../placement/conditions.ts';
import { statusEqual } from '../placement/summary.ts';
import type { ReconcileContext } from '../runtime/actors/index.ts';
import { splitKey, type KubeObject } from '../runtime/kube/resource.ts';
import { predicates } from '../runtime/informer/event-handlers.ts';
import type { Store } from '../runtime/informer/store.ts';
import { forObjects, Lane, objectEvents, requests, watch, type ObjectEvent } from '../runtime/watches.ts';
import type { PlacementController, PlacementSources } from './controller-definition.ts';
import type { FanOutTargets } from './fan-out.ts';
import { Index, type ClusterObject, type PlacementContext } from './placement-context.ts';
import type { WorkspaceChange } from './workspace-events.ts';
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

/** The ClusterGroup controller: its groups, Clusters joining the workspace or changing membership, and workspace changes. */
export function clusterGroupController(ctx: PlacementContext, sources: PlacementSources): PlacementController {
  const reconciler = new ClusterGroupReconciler(ctx);
  const store = ctx.clusterGroups.store;
  return {
    name: 'clustergroup',
    reconcile: (rc) => reconciler.reconcile(rc),
    reportsOn: { kind: Kind.ClusterGroup, store: store as unknown as Store<KubeObject> },
    watches: [
      forObjects(
        ctx.clusterGroups,
        (old, g) =>
          predicates.generationChanged(old, g) ||
          predicates.labelsChanged(old, g) ||
          predicates.deletionStarted(old, g) ||
          ctx.writer.isForeignStatusChange(Kind.ClusterGroup, old, g),
      ),
      // A new Cluster may join any group of its workspace; label changes come through the fan-out.
      watch(objectEvents(ctx.clusters), (e: ObjectEvent<ClusterObject>) =>
        e.type === 'added' ? requests(store.indexKeys(Index.namespace, e.obj.metadata.namespace ?? ''), e.initialList ? Lane.initial : Lane.dependency) : undefined,
      ),
      watch(sources.fanOut, ({ groups }: FanOutTargets) => requests(groups, Lane.dependency)),
      watch(sources.workspaceChanges, ({ workspace }: WorkspaceChange) => requests(store.indexKeys(Index.namespace, workspace), Lane.dependency)),
    ],
  };
}
