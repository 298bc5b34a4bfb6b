/**
 * Placement + diff break-even: the main thread's busy time per Bundle plan,
 * inline vs in a pool worker (src/controllers/placement-planner.ts), for
 * growing Cluster counts. It sets `concurrency.poolPlacementThreshold`'s
 * default (DEFAULT_PLACEMENT_THRESHOLD).
 *
 *   node_modules/.bin/node bench/placement-pool.ts [--json FILE] [--quick]
 *
 * World per size N: one workspace of N Clusters, half of them `env=prod`,
 * with their deployment namespaces; a Bundle targeting `env=prod` whose N/2
 * BundleDeployments are up to date (the steady state a fan-out recomputes:
 * nothing to write). Columns, µs per plan (main-thread busy time from
 * performance.eventLoopUtilization(), as bench/pool.ts):
 *  objects  computePlacement + desiredBundleDeployment + diffBundleDeployments
 *           over the cached objects (what the reconcile did before the plan);
 *  inline   the plan over the main thread's records;
 *  pooled   the same plan in a worker against its replica (dispatch, answer).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { desiredContentName, Index, type BundleDeploymentObject } from '../src/controllers/placement-context.ts';
import { DEFAULT_PLACEMENT_THRESHOLD, PlacementPlanner } from '../src/controllers/placement-planner.ts';
import { desiredBundleDeployment, diffBundleDeployments } from '../src/placement/bundle-deployments.ts';
import { deploymentNamespaceFor } from '../src/placement/deployment-namespace.ts';
import type { PlacementPlanInput } from '../src/placement/placement-plan.ts';
import { computePlacement } from '../src/placement/targeting.ts';
import { SelectorMatchPool } from '../src/runtime/pool/index.ts';
import { PlacementWorld } from '../test/support/placement-world.ts';
import { dist, type Dist } from './lib/distribution.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const jsonArg = args.indexOf('--json');
const jsonPath = jsonArg >= 0 && args[jsonArg + 1] ? resolve(args[jsonArg + 1] as string) : fileURLToPath(new URL('./results/placement-pool.json', import.meta.url));
const SIZES = [10, 50, 100, 250, 500, 1000, 5000];


/** Main-thread busy µs per call, calls one at a time. */
async function busy(n: number, fn: () => Promise<unknown> | unknown): Promise<Dist> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const e0 = performance.eventLoopUtilization();
    await fn();
    out.push(performance.eventLoopUtilization(e0).active * 1000);
  }
  return dist(out);
}

function worldOf(n: number) {
  const w = new PlacementWorld();
  for (let i = 0; i < n; i++) w.cluster(`c-${String(i).padStart(5, '0')}`, { env: i % 2 === 0 ? 'prod' : 'dev', idx: String(i) });
  const bundle = w.bundle('app', { resources: [{ name: 'cm.yaml', content: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n' }], targets: [{ clusterSelector: { matchLabels: { env: 'prod' } } }] });
  const contentName = desiredContentName(bundle) as string;
  for (const c of w.caches.clusters.store.values()) {
    if (c.metadata.labels?.env !== 'prod') continue;
    w.caches.bundleDeployments.store.upsert(w.object(desiredBundleDeployment({ bundle, cluster: c, contentName }) as BundleDeploymentObject));
  }
  const input: PlacementPlanInput = { bundle: { name: 'app', namespace: 'ws', targets: bundle.spec.targets as never, options: null, paused: false }, contentName };
  const objects = () => {
    const clusters = w.caches.clusters.store.byIndex(Index.namespace, 'ws').filter((c) => !c.metadata.deletionTimestamp);
    const placement = computePlacement(bundle, clusters, w.caches.clusterGroups.store.byIndex(Index.namespace, 'ws'));
    const desired = [];
    for (const name of placement.desired.keys()) {
      const ns = w.ctx.writer.fresher('Namespace', deploymentNamespaceFor('ws', name), w.caches.namespaces.store.get(deploymentNamespaceFor('ws', name)));
      if (ns) desired.push(desiredBundleDeployment({ bundle, cluster: w.caches.clusters.store.get(`ws/${name}`)!, contentName }));
    }
    const existing = w.ctx.writer.bundleDeploymentsOf('ws/app', w.caches.bundleDeployments.store.byIndex(Index.bdBundle, 'ws/app'));
    return diffBundleDeployments(desired, existing, {});
  };
  return { w, input, objects };
}

const pool = new SelectorMatchPool({ threads: 1, maxQueue: 8, inlineThreshold: 0, registry: new Registry() });
const rows: Array<{ clusters: number; objects: Dist; inline: Dist; pooled: Dist }> = [];
try {
  for (const n of SIZES) {
    const { w, input, objects } = worldOf(n);
    const inline = new PlacementPlanner(w.ctx, { registry: new Registry() });
    const pooled = new PlacementPlanner(w.ctx, { pool, threshold: 0, registry: new Registry() });
    const a = await inline.plan(input);
    const b = await pooled.plan(input);
    if (JSON.stringify(a) !== JSON.stringify(b) || a.create.length + a.update.length + a.delete.length !== 0) throw new Error(`plans differ or are not empty at ${n}`);
    const iterations = quick ? 50 : n >= 5000 ? 100 : n >= 1000 ? 300 : 1000;
    const warm = Math.min(50, iterations);
    await busy(warm, objects);
    await busy(warm, () => inline.plan(input));
    await busy(warm, () => pooled.plan(input));
    rows.push({ clusters: n, objects: await busy(iterations, objects), inline: await busy(iterations, () => inline.plan(input)), pooled: await busy(iterations, () => pooled.plan(input)) });
  }
} finally {
  await pool.close();
}

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const meta = { date: new Date().toISOString(), node: process.version, cpus: cpus().length, loadavg: loadavg().map((l) => Number(l.toFixed(2))), quick };
console.log(`placement + diff, main-thread busy µs per Bundle plan (node ${meta.node}, ${meta.cpus} cpus, load ${meta.loadavg.join(' ')}); targeted = clusters / 2, all up to date:`);
console.log(['clusters', 'objects p50', 'inline p50', 'inline p99', 'pooled p50', 'pooled p99'].join('\t'));
for (const r of rows) console.log([r.clusters, fmt(r.objects.p50), fmt(r.inline.p50), fmt(r.inline.p99), fmt(r.pooled.p50), fmt(r.pooled.p99)].join('\t'));
const crossing = rows.find((r) => r.pooled.p50 < r.inline.p50);
console.log(`\npooled costs the main thread less than inline from ${crossing ? `${crossing.clusters} clusters` : 'no measured size'}; DEFAULT_PLACEMENT_THRESHOLD = ${DEFAULT_PLACEMENT_THRESHOLD}`);
mkdirSync(dirname(jsonPath), { recursive: true });
writeFileSync(jsonPath, `${JSON.stringify({ meta, rows, defaultPlacementThreshold: DEFAULT_PLACEMENT_THRESHOLD }, null, 2)}\n`);
console.log(`wrote ${jsonPath}`);
