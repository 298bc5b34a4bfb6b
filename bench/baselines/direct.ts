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

let errors = 0;
async function write<R>(what: string, fn: () => Promise<R>, tolerate: number[] = []): Promise<R | undefined> {
  metrics.activeWorkers.labels(CONTROLLER).inc();
  try {
    return await limiter.run(fn);
  } catch (err) {
    if (err instanceof ApiError && tolerate.includes(err.statusCode)) return undefined;
    errors++;
    log('write failed', { what, err: err instanceof Error ? err.message : String(err) }, 50);
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
          changes.push(write(`create ${key}`, () => client.create(T.BundleDeployment, bd), [409]));
        } else if (!targeted.has(c) && existing !== undefined) {
          bundleDeployments.delete(key);
          changes.push(write(`delete ${key}`, () => client.delete(T.BundleDeployment, name, existing.metadata.namespace), [404]));
        }
      }
      await Promise.all(changes);
      const bdOf = (c: string) => bundleDeployments.get(placementKey(ws, name, c));
      await patchStatus('Bundle', bundle, bundleStatus(bundle, [...targeted].sort(), bdOf));
    }),
  );

  const bdsOfCluster = new Map<string, KubeObject[]>();
  for (const [key, bd] of bundleDeployments) {
    const clusterKey = `${key.slice(0, key.indexOf('/'))}/${key.slice(key.lastIndexOf('@') + 1)}`;
    pushTo(bdsOfCluster, clusterKey, bd);
  }
  await Promise.all(clusters.map((c) => patchStatus('Cluster', c, clusterStatus(c, bdsOfCluster.get(`${c.metadata.namespace}/${c.metadata.name}`) ?? []))));
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

trigger();
await rt.stopping;
await running;
await rt.exit();
