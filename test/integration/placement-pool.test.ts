import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { deploymentNamespaceFor } from '../../src/placement/deployment-namespace.ts';
import {
  T,
  bundleObject,
  clusterObject,
  countObjects,
  createWorkspace,
  listAll,
  mapConcurrent,
  reportLoggedProblems,
  startPlacementEnv,
  type FlotillaProcess,
  type PlacementEnv,
} from '../support/flotilla.ts';
import { delta, groupDelta } from '../support/metrics.ts';
import { waitFor } from '../../src/util/wait.ts';

/**
 * Placement + diff in the pool's workers (docs/architecture.md#worker-pool):
 * a workspace of 300 Clusters with the threshold set low, so every Bundle is
 * planned in a worker against its replica of the placement records. It must
 * converge with exactly one write per BundleDeployment (a replica older than
 * the reconcile's view would plan a just-written one again), and a Cluster
 * relabel must move exactly that Cluster's BundleDeployments.
 */

const ws = 'wide';
const CLUSTERS = 300;
const PROD_BUNDLES = 4;
const DEV_BUNDLES = 2;
const RESOURCES = [{ name: 'cm.yaml', content: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n' }];
const clusterName = (i: number) => `c-${String(i).padStart(3, '0')}`;
const envOf = (i: number) => (i % 2 === 0 ? 'prod' : 'dev');
let env: PlacementEnv;
let flotilla: FlotillaProcess;

before(async () => {
  env = await startPlacementEnv();
  await createWorkspace(env.admin, ws);
  await mapConcurrent(Array.from({ length: CLUSTERS }, (_, i) => i), 16, (i) => env.admin.create(T.Cluster, clusterObject(ws, clusterName(i), { env: envOf(i) })));
  const bundles = [
    ...Array.from({ length: PROD_BUNDLES }, (_, i) => ({ name: `prod-${i}`, env: 'prod' })),
    ...Array.from({ length: DEV_BUNDLES }, (_, i) => ({ name: `dev-${i}`, env: 'dev' })),
  ];
  await mapConcurrent(bundles, 8, (b) => env.admin.create(T.Bundle, bundleObject(ws, b.name, [{ clusterSelector: { matchLabels: { env: b.env } } }], RESOURCES)));
  flotilla = await env.startFlotilla({ config: { concurrency: { poolPlacementThreshold: 50 } } });
  await flotilla.waitForReady();
});

after(async () => {
  if (flotilla) reportLoggedProblems(flotilla);
  await env?.stop();
});

async function summariesAt(counts: Record<string, number>): Promise<boolean> {
  const bundles = await listAll(env.admin, T.Bundle, { namespace: ws });
  return bundles.every((b) => {
    const want = counts[b.metadata.name?.startsWith('prod-') ? 'prod' : 'dev'];
    return (b.status?.summary as { desiredReady?: number } | undefined)?.desiredReady === want && b.status?.observedGeneration === b.metadata.generation;
  });
}

test(`${CLUSTERS} Clusters planned in a worker converge with one write per BundleDeployment`, async () => {
  const perEnv = CLUSTERS / 2;
  const expected = perEnv * (PROD_BUNDLES + DEV_BUNDLES);
  await waitFor(async () => (await countObjects(env.admin, T.BundleDeployment)) === expected, { timeoutMs: 240_000, intervalMs: 1000, description: `${expected} BundleDeployments` });
  await waitFor(() => summariesAt({ prod: perEnv, dev: perEnv }), { timeoutMs: 120_000, intervalMs: 1000, description: 'every summary counts its Clusters' });
  const idle = await flotilla.waitForIdle({ description: 'controller idle after converging' });
  console.log(`# converge: writes ${JSON.stringify(idle.groupBy('flotilla_writes_total', ['kind', 'verb', 'reason']))}, plans ${JSON.stringify(idle.groupBy('flotilla_placement_plans_total', ['path']))}`);
  assert.equal(idle.sum('flotilla_writes_total', { kind: 'BundleDeployment' }), expected, 'exactly one write per BundleDeployment: none repeated');
  assert.ok(idle.sum('flotilla_placement_plans_total', { path: 'pooled' }) >= PROD_BUNDLES + DEV_BUNDLES, 'the Bundles were planned in the pool');
  assert.equal(idle.sum('flotilla_placement_plans_total', { path: 'inline' }), 0, 'no plan ran inline above the threshold');
  assert.ok(idle.sum('flotilla_pool_tasks_total', { path: 'pooled', task: 'placement' }) >= PROD_BUNDLES + DEV_BUNDLES, 'the worker answered them');
  assert.ok(idle.sum('flotilla_bundle_placement_main_thread_seconds_count') >= PROD_BUNDLES + DEV_BUNDLES, 'the placement step is timed');
  assert.ok(idle.sum('flotilla_main_thread_cpu_seconds_total') > 0, 'main-thread CPU is exported');
  assert.ok(idle.sum('flotilla_event_loop_delay_seconds_count') > 0, 'event-loop delay is sampled');
});

test('a relabelled Cluster moves exactly its BundleDeployments, planned in the worker', async () => {
  const perEnv = CLUSTERS / 2;
  const before = await flotilla.metrics();
  const moved = clusterName(0); // prod → dev
  await env.admin.patch(T.Cluster, moved, ws, { metadata: { labels: { env: 'dev' } } });
  const ns = deploymentNamespaceFor(ws, moved);
  await waitFor(
    async () => {
      const names = (await listAll(env.admin, T.BundleDeployment, { namespace: ns })).filter((bd) => !bd.metadata.deletionTimestamp).map((bd) => bd.metadata.name).sort();
      return JSON.stringify(names) === JSON.stringify(['dev-0', 'dev-1']);
    },
    { timeoutMs: 120_000, intervalMs: 250, description: `${ns} holds exactly the dev Bundles` },
  );
  await waitFor(() => summariesAt({ prod: perEnv - 1, dev: perEnv + 1 }), { timeoutMs: 120_000, intervalMs: 500, description: 'summaries count the move' });
  const after = await flotilla.waitForIdle({ description: 'controller idle after the relabel' });
  console.log(`# relabel: writes ${JSON.stringify(groupDelta(before, after, 'flotilla_writes_total', ['kind', 'verb', 'reason']))}`);
  assert.equal(delta(before, after, 'flotilla_writes_total', { kind: 'BundleDeployment', verb: 'delete' }), PROD_BUNDLES, 'one delete per prod Bundle');
  assert.equal(delta(before, after, 'flotilla_writes_total', { kind: 'BundleDeployment', verb: ['create', 'apply'] }), DEV_BUNDLES, 'one create per dev Bundle');
  assert.equal(delta(before, after, 'flotilla_writes_total', { kind: 'BundleDeployment' }), PROD_BUNDLES + DEV_BUNDLES, 'nothing else written to BundleDeployments');
  assert.ok(delta(before, after, 'flotilla_placement_plans_total', { path: 'pooled' }) >= PROD_BUNDLES + DEV_BUNDLES, 'the affected Bundles were planned in the worker');
});
