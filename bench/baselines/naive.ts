/**
 * The `naive` baseline: a conventional controller reproducing Fleet's
 * behaviour before the fix of #3163 (PR #3245), to show the problem Flotilla
 * solves. Same objects as `direct` (bench/baselines/world.ts), written the
 * way Fleet did:
 *
 * - one work queue (client-go semantics: a key is queued once and never
 *   processed twice at once) served by 50 workers that share one client
 *   limited to 20 requests/s (burst 30): Fleet's defaults;
 * - every reconcile of a Bundle ends with a status patch, changed or not;
 * - every Cluster event — status included (Fleet #3796) — re-matches every
 *   Bundle of its workspace against that Cluster on the main thread and
 *   enqueues the ones that target it or have a BundleDeployment on it;
 * - every BundleDeployment event enqueues its Bundle (to recompute the
 *   summary) and its Cluster (to recount its deployments);
 * - at most 50 new BundleDeployments per Bundle reconcile (Fleet's limit),
 *   the rest on a requeue;
 * - the informer cache is the only source of truth (a create the cache has
 *   not seen yet may be tried again, and answered 409).
 *
 *   node bench/baselines/naive.ts --kubeconfig FILE [--concurrency 50] [--qps 20] [--burst 30]
 */
import { PatchType } from '../../src/runtime/kube/client.ts';
import { builtinTypes, type KubeObject } from '../../src/runtime/kube/resource.ts';
import { ApiError } from '../../src/runtime/errors.ts';
import { Label } from '../../src/api/constants.ts';
import { deploymentNamespaceFor } from '../../src/placement/deployment-namespace.ts';
import { decide, type OracleCluster, type OracleTarget } from '../../test/support/oracle.ts';
import { T, log, parseBaselineArgs, startBaselineRuntime } from './runtime.ts';
import {
  bundleDeploymentObject,
  bundleStatus,
  clusterStatus,
  contentNameOf,
  contentObject,
  deploymentNamespaceObject,
  isWorkspace,
  oracleWorld,
  targetsOf,
  type BundleLike,
} from './world.ts';
import { serializeError } from '../../src/observability/error-fields.ts';

const CONTROLLER = 'naive';
const MAX_NEW_PER_RECONCILE = 50;
const args = parseBaselineArgs({ concurrency: 50, qps: 20, burst: 30 });
const rt = await startBaselineRuntime(CONTROLLER, args);
const { client, stores, metrics } = rt;

// ---- work queue (client-go: dirty set, processing set, FIFO) ---------------
const queue: string[] = [];
const dirty = new Set<string>();
const processing = new Set<string>();
const idle: Array<() => void> = [];
const wake = () => idle.shift()?.();
let stopping = false;

function enqueue(key: string): void {
  if (dirty.has(key)) return;
  dirty.add(key);
  if (processing.has(key)) return;
  queue.push(key);
  metrics.depth.labels(CONTROLLER).set(queue.length);
  wake();
}

async function nextKey(): Promise<string | undefined> {
  while (queue.length === 0) {
    if (stopping) return undefined;
    await new Promise<void>((resolve) => idle.push(resolve));
  }
  const key = queue.shift() as string;
  metrics.depth.labels(CONTROLLER).set(queue.length);
  dirty.delete(key);
  processing.add(key);
  // Several workers may be waiting: wake the next one too.
  if (queue.length > 0) wake();
  return key;
}

function done(key: string): void {
  processing.delete(key);
  if (dirty.has(key)) {
    queue.push(key);
    metrics.depth.labels(CONTROLLER).set(queue.length);
    wake();
  }
}

async function worker(): Promise<void> {
  for (;;) {
    const key = await nextKey();
    if (key === undefined) return;
    metrics.activeWorkers.labels(CONTROLLER).inc();
    try {
      const requeue = key.startsWith('Bundle:') ? await reconcileBundle(key.slice(7)) : await reconcileCluster(key.slice(8));
      metrics.reconciles.labels(CONTROLLER, requeue ? 'requeue' : 'success').inc();
      done(key);
      if (requeue) enqueue(key);
    } catch (err) {
      metrics.reconciles.labels(CONTROLLER, 'error').inc();
      log('reconcile failed', { key, err: serializeError(err) }, 'error');
      done(key);
      // client-go would back off; a short fixed delay keeps this simple and still retries.
      setTimeout(() => enqueue(key), 100).unref();
    } finally {
      metrics.activeWorkers.labels(CONTROLLER).dec();
    }
  }
}

// ---- reconcilers ----------------------------------------------------------
const tolerate = async (p: Promise<unknown>, codes: number[]) => {
  try {
    await p;
  } catch (err) {
    if (!(err instanceof ApiError && codes.includes(err.statusCode))) throw err;
  }
};

const workspaceOf = (ns: string) => isWorkspace(stores.namespaces.getByName(undefined, ns));

function world() {
  return oracleWorld(stores.clusters.values(), [], workspaceOf);
}

async function reconcileBundle(key: string): Promise<boolean> {
  const bundle = stores.bundles.get(key) as BundleLike | undefined;
  if (!bundle || bundle.metadata.deletionTimestamp || !workspaceOf(bundle.metadata.namespace ?? '')) return false;
  const ws = bundle.metadata.namespace ?? '';
  const name = bundle.metadata.name ?? '';
  if (!stores.contents.getByName(undefined, contentNameOf(bundle))) await tolerate(client.create(T.Content, contentObject(bundle)), [409]);

  const targeted = targetsOf(bundle, world());
  let created = 0;
  let more = false;
  for (const cluster of targeted) {
    if (stores.bundleDeployments.getByName(deploymentNamespaceFor(ws, cluster), name)) continue;
    if (created >= MAX_NEW_PER_RECONCILE) {
      more = true;
      break;
    }
    created++;
    await tolerate(client.create(T.BundleDeployment, bundleDeploymentObject(bundle, cluster)), [409]);
  }
  const mine = stores.bundleDeployments.byIndex('label', `${Label.BundleName}=${name}`).filter((bd) => bd.metadata.labels?.[Label.BundleNamespace] === ws);
  for (const bd of mine) {
    if (!targeted.includes(bd.metadata.labels?.[Label.ClusterName] ?? '')) await tolerate(client.delete(T.BundleDeployment, name, bd.metadata.namespace), [404]);
  }
  const bdOf = (c: string) => stores.bundleDeployments.getByName(deploymentNamespaceFor(ws, c), name);
  // Fleet before #3245: the status is patched at the end of every reconcile, changed or not.
  await client.patch(T.Bundle, name, ws, { status: bundleStatus(bundle, targeted, bdOf) }, { contentType: PatchType.merge, subresource: 'status' });
  return more;
}

async function reconcileCluster(key: string): Promise<boolean> {
  const cluster = stores.clusters.get(key);
  if (!cluster || cluster.metadata.deletionTimestamp || !workspaceOf(cluster.metadata.namespace ?? '')) return false;
  const ws = cluster.metadata.namespace ?? '';
  const name = cluster.metadata.name ?? '';
  const ns = deploymentNamespaceFor(ws, name);
  if (!stores.namespaces.getByName(undefined, ns)) await tolerate(client.create(builtinTypes.namespace, deploymentNamespaceObject(ws, name)), [409]);
  const bds = stores.bundleDeployments.byIndex('namespace', ns);
  await client.patch(T.Cluster, name, ws, { status: clusterStatus(cluster, bds) }, { contentType: PatchType.merge, subresource: 'status' });
  return false;
}

// ---- event handlers -------------------------------------------------------
const keyOf = (o: KubeObject) => `${o.metadata.namespace}/${o.metadata.name}`;

function onClusterEvent(cluster: KubeObject): void {
  enqueue(`Cluster:${keyOf(cluster)}`);
  const ws = cluster.metadata.namespace ?? '';
  const name = cluster.metadata.name ?? '';
  const ns = deploymentNamespaceFor(ws, name);
  // Re-match every Bundle of the workspace against this Cluster, here on the main thread.
  for (const bundle of stores.bundles.byIndex('namespace', ws)) {
    const targets = ((bundle as BundleLike).spec?.targets ?? []) as OracleTarget[];
    const matches = decide(targets, cluster as OracleCluster, []) === 'deploy';
    if (matches || stores.bundleDeployments.getByName(ns, bundle.metadata.name ?? '')) enqueue(`Bundle:${keyOf(bundle)}`);
  }
}

function onBundleDeploymentEvent(bd: KubeObject): void {
  const l = bd.metadata.labels ?? {};
  if (l[Label.BundleName] && l[Label.BundleNamespace]) enqueue(`Bundle:${l[Label.BundleNamespace]}/${l[Label.BundleName]}`);
  if (l[Label.ClusterName] && l[Label.ClusterNamespace]) enqueue(`Cluster:${l[Label.ClusterNamespace]}/${l[Label.ClusterName]}`);
}

stores.bundles.addHandler({
  onAdd: (b) => enqueue(`Bundle:${keyOf(b)}`),
  onUpdate: (_o, b, resync) => {
    if (!resync) enqueue(`Bundle:${keyOf(b)}`);
  },
});
stores.clusters.addHandler({
  onAdd: (c) => onClusterEvent(c),
  onUpdate: (_o, c, resync) => {
    if (!resync) onClusterEvent(c);
  },
  onDelete: (c) => onClusterEvent(c),
});
stores.bundleDeployments.addHandler({
  onAdd: (bd, initial) => {
    if (!initial) onBundleDeploymentEvent(bd);
  },
  onUpdate: (_o, bd, resync) => {
    if (!resync) onBundleDeploymentEvent(bd);
  },
  onDelete: (bd) => onBundleDeploymentEvent(bd),
});

await rt.startInformers();
const workers = Array.from({ length: args.concurrency }, () => worker());
await rt.stopping;
stopping = true;
// Wake every idle worker so each sees `stopping`.
while (idle.length > 0) wake();
await Promise.race([Promise.all(workers), new Promise((r) => setTimeout(r, 5000))]);
await rt.exit();
