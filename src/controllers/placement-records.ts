/**
 * Keeps the placement records (placement/placement-plan.ts) equal to what a
 * Bundle reconcile reads: the Clusters and ClusterGroups in the caches, each
 * Cluster's deployment-namespace readiness, and every BundleDeployment as
 * `Writer.fresher` shows it (the cache with our not-yet-cached writes on
 * top). The records live in the selector pool's delta log, so every worker
 * replica follows them by sequence number.
 *
 * Consistency: every update happens synchronously in the store handler or
 * right after the Writer remembers a write, i.e. before any reconcile can
 * read the new state. A task dispatched afterwards requires the sequence
 * current at dispatch, so its replica is at least as new as the caches and
 * recent writes the reconcile saw: a BundleDeployment written a moment ago
 * is never planned again (no repeated write).
 *
 * Only the owned fields of a BundleDeployment are recorded: status updates
 * by the agent (most of the traffic) change no record and cost no delta.
 */
import { Kind } from '../api/constants.ts';
import { owningBundleKey, OWNED_LABEL_KEYS } from '../placement/bundle-deployments.ts';
import { deploymentNamespaceFor } from '../placement/deployment-namespace.ts';
import {
  PlacementTable,
  type BundleDeploymentRecord,
  type ClusterGroupRecord,
  type ClusterRecord,
} from '../placement/placement-plan.ts';
import { objectKey } from '../runtime/kube/resource.ts';
import { objectEvents } from '../runtime/watches.ts';
import { Index, PlacementContext, type BundleDeploymentObject, type ClusterGroupObject, type ClusterObject } from './placement-context.ts';

/** Where the records go: the selector pool (replicated), or a plain `RecordStore`. */
export interface RecordSink {
  upsert(table: string, key: string, partition: string, value: unknown): boolean;
  remove(table: string, key: string): boolean;
}

export class PlacementRecordsFeed {
  readonly #ctx: PlacementContext;
  readonly #sink: RecordSink;
  /** BundleDeployment key → the partition (Bundle key) its record is filed under. */
  readonly #bdPartition = new Map<string, string>();

  constructor(ctx: PlacementContext, sink: RecordSink) {
    this.#ctx = ctx;
    this.#sink = sink;
    // Whatever the caches hold already (in-memory stores in tests; informers are empty here).
    for (const c of ctx.clusters.store.values()) this.#cluster(objectKey(c));
    for (const g of ctx.clusterGroups.store.values()) this.#group(g);
    for (const bd of ctx.bundleDeployments.store.values()) this.#bundleDeployment(objectKey(bd));

    objectEvents(ctx.clusters).subscribe((e) => this.#cluster(objectKey(e.obj)));
    objectEvents(ctx.clusterGroups).subscribe((e) => (e.type === 'deleted' ? this.#sink.remove(PlacementTable.group, objectKey(e.obj)) : this.#group(e.obj)));
    objectEvents(ctx.namespaces).subscribe((e) => {
      // The delete supersedes our earlier writes of it (as registerControllers does; idempotent),
      // whichever of the two subscribers runs first.
      if (e.type === 'deleted') ctx.writer.observedDelete('Namespace', e.obj);
      this.#namespace(e.obj.metadata.name ?? '');
    });
    objectEvents(ctx.bundleDeployments).subscribe((e) => {
      if (e.type === 'deleted') ctx.writer.observedDelete(Kind.BundleDeployment, e.obj);
      this.#bundleDeployment(objectKey(e.obj));
    });
    ctx.writer.onWrite((kind, key) => {
      if (kind === Kind.BundleDeployment) this.#bundleDeployment(key);
      else if (kind === 'Namespace') this.#namespace(key);
    });
  }

  #cluster(key: string): void {
    const cluster = this.#ctx.clusters.store.get(key);
    if (!cluster) {
      this.#sink.remove(PlacementTable.cluster, key);
      return;
    }
    this.#sink.upsert(PlacementTable.cluster, key, cluster.metadata.namespace ?? '', clusterRecord(this.#ctx, cluster));
  }

  #namespace(name: string): void {
    for (const cluster of this.#ctx.clusters.store.byIndex(Index.clusterDeploymentNamespace, name)) this.#cluster(objectKey(cluster));
  }

  #group(group: ClusterGroupObject): void {
    const record: ClusterGroupRecord = { name: group.metadata.name ?? '', labels: group.metadata.labels ?? {}, selector: group.spec?.selector ?? null };
    this.#sink.upsert(PlacementTable.group, objectKey(group), group.metadata.namespace ?? '', record);
  }

  #bundleDeployment(key: string): void {
    const bd = this.#ctx.writer.fresher(Kind.BundleDeployment, key, this.#ctx.bundleDeployments.store.get(key));
    const partition = bd ? owningBundleKey(bd) : undefined;
    if (!bd || partition === undefined) {
      if (this.#bdPartition.delete(key)) this.#sink.remove(PlacementTable.bundleDeployment, key);
      return;
    }
    this.#bdPartition.set(key, partition);
    this.#sink.upsert(PlacementTable.bundleDeployment, key, partition, bundleDeploymentRecord(bd as BundleDeploymentObject));
  }
}

export function clusterRecord(ctx: PlacementContext, cluster: ClusterObject): ClusterRecord {
  const workspace = cluster.metadata.namespace ?? '';
  const name = cluster.metadata.name ?? '';
  const nsName = deploymentNamespaceFor(workspace, name);
  const ns = ctx.writer.fresher('Namespace', nsName, ctx.namespaces.store.get(nsName));
  return {
    name,
    labels: cluster.metadata.labels ?? {},
    deleting: cluster.metadata.deletionTimestamp !== undefined && cluster.metadata.deletionTimestamp !== null,
    paused: cluster.spec?.paused === true,
    deploymentNamespace: nsName,
    namespaceReady: ns !== undefined && !ns.metadata.deletionTimestamp && PlacementContext.ownsDeploymentNamespace(objectKey(cluster), ns),
  };
}

export function bundleDeploymentRecord(bd: BundleDeploymentObject): BundleDeploymentRecord {
  const labels: Record<string, string> = {};
  for (const key of OWNED_LABEL_KEYS) {
    const value = bd.metadata.labels?.[key];
    if (value !== undefined) labels[key] = value;
  }
  const spec: Record<string, unknown> = {};
  const s = bd.spec ?? {};
  if (s.contentName !== undefined) spec.contentName = s.contentName;
  if (s.deploymentID !== undefined) spec.deploymentID = s.deploymentID;
  if (s.options !== undefined) spec.options = s.options;
  if (s.paused !== undefined) spec.paused = s.paused;
  return { labels, spec, deleting: bd.metadata.deletionTimestamp !== undefined && bd.metadata.deletionTimestamp !== null };
}
