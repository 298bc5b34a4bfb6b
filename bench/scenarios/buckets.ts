/**
 * The world cold-start and churn share: Clusters spread round-robin over K
 * label buckets (`bucket=b<k>`), each Bundle targeting one bucket, K =
 * round(1 / selectivity), so every Bundle targets `selectivity` of the
 * Clusters (200 Clusters × 500 Bundles at 20 % → 20,000 BundleDeployments).
 * Deployment namespaces are created by the seeder (see bench/README.md: the
 * local control plane runs no namespace controller, so they could not be
 * deleted between systems; they are the same for everyone).
 */
import { deploymentNamespaceFor } from '../../src/placement/deployment-namespace.ts';
import { builtinTypes, type KubeObject } from '../../src/runtime/kube/resource.ts';
import { KindResources as T } from '../../src/api/kinds.ts';
import { PatchType, type KubeClient } from '../../src/runtime/kube/client.ts';
import { deploymentNamespaceObject } from '../baselines/world.ts';
import type { Observer } from '../lib/observer.ts';
import { createBundles, createClusters, createWorkspace, deleteBundleDeploymentsIn, ignore404, ignore409, mapConcurrent, SEED_CONCURRENCY } from '../lib/world.ts';
import { progress } from '../lib/report.ts';
import { until } from './common.ts';
import { performance } from 'node:perf_hooks';

export interface BucketWorld {
  ws: string;
  buckets: number;
  clusters: string[];
  bundles: string[];
  bucketOfBundle: (i: number) => string;
  /** Bundles targeting each bucket. */
  bundlesOfBucket: Map<string, string[]>;
  initialBucket: Map<string, string>;
  expectedBundleDeployments: number;
}

export function bucketWorld(ws: string, clusters: number, bundles: number, selectivity: number): BucketWorld {
  const K = Math.max(1, Math.round(1 / selectivity));
  const bucket = (i: number) => `b${i % K}`;
  const clusterNames = Array.from({ length: clusters }, (_, i) => `c-${String(i).padStart(4, '0')}`);
  const bundleNames = Array.from({ length: bundles }, (_, i) => `app-${String(i).padStart(5, '0')}`);
  const bundlesOfBucket = new Map<string, string[]>();
  bundleNames.forEach((b, i) => bundlesOfBucket.set(bucket(i), [...(bundlesOfBucket.get(bucket(i)) ?? []), b]));
  const initialBucket = new Map(clusterNames.map((c, i) => [c, bucket(i)]));
  let expected = 0;
  for (const b of initialBucket.values()) expected += bundlesOfBucket.get(b)?.length ?? 0;
  return { ws, buckets: K, clusters: clusterNames, bundles: bundleNames, bucketOfBundle: bucket, bundlesOfBucket, initialBucket, expectedBundleDeployments: expected };
}

export async function seedBucketWorld(admin: KubeClient, w: BucketWorld): Promise<void> {
  progress(`seeding: workspace ${w.ws}, ${w.clusters.length} clusters in ${w.buckets} buckets, ${w.bundles.length} bundles (one bucket each) → ${w.expectedBundleDeployments} BundleDeployments`);
  await createWorkspace(admin, w.ws);
  await mapConcurrent(w.clusters, SEED_CONCURRENCY, (c) => ignore409(admin.create(builtinTypes.namespace, deploymentNamespaceObject(w.ws, c))));
  await createClusters(admin, w.ws, w.clusters.map((name) => ({ name, labels: { bucket: w.initialBucket.get(name) ?? '' } })));
  await createBundles(admin, w.ws, w.bundles.map((name, i) => ({ name, targets: [{ clusterSelector: { matchLabels: { bucket: w.bucketOfBundle(i) } } }] })));
}

const desiredReady = (b: KubeObject | undefined): number | undefined => (b?.status as { summary?: { desiredReady?: number } } | undefined)?.summary?.desiredReady;

/** Converged for the labels in `bucketOf`: every deployment namespace holds exactly its bucket's Bundles, every summary counts its bucket's Clusters. */
export function convergence(w: BucketWorld, observer: Observer, bucketOf: (cluster: string) => string): () => { done: number; total: number } {
  return () => {
    let done = 0;
    let total = 0;
    const clustersIn = new Map<string, number>();
    for (const c of w.clusters) clustersIn.set(bucketOf(c), (clustersIn.get(bucketOf(c)) ?? 0) + 1);
    for (const c of w.clusters) {
      const want = w.bundlesOfBucket.get(bucketOf(c)) ?? [];
      const have = observer.stores.BundleDeployment.byIndex('namespace', deploymentNamespaceFor(w.ws, c));
      const wantSet = new Set(want);
      const good = have.filter((bd) => wantSet.has(bd.metadata.name ?? '')).length;
      done += Math.max(0, good - (have.length - good));
      total += want.length;
    }
    w.bundles.forEach((b, i) => {
      total++;
      if (desiredReady(observer.stores.Bundle.getByName(w.ws, b)) === (clustersIn.get(w.bucketOfBundle(i)) ?? 0)) done++;
    });
    return { done, total };
  };
}

/**
 * Back to "nothing deployed": no BundleDeployments, Contents, finalizers or
 * statuses; Cluster labels as seeded. (Deployment namespaces stay.)
 */
export async function resetToEmpty(admin: KubeClient, w: BucketWorld, observer: Observer): Promise<void> {
  progress('resetting the world to the starting state (nothing deployed)');
  await relabel(admin, w, observer, (c) => w.initialBucket.get(c) ?? '');
  await mapConcurrent(w.clusters, SEED_CONCURRENCY, (c) => deleteBundleDeploymentsIn(admin, deploymentNamespaceFor(w.ws, c)));
  const contents = [...observer.stores.Content.values()];
  await mapConcurrent(contents, SEED_CONCURRENCY, async (c) => {
    if (c.metadata.finalizers?.length) await ignore404(admin.patch(T.Content, c.metadata.name ?? '', undefined, { metadata: { finalizers: null } }, { contentType: PatchType.merge }));
    await ignore404(admin.delete(T.Content, c.metadata.name ?? ''));
  });
  for (const [kind, store] of [['Cluster', observer.stores.Cluster], ['Bundle', observer.stores.Bundle]] as const) {
    const objs = store.byIndex('namespace', w.ws);
    await mapConcurrent(objs, SEED_CONCURRENCY, async (o) => {
      if (o.metadata.finalizers?.length) await admin.patch(T[kind], o.metadata.name ?? '', w.ws, { metadata: { finalizers: null } }, { contentType: PatchType.merge });
      if (o.status !== undefined) await admin.patch(T[kind], o.metadata.name ?? '', w.ws, { status: null }, { contentType: PatchType.merge, subresource: 'status' });
    });
  }
  await until(
    'reset',
    () => {
      const objs = [...observer.stores.Cluster.byIndex('namespace', w.ws), ...observer.stores.Bundle.byIndex('namespace', w.ws)];
      const clean = objs.filter((o) => o.status === undefined && !o.metadata.finalizers?.length).length;
      let bds = 0;
      for (const c of w.clusters) bds += observer.stores.BundleDeployment.byIndex('namespace', deploymentNamespaceFor(w.ws, c)).length;
      return { done: clean + (bds === 0 ? 1 : 0) + (observer.stores.Content.size === 0 ? 1 : 0), total: objs.length + 2 };
    },
    { since: performance.now(), timeoutMs: 300_000 },
  );
}

/** Patches every Cluster whose `bucket` label differs from `bucketOf`. */
export async function relabel(admin: KubeClient, w: BucketWorld, observer: Observer, bucketOf: (cluster: string) => string): Promise<number> {
  const changed = w.clusters.filter((c) => observer.stores.Cluster.getByName(w.ws, c)?.metadata.labels?.bucket !== bucketOf(c));
  await mapConcurrent(changed, SEED_CONCURRENCY, (c) => admin.patch(T.Cluster, c, w.ws, { metadata: { labels: { bucket: bucketOf(c) } } }, { contentType: PatchType.merge }));
  return changed.length;
}
