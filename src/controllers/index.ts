import { Kind } from '../api/constants.ts';
import { registeredGauge } from '../observability/metrics.ts';
import type { Store } from '../runtime/informer/store.ts';
import type { KubeObject } from '../runtime/kube/resource.ts';
import type { Manager } from '../runtime/manager.ts';
import { objectEvents } from '../runtime/watches.ts';
import { bundleController } from './bundle-controller.ts';
import { clusterController } from './cluster-controller.ts';
import { clusterGroupController } from './clustergroup-controller.ts';
import { contentController } from './content-controller.ts';
import type { PlacementSources } from './controller-definition.ts';
import { recordStalled } from './dead-letter.ts';
import { ClusterFanOut } from './fan-out.ts';
import { ForbiddenReporter } from './forbidden.ts';
import { registerInvalidObjectsGauge } from './invalid-objects.ts';
import { PlacementContext, type Cache } from './placement-context.ts';
import { PlacementPlanner, registerPlanner } from './placement-planner.ts';
import { WorkspaceEvents } from './workspace-events.ts';
import { WorkspaceSet } from './workspaces.ts';
import type { WrittenKind } from './writer.ts';
import { componentLogger } from '../observability/logger.ts';

/**
 * Assembles the placement controllers (Cluster, ClusterGroup, Bundle,
 * Content) on a Manager: the shared context and event sources, then each
 * controller as it declares itself (its reconciler and its watches; see
 * `runtime/watches.ts`). A new controller is one file with a
 * `xxxController(ctx, sources)` and one line here.
 */
export function registerControllers(manager: Manager): PlacementContext {
  const ctx = PlacementContext.fromManager(manager);

  // A deletion the informer sees supersedes our earlier writes of that
  // object (RecentWrites.observedDeleted): subscribed first, so the memory
  // is corrected before any watch below enqueues a reconcile that reads it.
  // An add or update at (or past) our written version means the cache has
  // caught up: the overlay entry goes once this event's handlers have run
  // (RecentWrites.observed), so the overlay holds the watch lag only.
  const followCache = <T extends KubeObject>(kind: WrittenKind, cache: Cache<T>): void =>
    objectEvents(cache).subscribe((e) => {
      if (e.type === 'deleted') ctx.writer.observedDelete(kind, e.obj);
      else if (e.type === 'added' || !e.resync) ctx.writer.observed(kind, e.obj);
    });
  followCache(Kind.Cluster, ctx.clusters);
  followCache(Kind.ClusterGroup, ctx.clusterGroups);
  followCache(Kind.Bundle, ctx.bundles);
  followCache(Kind.BundleDeployment, ctx.bundleDeployments);
  followCache(Kind.Content, ctx.contents);
  followCache('Namespace', ctx.namespaces);

  // The placement records follow the caches (after the forgetting above) and our writes;
  // large workspaces are planned in the pool's workers against replicas of them.
  const planner = new PlacementPlanner(ctx, { pool: manager.pool, threshold: manager.config.concurrency.poolPlacementThreshold, registry: manager.registry });
  registerPlanner(ctx, planner);
  manager.onConfigChange((change) => {
    if (change.changed.includes('concurrency.poolPlacementThreshold')) planner.threshold = change.next.concurrency.poolPlacementThreshold;
  });

  const workspaceSet = new WorkspaceSet(
    ctx.workspaces,
    registeredGauge(manager.registry, { name: 'flotilla_workspaces', help: 'Namespaces that are onboarded workspaces now.' }),
    componentLogger(manager.log, 'workspaces'),
  );
  const sources: PlacementSources = {
    fanOut: new ClusterFanOut(ctx, manager.pool, componentLogger(manager.log, 'fan-out')),
    workspaceChanges: new WorkspaceEvents(ctx, workspaceSet, (listener) => manager.onConfigChange(listener), manager.log),
  };

  const forbidden = new ForbiddenReporter(ctx);
  for (const definition of [clusterController(ctx, sources), clusterGroupController(ctx, sources), bundleController(ctx, sources), contentController(ctx)]) {
    const reports = definition.reportsOn;
    manager.register({
      name: definition.name,
      reconcile: reports ? forbidden.wrap(reports.kind, reports.store, definition.reconcile) : definition.reconcile,
      ...(reports ? { onDeadLetter: recordStalled(ctx, reports.kind, reports.store) } : {}),
      watches: definition.watches,
    });
  }
  registerInvalidObjectsGauge(manager.registry, {
    Bundle: ctx.bundles.store as unknown as Store<KubeObject>,
    Cluster: ctx.clusters.store as unknown as Store<KubeObject>,
    ClusterGroup: ctx.clusterGroups.store as unknown as Store<KubeObject>,
  });
  return ctx;
}
