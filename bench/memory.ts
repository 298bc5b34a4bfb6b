/**
 * Memory per cached object: what one BundleDeployment costs in the informer
 * cache, against its JSON size. The end-to-end benchmarks can only read the
 * controller's whole heap (baseline, garbage and the recent-writes overlay
 * included); this isolates the cache, after forced GCs, in three steps:
 *
 *  1. parsed   — the objects as JSON.parse leaves them (what a LIST page or
 *                watch event becomes), held in an array;
 *  2. stored   — the same objects in the informer Store with the indexes the
 *                placement controller registers for BundleDeployments;
 *  3. total    — 2 as a share of the objects' JSON size.
 *
 *   node_modules/.bin/node --expose-gc bench/memory.ts [--objects N] [--json FILE]
 *
 * The objects are BundleDeployments as the API server stores them for
 * Flotilla (desired spec and labels from src/placement, plus the server's
 * metadata, the finalizer, the owner reference and an agent's status with
 * conditions), with managedFields stripped as the reflector does.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Store } from '../src/runtime/informer/store.ts';
import type { KubeObject } from '../src/runtime/kube/resource.ts';
import { desiredBundleDeployment } from '../src/placement/bundle-deployments.ts';
import { Label } from '../src/api/constants.ts';

const { values: args } = parseArgs({
  options: {
    objects: { type: 'string', default: '30000' },
    json: { type: 'string', default: 'bench/results/memory.json' },
  },
});
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('run with --expose-gc: node_modules/.bin/node --expose-gc bench/memory.ts');
  process.exit(2);
}
const count = Number(args.objects);
const CLUSTERS = 10;

function storedBundleDeployment(i: number, withStatus: boolean): KubeObject {
  const workspace = 'fleet-default';
  const bundleName = `repo-${Math.floor(i / CLUSTERS / 10)}-bundle-${Math.floor(i / CLUSTERS) % 10}`;
  const cluster = `cluster-${i % CLUSTERS}`;
  const desired = desiredBundleDeployment({
    bundle: { metadata: { name: bundleName, namespace: workspace, uid: randomUUID(), generation: 1 }, spec: { resources: [], targets: [] } } as never,
    cluster: { metadata: { name: cluster, namespace: workspace, labels: { env: 'prod' } }, spec: {} } as never,
    contentName: `s-${randomUUID().replaceAll('-', '')}`.slice(0, 40),
  }) as unknown as KubeObject;
  const now = new Date(Date.UTC(2026, 10, 23, 12, 0, i % 60)).toISOString().replace('.000Z', 'Z');
  return {
    ...desired,
    metadata: {
      ...desired.metadata,
      uid: randomUUID(),
      resourceVersion: String(100_000 + i),
      generation: 1,
      creationTimestamp: now,
      finalizers: ['flotilla.dev/bundledeployment-cleanup'],
      ownerReferences: [{ apiVersion: 'flotilla.dev/v1alpha1', kind: 'Bundle', name: bundleName, uid: randomUUID(), controller: true, blockOwnerDeletion: true }],
    },
    status: !withStatus ? undefined : {
      observedGeneration: 1,
      appliedDeploymentID: (desired as { spec?: { deploymentID?: string } }).spec?.deploymentID,
      ready: true,
      conditions: [
        { type: 'Ready', status: 'True', reason: 'Ready', message: '', lastTransitionTime: now, observedGeneration: 1 },
        { type: 'Deployed', status: 'True', reason: 'Applied', message: '', lastTransitionTime: now, observedGeneration: 1 },
      ],
    },
  } as KubeObject;
}

/** The indexes placement-context.ts registers on the BundleDeployment informer. */
function bundleDeploymentStore(): Store<KubeObject> {
  const labels = (bd: KubeObject) => bd.metadata.labels ?? {};
  return new Store<KubeObject>({
    builtinIndexes: [],
    indexers: {
      'bd-bundle': (bd) => (labels(bd)[Label.BundleName] ? [`${labels(bd)[Label.BundleNamespace]}/${labels(bd)[Label.BundleName]}`] : []),
      'bd-cluster': (bd) => (labels(bd)[Label.ClusterName] ? [`${labels(bd)[Label.ClusterNamespace]}/${labels(bd)[Label.ClusterName]}`] : []),
      'bd-content': (bd) => {
        const name = (bd as { spec?: { contentName?: string } }).spec?.contentName;
        return name ? [name] : [];
      },
    },
  });
}

function heapUsed(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

function measure(withStatus: boolean) {
  // The wire form, as a list page would carry it; kept alive throughout so it is not in the deltas.
  const texts = Array.from({ length: count }, (_, i) => JSON.stringify(storedBundleDeployment(i, withStatus)));
  const jsonBytes = texts.reduce((sum, t) => sum + Buffer.byteLength(t), 0);
  const h0 = heapUsed();
  const parsed: KubeObject[] = texts.map((t) => JSON.parse(t) as KubeObject);
  const h1 = heapUsed();
  const store = bundleDeploymentStore();
  store.replace(parsed, true);
  parsed.length = 0; // the store holds the only references now, as in the controller
  const h2 = heapUsed();
  if (store.size !== count) throw new Error(`store holds ${store.size} objects, expected ${count}`);
  const perObject = (bytes: number) => Math.round(bytes / count);
  return {
    variant: withStatus ? 'with agent status' : 'as created (no status yet)',
    jsonBytesPerObject: perObject(jsonBytes),
    parsedBytesPerObject: perObject(h1 - h0),
    cachedBytesPerObject: perObject(h2 - h0),
    indexBytesPerObject: perObject(h2 - h1),
    cachedToJsonRatio: Math.round(((h2 - h0) / jsonBytes) * 100) / 100,
  };
}

const variants = [measure(false), measure(true)];
const result = { benchmark: 'memory', objects: count, node: process.version, cores: cpus().length, variants };
console.log(`BundleDeployments cached: ${count.toLocaleString('en')} (B per object, heap after GC)`);
console.log('| variant | JSON | parsed | in the Store with indexes | of which indexes | cached / JSON |');
console.log('|---|--:|--:|--:|--:|--:|');
for (const v of variants) {
  console.log(`| ${v.variant} | ${v.jsonBytesPerObject} | ${v.parsedBytesPerObject} | ${v.cachedBytesPerObject} | ${v.indexBytesPerObject} | ${v.cachedToJsonRatio.toFixed(2)}× |`);
}
const out = resolve(args.json);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(`wrote ${out}`);
