import { Kind } from '../api/constants.ts';
import type { Labels } from '../labels/selector.ts';
import type { Controller, EnqueueOptions } from '../runtime/actors/index.ts';
import { predicates } from '../runtime/informer/event-handlers.ts';
import type { Store } from '../runtime/informer/store.ts';
import { objectKey, type KubeObject } from '../runtime/kube/resource.ts';
import type { Manager } from '../runtime/manager.ts';
import { BundleReconciler } from './bundle-controller.ts';
import { ClusterReconciler } from './cluster-controller.ts';
import { ClusterGroupReconciler } from './clustergroup-controller.ts';
import { ContentReconciler } from './content-controller.ts';
import { recordStalled } from './dead-letter.ts';
import { ClusterFanOut } from './fan-out.ts';
import { ForbiddenReporter } from './forbidden.ts';
import { desiredContentName, Index, PlacementContext, type BundleDeploymentObject } from './placement-context.ts';
import { WorkspaceSet } from './workspaces.ts';
import type { WrittenKind } from './writer.ts';
import { registeredGauge } from '../observability/metrics.ts';
import { registerInvalidObjectsGauge } from './invalid-objects.ts';

const initial: EnqueueOptions = { priority: 'low', reason: 'initial' };
const resync: EnqueueOptions = { priority: 'low', reason: 'resync' };
const change: EnqueueOptions = { priority: 'high', reason: 'change' };
const dependency: EnqueueOptions = { priority: 'high', reason: 'dependency' };
/** A consequence of our own write (its follow-up work is bookkeeping: summaries). */
const ownEcho: EnqueueOptions = { priority: 'low', reason: 'dependency' };
const CLUSTER_STATUS_COALESCE_MS = 1000;

/**
 * Registers the placement controllers (Cluster, ClusterGroup, Bundle,
 * Content) and wires informer events to the keys they must reconcile:
 * objects from the initial LIST and resyncs go to the low-priority lane,
 * user changes to the high one; our own status writes trigger nothing,
 * someone else's change of a status we own brings ours back.
 */
export function registerControllers(manager: Manager): PlacementContext {
  const ctx = new PlacementContext(manager);
  const fanOut = new ClusterFanOut(ctx, manager.pool, manager.log.child({ component: 'fan-out' }));
  const clusterR = new ClusterReconciler(ctx);
  const groupR = new ClusterGroupReconciler(ctx);
  const bundleR = new BundleReconciler(ctx);
  const contentR = new ContentReconciler(ctx);
  const forbidden = new ForbiddenReporter(ctx);
  const workspaceSet = new WorkspaceSet(
    ctx.workspaces,
    registeredGauge(manager.registry, { name: 'flotilla_workspaces', help: 'Namespaces that are onboarded workspaces now.' }),
    manager.log.child({ component: 'workspaces' }),
  );

  const clusters = manager.controller({
    name: 'cluster',
    reconcile: forbidden.wrap('Cluster', ctx.clusters.store as unknown as Store<KubeObject>, (rc) => clusterR.reconcile(rc)),
    onDeadLetter: recordStalled(ctx, Kind.Cluster, ctx.clusters.store as unknown as Store<KubeObject>),
  });
  const groups = manager.controller({
    name: 'clustergroup',
    reconcile: forbidden.wrap('ClusterGroup', ctx.clusterGroups.store as unknown as Store<KubeObject>, (rc) => groupR.reconcile(rc)),
    onDeadLetter: recordStalled(ctx, Kind.ClusterGroup, ctx.clusterGroups.store as unknown as Store<KubeObject>),
  });
  const bundles = manager.controller({
    name: 'bundle',
    reconcile: forbidden.wrap('Bundle', ctx.bundles.store as unknown as Store<KubeObject>, (rc) => bundleR.reconcile(rc)),
    onDeadLetter: recordStalled(ctx, Kind.Bundle, ctx.bundles.store as unknown as Store<KubeObject>),
  });
  const contents = manager.controller({ name: 'content', reconcile: (rc) => contentR.reconcile(rc) });
  registerInvalidObjectsGauge(manager.registry, {
    Bundle: ctx.bundles.store as unknown as Store<KubeObject>,
    ClusterGroup: ctx.clusterGroups.store as unknown as Store<KubeObject>,
  });

  const enqueueAll = (target: Controller, keys: Iterable<string>, opts: EnqueueOptions): void => {
    for (const key of keys) target.enqueue(key, opts);
  };
  /**
   * Someone else changed a status we own (status-only writes do not bump
   * the generation, so the predicates above miss them): reconcile to put
   * ours back. Our own status writes echoing back through the watch are
   * recognised by resourceVersion and trigger nothing.
   */
  const foreignStatusChange = (kind: Kind, old: KubeObject, obj: KubeObject): boolean =>
    predicates.statusChanged(old, obj) && !ctx.writer.isOwnWrite(kind, objectKey(obj), obj.metadata.resourceVersion);
  const fanOutFromCluster = (workspace: string, name: string, before: Labels | null, after: Labels | null): void => {
    void fanOut.affected(workspace, name, before, after).then(({ bundles: b, groups: g }) => {
      enqueueAll(bundles, b, dependency);
      enqueueAll(groups, g, dependency);
    });
  };
  /** Onboarding (a namespace became a workspace) or offboarding: look at everything in it again. */
  const enqueueWorkspace = (workspace: string): void => {
    enqueueAll(clusters, ctx.clusters.store.indexKeys(Index.namespace, workspace), dependency);
    enqueueAll(groups, ctx.clusterGroups.store.indexKeys(Index.namespace, workspace), dependency);
    enqueueAll(bundles, ctx.bundles.store.indexKeys(Index.namespace, workspace), dependency);
  };

  // A deletion the informer sees supersedes our earlier writes of that object
  // (RecentWrites.observedDeleted): registered first, so the memory is
  // corrected before any handler below enqueues a reconcile that reads it.
  const forgetDeleted = <T extends KubeObject>(kind: WrittenKind, store: Store<T>): void => {
    store.addHandler({ onDelete: (obj) => ctx.writer.observedDelete(kind, obj) });
  };
  forgetDeleted(Kind.Cluster, ctx.clusters.store);
  forgetDeleted(Kind.ClusterGroup, ctx.clusterGroups.store);
  forgetDeleted(Kind.Bundle, ctx.bundles.store);
  forgetDeleted(Kind.BundleDeployment, ctx.bundleDeployments.store);
  forgetDeleted(Kind.Content, ctx.contents.store);
  forgetDeleted('Namespace', ctx.namespaces.store);

  ctx.clusters.store.addHandler({
    onAdd: (c, initialList) => {
      clusters.enqueue(objectKey(c), initialList ? initial : change);
      enqueueAll(groups, ctx.clusterGroups.store.indexKeys(Index.namespace, c.metadata.namespace ?? ''), initialList ? initial : dependency);
      if (!initialList) fanOutFromCluster(c.metadata.namespace ?? '', c.metadata.name, null, c.metadata.labels ?? {});
    },
    onUpdate: (old, c, isResync) => {
      const key = objectKey(c);
      if (isResync) return clusters.enqueue(key, resync);
      const ws = c.metadata.namespace ?? '';
      const labelsChanged = predicates.labelsChanged(old, c);
      const deleting = predicates.deletionStarted(old, c);
      if (labelsChanged || deleting || predicates.generationChanged(old, c) || predicates.finalizersChanged(old, c) || foreignStatusChange(Kind.Cluster, old, c)) {
        clusters.enqueue(key, change);
      }
      if (deleting) fanOutFromCluster(ws, c.metadata.name, old.metadata.labels ?? {}, null);
      else if (labelsChanged) fanOutFromCluster(ws, c.metadata.name, old.metadata.labels ?? {}, c.metadata.labels ?? {});
      else if (predicates.generationChanged(old, c)) fanOutFromCluster(ws, c.metadata.name, null, c.metadata.labels ?? {}); // spec.paused
    },
    onDelete: (c) => {
      clusters.enqueue(objectKey(c), change);
      fanOutFromCluster(c.metadata.namespace ?? '', c.metadata.name, c.metadata.labels ?? {}, null);
    },
  });

  ctx.clusterGroups.store.addHandler({
    onAdd: (g, initialList) => {
      fanOut.groupChanged(g);
      groups.enqueue(objectKey(g), initialList ? initial : change);
      if (!initialList) enqueueGroupUsers(objectKey(g), g.metadata.namespace ?? '');
    },
    onUpdate: (old, g, isResync) => {
      if (isResync) return groups.enqueue(objectKey(g), resync);
      if (!predicates.generationChanged(old, g) && !predicates.labelsChanged(old, g) && !predicates.deletionStarted(old, g)) {
        if (foreignStatusChange(Kind.ClusterGroup, old, g)) groups.enqueue(objectKey(g), change);
        return;
      }
      fanOut.groupChanged(g);
      groups.enqueue(objectKey(g), change);
      enqueueGroupUsers(objectKey(g), g.metadata.namespace ?? '');
    },
    onDelete: (g) => {
      fanOut.groupDeleted(g);
      groups.enqueue(objectKey(g), change);
      enqueueGroupUsers(objectKey(g), g.metadata.namespace ?? '');
    },
  });
  function enqueueGroupUsers(groupKey: string, workspace: string): void {
    enqueueAll(bundles, ctx.bundles.store.indexKeys(Index.bundleGroupRef, groupKey), dependency);
    enqueueAll(bundles, ctx.bundles.store.indexKeys(Index.bundleGroupSelector, workspace), dependency);
  }

  ctx.bundles.store.addHandler({
    onAdd: (b, initialList) => {
      fanOut.bundleChanged(b);
      bundles.enqueue(objectKey(b), initialList ? initial : change);
    },
    onUpdate: (old, b, isResync) => {
      if (isResync) return bundles.enqueue(objectKey(b), resync);
      if (!predicates.generationChanged(old, b) && !predicates.deletionStarted(old, b) && !predicates.finalizersChanged(old, b)) {
        if (foreignStatusChange(Kind.Bundle, old, b)) bundles.enqueue(objectKey(b), change);
        return;
      }
      fanOut.bundleChanged(b);
      bundles.enqueue(objectKey(b), change);
      const before = desiredContentName(old);
      if (before && before !== desiredContentName(b)) contents.enqueue(before, dependency);
    },
    onDelete: (b) => {
      fanOut.bundleDeleted(b);
      bundles.enqueue(objectKey(b), change);
      const name = desiredContentName(b);
      if (name) contents.enqueue(name, dependency);
    },
  });

  const bdOwners = (bd: BundleDeploymentObject, opts: EnqueueOptions): void => {
    const l = bd.metadata.labels ?? {};
    if (l['flotilla.dev/bundle-name']) bundles.enqueue(`${l['flotilla.dev/bundle-namespace']}/${l['flotilla.dev/bundle-name']}`, opts);
    // A Cluster's counts change with every one of its BundleDeployments; a
    // short delay lets a fan-out's events coalesce into one status write a
    // second instead of one per BundleDeployment.
    if (l['flotilla.dev/cluster-name']) {
      clusters.enqueue(`${l['flotilla.dev/cluster-namespace']}/${l['flotilla.dev/cluster-name']}`, { ...opts, delayMs: CLUSTER_STATUS_COALESCE_MS });
    }
  };
  ctx.bundleDeployments.store.addHandler({
    onAdd: (bd, initialList) => {
      // The echo of our own create: the Bundle that wrote it only has its
      // summary left to do, which must not delay other Bundles' writes.
      if (!initialList) return bdOwners(bd, ctx.writer.isOwnWrite(Kind.BundleDeployment, objectKey(bd), bd.metadata.resourceVersion) ? ownEcho : dependency);
      // At start-up every Bundle is enqueued from its own list, but a
      // BundleDeployment whose Bundle is gone (its finalizer removed by hand,
      // or a write of a killed replica that landed after the cleanup) is
      // reachable only through that Bundle's key: enqueue it, or the orphan
      // outlives its Bundle forever. Keys of cached Bundles need nothing more.
      const l = bd.metadata.labels ?? {};
      const owner = l['flotilla.dev/bundle-name'] ? `${l['flotilla.dev/bundle-namespace']}/${l['flotilla.dev/bundle-name']}` : undefined;
      if (owner !== undefined && ctx.bundles.store.get(owner) === undefined) bundles.enqueue(owner, initial);
    },
    onUpdate: (old, bd, isResync) => {
      if (isResync) return;
      bdOwners(bd, dependency);
      if (old.spec?.contentName && old.spec.contentName !== bd.spec?.contentName) contents.enqueue(old.spec.contentName, dependency);
    },
    onDelete: (bd) => {
      bdOwners(bd, dependency);
      if (bd.spec?.contentName) contents.enqueue(bd.spec.contentName, dependency);
    },
  });

  ctx.contents.store.addHandler({
    onAdd: (c, initialList) => contents.enqueue(objectKey(c), initialList ? initial : change),
    onUpdate: (_old, c, isResync) => contents.enqueue(objectKey(c), isResync ? resync : change),
    onDelete: (c) => enqueueAll(bundles, ctx.bundles.store.indexKeys(Index.bundleContent, objectKey(c)), dependency),
  });

  ctx.namespaces.store.addHandler({
    onAdd: (ns, initialList) => {
      const clusterKey = PlacementContext.clusterKeyOfDeploymentNamespace(ns);
      if (initialList) {
        if (!clusterKey) workspaceSet.observe(ns, { initial: true });
        return; // every object in it is listed and enqueued anyway
      }
      if (clusterKey) return deploymentNamespaceChanged(clusterKey, true);
      if (workspaceSet.observe(ns)) enqueueWorkspace(ns.metadata.name ?? '');
    },
    onUpdate: (old, ns, isResync) => {
      if (isResync) return;
      const clusterKey = PlacementContext.clusterKeyOfDeploymentNamespace(ns);
      if (clusterKey) {
        if (predicates.deletionStarted(old, ns)) deploymentNamespaceChanged(clusterKey, false);
        return;
      }
      if (workspaceSet.observe(ns) || ctx.workspaces.isWorkspace(old) !== ctx.workspaces.isWorkspace(ns)) enqueueWorkspace(ns.metadata.name ?? '');
    },
    onDelete: (ns) => {
      const clusterKey = PlacementContext.clusterKeyOfDeploymentNamespace(ns);
      if (clusterKey) deploymentNamespaceChanged(clusterKey, false);
      else workspaceSet.forget(ns.metadata.name ?? '');
    },
  });
  /** A deployment namespace appeared or went: its Cluster, and the Bundles that target it, look again. */
  function deploymentNamespaceChanged(clusterKey: string, added: boolean): void {
    clusters.enqueue(clusterKey, dependency);
    const cluster = ctx.clusters.store.get(clusterKey);
    if (cluster) fanOutFromCluster(cluster.metadata.namespace ?? '', cluster.metadata.name, added ? null : cluster.metadata.labels ?? {}, added ? cluster.metadata.labels ?? {} : null);
  }

  manager.onConfigChange((changeEvent) => {
    if (!changeEvent.changed.some((field) => field.startsWith('workspaces.'))) return;
    ctx.workspaces.update(changeEvent.next.workspaces);
    const namespaces = ctx.namespaces.store.list().filter((ns) => !PlacementContext.clusterKeyOfDeploymentNamespace(ns));
    const { onboarded, offboarded } = workspaceSet.recompute(namespaces);
    manager.log.info({ mode: changeEvent.next.workspaces.mode, onboarded, offboarded }, 'workspace set changed');
    for (const name of [...onboarded, ...offboarded]) enqueueWorkspace(name);
  });

  return ctx;
}
