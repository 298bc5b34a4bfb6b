import { ConditionReason, ConditionType, Kind } from '../api/constants.ts';
import type { ClusterGroupStatus } from '../api/cluster-group.ts';
import { tryCompileSelector } from '../labels/selector.ts';
import { setConditions } from '../placement/conditions.ts';
import { summarizeClusterGroupMembers } from '../placement/cluster-group-summary.ts';
import { displayStatus } from '../placement/display-status.ts';
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

/**
 * ClusterGroup: derives membership (never stored as truth) and reports its
 * size and, for `kubectl get clustergroups`, how many members are ready and
 * the worst member state (placement/cluster-group-summary.ts).
 */
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
    const members: ClusterObject[] = [];
    let condition: { status: 'True' | 'False'; reason: string; message: string };
    if (!compiled.ok) {
      condition = { status: 'False', reason: 'InvalidSelector', message: compiled.errors.map((e) => `${e.path}: ${e.message}`).join('; ') };
    } else {
      for (const cluster of ctx.clusters.store.byIndex(Index.namespace, group.metadata.namespace ?? '')) {
        if (!cluster.metadata.deletionTimestamp && compiled.selector.matches(cluster.metadata.labels ?? {})) members.push(cluster);
      }
      const count = members.length;
      condition =
        count > 0
          ? { status: 'True', reason: ConditionReason.Ready, message: `${count} cluster(s) match` }
          : { status: 'False', reason: ConditionReason.NoClusters, message: 'no Cluster of this workspace matches spec.selector' };
    }
    const conditions = setConditions(withoutStalled(group.status)?.conditions, [
      { type: ConditionType.Ready, ...condition, observedGeneration: group.metadata.generation },
    ], new Date());
    const display = summarizeClusterGroupMembers(members);
    const shown = displayStatus({ conditions, worst: display.state });
    const status: ClusterGroupStatus = {
      ...(group.metadata.generation !== undefined ? { observedGeneration: group.metadata.generation } : {}),
      clusterCount: members.length,
      conditions,
      display: shown === undefined ? display : { ...display, status: shown },
    };
    if (statusEqual(status, group.status)) return;
    const { namespace, name } = splitKey(rc.key);
    await ctx.writer.applyStatus(Kind.ClusterGroup, { metadata: { name, namespace }, status } as KubeObject, 'StatusChanged', rc.signal);
  }
}

/** Members' status changes within this window make one group reconcile. */
const MEMBER_CHANGES_COALESCE_MS = 1000;

/** Whether what a group shows about a member (ready or not, its worst state) changed. */
function memberDisplayChanged(old: ClusterObject, next: ClusterObject): boolean {
  const readyOf = (c: ClusterObject) => (c.status?.summary?.ready ?? 0) >= (c.status?.summary?.desiredReady ?? 0);
  return readyOf(old) !== readyOf(next) || old.status?.display?.state !== next.status?.display?.state;
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
      // A new Cluster may join any group of its workspace; label changes come
      // through the fan-out. A Cluster's readiness or worst state changing
      // (its status, coalesced to a write a second) changes READY/STATUS of
      // the groups it may belong to: the workspace's groups are few, and a
      // group writes only when its status differs.
      watch(objectEvents(ctx.clusters), (e: ObjectEvent<ClusterObject>) => {
        const groups = () => store.indexKeys(Index.namespace, e.obj.metadata.namespace ?? '');
        if (e.type === 'added') return requests(groups(), e.initialList ? Lane.initial : Lane.dependency);
        if (e.type === 'deleted') return requests(groups(), Lane.dependency);
        if (e.resync || !memberDisplayChanged(e.old, e.obj)) return undefined;
        return requests(groups(), { ...Lane.dependency, delayMs: MEMBER_CHANGES_COALESCE_MS });
      }),
      watch(sources.fanOut, ({ groups }: FanOutTargets) => requests(groups, Lane.dependency)),
      watch(sources.workspaceChanges, ({ workspace }: WorkspaceChange) => requests(store.indexKeys(Index.namespace, workspace), Lane.dependency)),
    ],
  };
}
