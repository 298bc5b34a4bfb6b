import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Label } from '../../src/api/constants.ts';
import { contentNameFor } from '../../src/api/content-name.ts';
import { deploymentNamespaceFor } from '../../src/placement/deployment-namespace.ts';
import {
  T,
  bundleObject,
  clusterGroupObject,
  clusterObject,
  countObjects,
  createWorkspace,
  listAll,
  mapConcurrent,
  readWorld,
  reportLoggedProblems,
  startPlacementEnv,
  waitForConvergence,
  type FlotillaProcess,
  type Obj,
  type PlacementEnv,
} from '../support/flotilla.ts';
import { createDeploymentNamespaces } from '../support/fanout-world.ts';
import { scrapeMetrics } from '../support/metrics.ts';
import { describeDiff, desiredPlacements, diffPlacements, expectedSummary, isEmptyDiff, targetedClusterNames } from '../support/oracle.ts';
import { waitFor } from '../../src/util/wait.ts';

/**
 * Deterministic names make every step idempotent
 * (docs/architecture.md#deterministic-names): the controller
 * is killed with SIGKILL in the middle of a ~1,000-BundleDeployment fan-out;
 * while it is down the world changes (Bundles deleted and retargeted, a
 * Cluster relabelled); a new controller must converge to exactly the set the
 * independent oracle computes: no duplicates, no orphans, correct summaries.
 */

const ws = 'crash';
const CLUSTERS = 10;
const BUNDLES = 100;
let env: PlacementEnv;
let flotilla: FlotillaProcess;

const clusterName = (i: number) => `c${String(i).padStart(2, '0')}`;
const clusterLabels = (i: number): Record<string, string> => ({
  env: i % 3 === 0 ? 'dev' : 'prod',
  region: i % 2 === 0 ? 'eu' : 'us',
  ...(i < 4 ? { tier: 'gold' } : {}),
});

/** Most Bundles go everywhere; every fifth has more selective, mixed targets. */
function bundleTargets(i: number): unknown[] {
  switch (i % 10) {
    case 5:
      return [{ clusterSelector: { matchLabels: { env: 'prod' } } }];
    case 7:
      return [{ clusterGroup: 'gold', doNotDeploy: true }, { clusterSelector: { matchExpressions: [{ key: 'region', operator: 'In', values: ['eu'] }] } }];
    default:
      return [{ clusterSelector: {} }];
  }
}
const resourcesFor = (i: number) => [{ name: 'cm.yaml', content: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-${i % 4}\ndata:\n  variant: "${i % 4}"\n` }];
const bundleName = (i: number) => `b${String(i).padStart(3, '0')}`;

before(async () => {
  env = await startPlacementEnv();
  const { admin } = env;
  await createWorkspace(admin, ws);
  for (let i = 0; i < CLUSTERS; i++) await admin.create(T.Cluster, clusterObject(ws, clusterName(i), clusterLabels(i)));
  await admin.create(T.ClusterGroup, clusterGroupObject(ws, 'gold', { matchLabels: { tier: 'gold' } }));
  // Deployment namespaces first, with a short-lived controller, so that the
  // fan-out measured below is BundleDeployment creation only.
  await createDeploymentNamespaces(env, ws);
  await mapConcurrent(
    Array.from({ length: BUNDLES }, (_, i) => i),
    16,
    (i) => admin.create(T.Bundle, bundleObject(ws, bundleName(i), bundleTargets(i), resourcesFor(i))),
  );
});

after(async () => {
  if (flotilla) reportLoggedProblems(flotilla);
  await env?.stop();
});

test('SIGKILL mid fan-out, changes while down, restart: exactly the desired BundleDeployments', async () => {
  const { admin } = env;
  const world = await readWorld(admin);
  const desiredBefore = desiredPlacements(world);
  console.log(`# fan-out: ${desiredBefore.length} BundleDeployments desired`);
  assert.ok(desiredBefore.length >= 800, `a large fan-out (${desiredBefore.length})`);

  flotilla = await env.startFlotilla({ name: 'flotilla-victim' });
  const low = Math.floor(desiredBefore.length * 0.3);
  const high = Math.floor(desiredBefore.length * 0.7);
  // The controller's own count of completed BundleDeployment writes (2xx
  // answers) is the cheapest fine-grained progress signal (a local scrape);
  // the API count is checked after the kill. Writes in flight land after it.
  const startedAt = Date.now();
  const writesAtKill = await waitFor(
    async () => {
      const m = await scrapeMetrics(flotilla.metricsUrl, { timeoutMs: 2000 });
      const n = m.sum('flotilla_api_requests_total', { verb: ['create', 'apply'], resource: 'bundledeployments.flotilla.dev', code: /2\d\d/ });
      return n >= low ? n : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 20, description: `${low} BundleDeployment writes` },
  );
  flotilla.kill('SIGKILL');
  const status = await flotilla.exited;
  assert.equal(status.signal, 'SIGKILL');
  const existingAtKill = await countObjects(admin, T.BundleDeployment);
  console.log(
    `# killed after ${Date.now() - startedAt} ms at ${writesAtKill} completed BundleDeployment writes; ${existingAtKill}/${desiredBefore.length} (${((100 * existingAtKill) / desiredBefore.length).toFixed(0)}%) exist`,
  );
  assert.ok(existingAtKill > 0 && existingAtKill < desiredBefore.length, `the kill landed mid fan-out (${existingAtKill}/${desiredBefore.length})`);
  if (existingAtKill > high) console.log(`# note: more than 70% existed at the kill (${existingAtKill})`);

  // Changes while the controller is down.
  const deleted = [1, 2, 3, 4, 6].map(bundleName);
  for (const name of deleted) await admin.delete(T.Bundle, name, ws);
  const retargeted = [8, 9, 11, 12, 13].map(bundleName);
  for (const name of retargeted) {
    await admin.patch(T.Bundle, name, ws, { spec: { targets: [{ clusterSelector: { matchLabels: { region: 'us' } } }] } });
  }
  await admin.patch(T.Cluster, clusterName(1), ws, { metadata: { labels: { env: 'dev', tier: 'gold' } } });
  await admin.patch(T.Cluster, clusterName(6), ws, { metadata: { labels: { env: 'prod' } } });

  flotilla = await env.startFlotilla({ name: 'flotilla-restarted' });
  await flotilla.waitForReady();
  const restartedAt = Date.now();

  // Deleted Bundles keep their finalizer until the controller has cleaned up.
  await waitFor(async () => (await listAll(admin, T.Bundle, { namespace: ws })).length === BUNDLES - deleted.length, {
    timeoutMs: 120_000,
    intervalMs: 500,
    description: 'deleted Bundles to disappear',
  });
  const finalWorld = await readWorld(admin);
  const desired = desiredPlacements(finalWorld);
  assert.notEqual(desired.length, desiredBefore.length, 'the changes while down changed the desired set');
  await waitForConvergence(
    async () => {
      const diff = diffPlacements(desired, await listAll(admin, T.BundleDeployment), deploymentNamespaceFor);
      return isEmptyDiff(diff) ? [] : [describeDiff(diff)];
    },
    { timeoutMs: 180_000, intervalMs: 1000, description: 'BundleDeployments to equal the oracle after the restart' },
  );
  console.log(`# restart converged to ${desired.length} BundleDeployments in ${Date.now() - restartedAt} ms`);

  // Nothing left behind at all: including BundleDeployments being deleted.
  const all = await listAll(admin, T.BundleDeployment);
  assert.equal(all.length, desired.length, 'no extra BundleDeployments (not even terminating ones)');
  for (const bd of all) {
    const b = finalWorld.bundles.find((x) => x.metadata.name === bd.metadata.labels?.[Label.BundleName]) as Obj | undefined;
    assert.ok(b, `${bd.metadata.namespace}/${bd.metadata.name} belongs to an existing Bundle`);
    const contentName = contentNameFor((b.spec?.resources ?? []) as Array<{ name: string; content: string }>);
    assert.equal(bd.spec?.contentName, contentName, `${bd.metadata.namespace}/${bd.metadata.name} contentName`);
  }

  // Summaries: no agent runs, so nothing is ready.
  await waitForConvergence(
    async () => {
      const bundles = await listAll(admin, T.Bundle, { namespace: ws });
      const bds = await listAll(admin, T.BundleDeployment);
      const problems: string[] = [];
      for (const b of bundles) {
        const want = expectedSummary(b, finalWorld, bds);
        const summary = (b.status?.summary ?? {}) as { desiredReady?: number; ready?: number };
        const display = (b.status?.display ?? {}) as { readyClusters?: string };
        if (summary.desiredReady !== want.desiredReady || summary.ready !== want.ready || display.readyClusters !== want.readyClusters) {
          problems.push(`${b.metadata.name}: desiredReady/ready/display ${String(summary.desiredReady)}/${String(summary.ready)}/${String(display.readyClusters)}, expected ${want.desiredReady}/${want.ready}/${want.readyClusters}`);
        }
        if (b.status?.observedGeneration !== b.metadata.generation) problems.push(`${b.metadata.name}: observedGeneration ${String(b.status?.observedGeneration)} != ${b.metadata.generation}`);
      }
      return problems;
    },
    { timeoutMs: 60_000, description: 'Bundle summaries to match the oracle' },
  );

  // Contents: one per distinct resources in use, and nothing else.
  const wantContents = new Set(finalWorld.bundles.map((b) => contentNameFor(((b as Obj).spec?.resources ?? []) as Array<{ name: string; content: string }>)));
  await waitForConvergence(
    async () => {
      const have = new Set((await listAll(admin, T.Content)).map((c) => c.metadata.name ?? ''));
      return [...wantContents].filter((c) => !have.has(c)).map((c) => `missing Content ${c}`).concat(
        [...have].filter((c) => !wantContents.has(c)).map((c) => `unreferenced Content ${c}`),
      );
    },
    { timeoutMs: 30_000, description: 'Contents to be exactly those referenced' },
  );

  // Spot checks by hand: a retargeted bundle and a relabelled cluster.
  const retargetedBundle = finalWorld.bundles.find((b) => b.metadata.name === bundleName(8));
  assert.ok(retargetedBundle);
  assert.deepEqual(targetedClusterNames(retargetedBundle, finalWorld), ['c01', 'c03', 'c05', 'c07', 'c09']);
  const dndBundle = finalWorld.bundles.find((b) => b.metadata.name === bundleName(7));
  assert.ok(dndBundle);
  // b007: gold (c00..c03) excluded, then region=eu: c04, c06, c08.
  assert.deepEqual(targetedClusterNames(dndBundle, finalWorld), ['c04', 'c06', 'c08']);
});

test('after convergence the restarted controller is quiet', async () => {
  const before = await flotilla.waitForIdle({ description: 'controller idle' });
  console.log(`# restarted controller: reconcile errors ${JSON.stringify(before.groupBy('controller_runtime_reconcile_errors_total', ['controller']))}, writes ${JSON.stringify(before.groupBy('flotilla_writes_total', ['kind', 'verb']))}`);
  const after = await flotilla.waitForIdle({ stableMs: 3000, description: 'controller still idle' });
  assert.equal(after.sum('flotilla_writes_total') - before.sum('flotilla_writes_total'), 0, 'no writes while nothing changes');
});
