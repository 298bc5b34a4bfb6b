import { tryCompileSelector, type Labels } from '../labels/selector.ts';
import { clusterChangeTriggersFanOut } from '../placement/target-dependencies.ts';
import type { SelectorMatchPool } from '../runtime/pool/index.ts';
import { objectKey } from '../runtime/kube/resource.ts';
import type { Logger } from '../observability/logger.ts';
import { predicates } from '../runtime/informer/event-handlers.ts';
import { Emitter, objectEvents, type EventSource, type ObjectEvent } from '../runtime/watches.ts';
import { bundleDependencies, Index, PlacementContext, type BundleObject, type ClusterGroupObject, type ClusterObject } from './placement-context.ts';
import type { KubeObject } from '../runtime/kube/resource.ts';

/**
 * The selector index the fan-out files selectors in and asks: the pool
 * (workers hold replicas) in production, any index with the same answers in
 * unit tests.
 */
export type FanOutIndex = Pick<SelectorMatchPool, 'upsertSelector' | 'removeSelector' | 'selectorsChangedBetween'>;

const GROUP_PREFIX = 'group\u0000';
const BUNDLE_SEPARATOR = '\u0000';

/** The Bundles and ClusterGroups one Cluster change may concern. */
export interface FanOutTargets {
  readonly workspace: string;
  readonly bundles: ReadonlySet<string>;
  readonly groups: ReadonlySet<string>;
}

/**
 * Finds the Bundles (and ClusterGroups) a Cluster change may affect, through
 * the selector index replicated into the pool's workers: every
 * `clusterSelector` of every Bundle target (as `bundleDependencies` lists
 * them) and every ClusterGroup's member selector is registered there, per
 * workspace, and a Cluster label change asks which of them flip. Nothing
 * re-matches every Bundle on the main thread; small workspaces are answered
 * inline by the pool's fast path.
 *
 * It is an event source: controllers watch it for the keys it finds. Only
 * the Cluster changes `clusterChangeTriggersFanOut` admits start one (never
 * a status heartbeat), plus a deployment namespace appearing or going.
 */
export class ClusterFanOut implements EventSource<FanOutTargets> {
  readonly #ctx: PlacementContext;
  readonly #pool: FanOutIndex;
  readonly #log: Logger;
  readonly #targets = new Emitter<FanOutTargets>();
  /** Selector ids registered per Bundle, to drop stale ones when targets change. */
  readonly #registered = new Map<string, string[]>();

  constructor(ctx: PlacementContext, pool: FanOutIndex, log: Logger) {
    this.#ctx = ctx;
    this.#pool = pool;
    this.#log = log;
    // Subscribed before any controller's watches, so the selector index is
    // current when their reconciles run.
    objectEvents(ctx.bundles).subscribe((e) => this.#onBundle(e));
    objectEvents(ctx.clusterGroups).subscribe((e) => this.#onGroup(e));
    objectEvents(ctx.clusters).subscribe((e) => this.#onCluster(e));
    objectEvents(ctx.namespaces).subscribe((e) => this.#onNamespace(e));
  }

  subscribe(listener: (targets: FanOutTargets) => void): void {
    this.#targets.subscribe(listener);
  }

  #onBundle(e: ObjectEvent<BundleObject>): void {
    if (e.type === 'deleted') return this.#bundleDeleted(e.obj);
    // Targets are spec: they change with the generation only.
    if (e.type === 'added' || (!e.resync && predicates.generationChanged(e.old, e.obj))) this.#bundleChanged(e.obj);
  }

  #onGroup(e: ObjectEvent<ClusterGroupObject>): void {
    if (e.type === 'deleted') {
      this.#pool.removeSelector(GROUP_PREFIX + objectKey(e.obj));
      return;
    }
    if (e.type === 'updated' && (e.resync || !predicates.generationChanged(e.old, e.obj))) return;
    const id = GROUP_PREFIX + objectKey(e.obj);
    // A group whose selector does not compile has no members (its status says
    // why): nothing of it belongs in the index.
    const members = tryCompileSelector(e.obj.spec?.selector ?? null);
    if (members.ok) this.#pool.upsertSelector(id, e.obj.metadata.namespace ?? '', members.selector);
    else this.#pool.removeSelector(id);
  }

  #onCluster(e: ObjectEvent<ClusterObject>): void {
    const labels = (c: ClusterObject): Labels => c.metadata.labels ?? {};
    switch (e.type) {
      case 'added':
        if (!e.initialList) this.#fanOut(e.obj, null, labels(e.obj));
        return;
      case 'deleted':
        return this.#fanOut(e.obj, labels(e.obj), null);
      case 'updated':
        if (e.resync || !clusterChangeTriggersFanOut(e.old, e.obj)) return;
        if (predicates.deletionStarted(e.old, e.obj)) return this.#fanOut(e.obj, labels(e.old), null);
        if (predicates.labelsChanged(e.old, e.obj)) return this.#fanOut(e.obj, labels(e.old), labels(e.obj));
        // spec (paused) or the deployment namespace: every Bundle placing it looks again.
        return this.#fanOut(e.obj, null, labels(e.obj));
    }
  }

  /** A deployment namespace appeared or went: the Bundles that target its Cluster look again. */
  #onNamespace(e: ObjectEvent<KubeObject>): void {
    const clusterKey = PlacementContext.clusterKeyOfDeploymentNamespace(e.obj);
    if (!clusterKey) return;
    const cluster = this.#ctx.clusters.store.get(clusterKey);
    if (!cluster) return;
    const labels = cluster.metadata.labels ?? {};
    if (e.type === 'added' && !e.initialList) this.#fanOut(cluster, null, labels);
    else if (e.type === 'deleted' || (e.type === 'updated' && !e.resync && predicates.deletionStarted(e.old, e.obj))) this.#fanOut(cluster, labels, null);
  }

  #bundleChanged(bundle: BundleObject): void {
    const key = objectKey(bundle);
    const workspace = bundle.metadata.namespace ?? '';
    const ids: string[] = [];
    for (const dep of bundleDependencies(bundle).clusterSelectors) {
      const id = `${key}${BUNDLE_SEPARATOR}${dep.field}`;
      this.#pool.upsertSelector(id, workspace, dep.selector);
      ids.push(id);
    }
    for (const stale of this.#registered.get(key) ?? []) if (!ids.includes(stale)) this.#pool.removeSelector(stale);
    if (ids.length > 0) this.#registered.set(key, ids);
    else this.#registered.delete(key);
  }

  #bundleDeleted(bundle: BundleObject): void {
    const key = objectKey(bundle);
    for (const id of this.#registered.get(key) ?? []) this.#pool.removeSelector(id);
    this.#registered.delete(key);
  }

  #fanOut(cluster: ClusterObject, before: Labels | null, after: Labels | null): void {
    const workspace = cluster.metadata.namespace ?? '';
    void this.affected(workspace, cluster.metadata.name, before, after).then((targets) => this.#targets.emit(targets));
  }

  /**
   * Bundles and groups whose result may differ between `before` and `after`
   * (either may be null: the Cluster appeared or went away).
   */
  async affected(workspace: string, clusterName: string, before: Labels | null, after: Labels | null): Promise<FanOutTargets> {
    const bundles = new Set<string>();
    const groups = new Set<string>();
    const out = { workspace, bundles, groups };
    let ids: string[];
    try {
      ids = await this.#pool.selectorsChangedBetween(workspace, before, after);
    } catch (err) {
      // Never lose a fan-out: without an answer, every Bundle and group of
      // the workspace is a candidate.
      this.#log.warn({ err, workspace }, 'selector index query failed; fanning out to the whole workspace');
      for (const key of this.#ctx.bundles.store.indexKeys(Index.namespace, workspace)) bundles.add(key);
      for (const key of this.#ctx.clusterGroups.store.indexKeys(Index.namespace, workspace)) groups.add(key);
      return out;
    }
    for (const id of ids) {
      if (id.startsWith(GROUP_PREFIX)) {
        const groupKey = id.slice(GROUP_PREFIX.length);
        groups.add(groupKey);
        for (const b of this.#ctx.bundles.store.indexKeys(Index.bundleGroupRef, groupKey)) bundles.add(b);
        // Group selectors pick groups by the group's own labels; a member
        // change of any group can matter to them.
        for (const b of this.#ctx.bundles.store.indexKeys(Index.bundleGroupSelector, workspace)) bundles.add(b);
      } else {
        bundles.add(id.slice(0, id.indexOf(BUNDLE_SEPARATOR)));
      }
    }
    // `clusterName` criteria flip only when the Cluster appears or goes.
    if (before === null || after === null) {
      for (const b of this.#ctx.bundles.store.indexKeys(Index.bundleClusterRef, `${workspace}/${clusterName}`)) bundles.add(b);
    }
    return out;
  }
}
