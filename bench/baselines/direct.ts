/**
 * The `direct` baseline: the physical limit. A plain client that issues only
 * the writes the oracle says are necessary — deployment namespaces and
 * Contents that are missing, BundleDeployments to create or delete, and one
 * status write per Bundle and Cluster whose summary changes — at the given
 * concurrency, and nothing else: no reconcile machinery, no re-reads, no
 * retries beyond the client's 429 handling.
 *
 *   node bench/baselines/direct.ts --kubeconfig FILE [--concurrency 64] [--qps 0] [--burst 200]
 *
 * It lists the world once (informers), writes whatever is missing, and then
 * reacts to Cluster, Bundle and Namespace changes (label, spec, deletion) by
 * recomputing the whole desired state from the oracle and writing the
 * difference. It trusts its own writes: what it created it knows exists, so
 * it never waits for the watch to catch up and never writes anything twice.
 * Deliberately not a product: it assumes it is the only writer of the objects
 * it manages, and an error is logged and counted, not retried.
 *
 * `--await-ready` (label-flip --agents, where an agent deploys the new
 * BundleDeployments and reports them ready): the summaries of a Bundle and
 * Cluster that have a BundleDeployment created by this process are written
 * once, when every such BundleDeployment reports ready (seen on its
 * BundleDeployment watch), not also in between — the fewest status writes
 * that end with the right summaries.
 */
import { PatchType } from '../../src/runtime/kube/client.ts';
import { builtinTypes, type KubeObject } from '../../src/runtime/kube/resource.ts';
import { ApiError } from '../../src/runtime/errors.ts';
import { Limiter, T, log, parseBaselineArgs, startBaselineRuntime } from './runtime.ts';
import {
  bundleDeploymentObject,
  bundleStatus,
  clusterStatus,
  containsAll,
  contentNameOf,
  contentObject,
  deploymentNamespaceObject,
  isWorkspace,
  oracleWorld,
  placementKey,
  placementKeyOfBundleDeployment,
  targetsOf,
  type BundleLike,
} from './world.ts';
import { deploymentNamespaceFor } from '../../src/placement/deployment-namespace.ts';
import { serializeError } from '../../src/observability/error-fields.ts';

const CONTROLLER = 'direct';
const args = parseBaselineArgs({ concurrency: 64, qps: 0, burst: 200 });
const rt = await startBaselineRuntime(CONTROLLER, args);
const { client, stores, metrics } = rt;
const limiter = new Limiter(args.concurrency);

await rt.startInformers();

// What exists, as far as our own writes and the initial list tell.
const bundleDeployments = new Map<string, KubeObject>();
for (const bd of stores.bundleDeployments.values()) {
  const key = placementKeyOfBundleDeployment(bd);
  if (key) bundleDeployments.set(key, bd);
}
const namespaces = new Set<string>([...stores.namespaces.values()].map((n) => n.metadata.name ?? ''));
const contents = new Set<string>([...stores.contents.values()].map((c) => c.metadata.name ?? ''));
const statuses = new Map<string, unknown>();
for (const [kind, store] of [['Bundle', stores.bundles], ['Cluster', stores.clusters]] as const) {
  for (const obj of store.values()) statuses.set(`${kind}:${obj.metadata.namespace}/${obj.metadata.name}`, obj.status);
}

/** --await-ready: BundleDeployments this process created that have not reported ready yet (placement keys). */
const awaiting = new Set<string>();
/** How many of those each Bundle and Cluster (`namespace/name`) has. */
const awaitingCount = new Map<string, number>();
const clusterOfKey = (key: string) => `${key.slice(0, key.indexOf('/'))}/${key.slice(key.lastIndexOf('@') + 1)}`;
const bundleOfKey = (key: string) => key.slice(0, key.lastIndexOf('@'));
const awaitingFor = (id: string) => (awaitingCount.get(id) ?? 0) > 0;
function await_(key: string, delta: 1 | -1): void {
  for (const id of [`B:${bundleOfKey(key)}`, `C:${clusterOfKey(key)}`]) awaitingCount.set(id, (awaitingCount.get(id) ?? 0) + delta);
}

let errors = 0;
async function write<R>(what: string, fn: () => Promise<R>, tolerate: number[] = []): Promise<R | undefined> {
  metrics.activeWorkers.labels(CONTROLLER).inc();
  try {
    return await limiter.run(fn);
  } catch (err) {
    if (err instanceof ApiError && tolerate.includes(err.statusCode)) return undefined;
    errors++;
    log('write failed', { what, err: serializeError(err) }, 'error');
    return undefined;
  } finally {
    metrics.activeWorkers.labels(CONTROLLER).dec();
  }
}

async function patchStatus(kind: 'Bundle' | 'Cluster', obj: KubeObject, status: Record<string, unknown>): Promise<void> {
  const key = `${kind}:${obj.metadata.namespace}/${obj.metadata.name}`;
  if (containsAll(statuses.get(key), status)) return;
  statuses.set(key, status);
  await write(`${key} status`, () =>
    client.patch(T[kind], obj.metadata.name ?? '', obj.metadata.namespace, { status }, { contentType: PatchType.merge, subresource: 'status' }),
  );
}

/** One pass: desired state from the oracle, minus what exists, written at full concurrency. */
async function pass(): Promise<void> {
  const workspaces = new Set([...stores.namespaces.values()].filter(isWorkspace).map((n) => n.metadata.name ?? ''));
  const clusters = [...stores.clusters.values()].filter((c) => workspaces.has(c.metadata.namespace ?? '') && !c.metadata.deletionTimestamp);
  const bundles = ([...stores.bundles.values()] as BundleLike[]).filter((b) => workspaces.has(b.metadata.namespace ?? '') && !b.metadata.deletionTimestamp);
  const world = oracleWorld(clusters, bundles, (ns) => workspaces.has(ns));
  const clustersOf = new Map<string, KubeObject[]>();
  for (const c of clusters) pushTo(clustersOf, c.metadata.namespace ?? '', c);

  // Prerequisites: BundleDeployments need their namespace; they name a Content.
  await Promise.all([
    ...clusters.map(async (c) => {
      const ns = deploymentNamespaceFor(c.metadata.namespace ?? '', c.metadata.name ?? '');
      if (namespaces.has(ns)) return;
      namespaces.add(ns);
      await write(`namespace ${ns}`, () => client.create(builtinTypes.namespace, deploymentNamespaceObject(c.metadata.namespace ?? '', c.metadata.name ?? '')), [409]);
    }),
    ...bundles.map(async (b) => {
      const name = contentNameOf(b);
      if (contents.has(name)) return;
      contents.add(name);
      await write(`content ${name}`, () => client.create(T.Content, contentObject(b)), [409]);
    }),
  ]);

  await Promise.all(
    bundles.map(async (bundle) => {
      const ws = bundle.metadata.namespace ?? '';
      const name = bundle.metadata.name ?? '';
      const targeted = new Set(targetsOf(bundle, world));
      const changes: Promise<unknown>[] = [];
      for (const cluster of clustersOf.get(ws) ?? []) {
        const c = cluster.metadata.name ?? '';
        const key = placementKey(ws, name, c);
        const existing = bundleDeployments.get(key);
        if (targeted.has(c) && existing === undefined) {
          const bd = bundleDeploymentObject(bundle, c);
          bundleDeployments.set(key, bd);
          if (args.awaitReady) {
            awaiting.add(key);
            await_(key, 1);
          }
          changes.push(write(`create ${key}`, () => client.create(T.BundleDeployment, bd), [409]));
        } else if (!targeted.has(c) && existing !== undefined) {
          bundleDeployments.delete(key);
          changes.push(write(`delete ${key}`, () => client.delete(T.BundleDeployment, name, existing.metadata.namespace), [404]));
        }
      }
      await Promise.all(changes);
      await writeBundleStatus(bundle, world);
    }),
  );
  await writeClusterStatuses(clusters);
}

async function writeBundleStatus(bundle: BundleLike, world: ReturnType<typeof oracleWorld>): Promise<void> {
  const ws = bundle.metadata.namespace ?? '';
  const name = bundle.metadata.name ?? '';
  if (awaitingFor(`B:${ws}/${name}`)) return;
  const bdOf = (c: string) => bundleDeployments.get(placementKey(ws, name, c));
  await patchStatus('Bundle', bundle, bundleStatus(bundle, [...targetsOf(bundle, world)].sort(), bdOf));
}

async function writeClusterStatuses(clusters: KubeObject[]): Promise<void> {
  const bdsOfCluster = new Map<string, KubeObject[]>();
  for (const [key, bd] of bundleDeployments) pushTo(bdsOfCluster, clusterOfKey(key), bd);
  await Promise.all(
    clusters
      .filter((c) => !awaitingFor(`C:${c.metadata.namespace}/${c.metadata.name}`))
      .map((c) => patchStatus('Cluster', c, clusterStatus(c, bdsOfCluster.get(`${c.metadata.namespace}/${c.metadata.name}`) ?? []))),
  );
}

/** --await-ready: a BundleDeployment we created reported ready; its Bundle's summary (and at the end its Cluster's) is written now. */
function onBundleDeploymentStatus(bd: KubeObject): void {
  const key = placementKeyOfBundleDeployment(bd);
  if (!key || !awaiting.has(key) || (bd.status as { ready?: boolean } | undefined)?.ready !== true) return;
  awaiting.delete(key);
  await_(key, -1);
  bundleDeployments.set(key, bd);
  const bundle = stores.bundles.get(bundleOfKey(key)) as BundleLike | undefined;
  const cluster = stores.clusters.get(clusterOfKey(key));
  const ws = bundle?.metadata.namespace ?? '';
  // Targeting within the Bundle's own workspace (its Clusters), as the pass computes it.
  const clusters = [...stores.clusters.values()].filter((c) => c.metadata.namespace === ws && !c.metadata.deletionTimestamp);
  const world = oracleWorld(clusters, bundle ? [bundle] : [], (ns) => isWorkspace(stores.namespaces.get(ns)));
  void (async () => {
    if (bundle) await writeBundleStatus(bundle, world);
    if (cluster && !awaitingFor(`C:${clusterOfKey(key)}`)) await writeClusterStatuses([cluster]);
  })();
}

function pushTo<V>(map: Map<string, V[]>, key: string, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

// Coalesce: a change during a pass makes exactly one more pass afterwards.
let dirty = false;
let running: Promise<void> | undefined;
function trigger(): void {
  dirty = true;
  metrics.depth.labels(CONTROLLER).set(1);
  if (running) return;
  running = (async () => {
    while (dirty) {
      dirty = false;
      metrics.depth.labels(CONTROLLER).set(0);
      const started = performance.now();
      await pass();
      metrics.reconciles.labels(CONTROLLER, errors > 0 ? 'error' : 'success').inc();
      log('pass done', { ms: Math.round(performance.now() - started), bundleDeployments: bundleDeployments.size, errors });
    }
    running = undefined;
  })();
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
const relevant = (o: KubeObject, n: KubeObject) =>
  !same(o.metadata.labels, n.metadata.labels) || o.metadata.generation !== n.metadata.generation || !same(o.metadata.deletionTimestamp, n.metadata.deletionTimestamp);
for (const store of [stores.clusters, stores.bundles, stores.namespaces]) {
  store.addHandler({
    onAdd: (_obj, initial) => {
      if (!initial) trigger();
    },
    onUpdate: (o, n, resync) => {
      if (!resync && relevant(o, n)) trigger();
    },
    onDelete: () => trigger(),
  });
}

if (args.awaitReady) {
  stores.bundleDeployments.addHandler({
    onAdd: (bd, initial) => {
      if (!initial) onBundleDeploymentStatus(bd);
    },
    onUpdate: (_o, n, resync) => {
      if (!resync) onBundleDeploymentStatus(n);
    },
  });
}

trigger();
await rt.stopping;
await running;
await rt.exit();
