import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Label } from '../../src/api/constants.ts';
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
import { delta, groupDelta, type Metrics } from '../support/metrics.ts';
import { waitFor } from '../../src/util/wait.ts';

/**
 * Fleet #3163 as a test: 500 Bundles target `env=prod`; labelling one more
 * Cluster `env=prod` must create exactly 500 BundleDeployments and update
 * the 500 Bundle summaries, and write nothing else. Then a restart over the
 * converged world must write nothing at all (docs/architecture.md#minimal-writes).
 */

const ws = 'flip';
const BUNDLES = 500;
const PROD = { env: 'prod' };
let env: PlacementEnv;
let flotilla: FlotillaProcess;

const WRITE_VERBS = ['create', 'update', 'patch', 'apply', 'delete'];

before(async () => {
  env = await startPlacementEnv();
  const { admin } = env;
  await createWorkspace(admin, ws);
  await admin.create(T.Cluster, clusterObject(ws, 'prod-1', PROD));
  await admin.create(T.Cluster, clusterObject(ws, 'prod-2', PROD));
  await admin.create(T.Cluster, clusterObject(ws, 'staging', { env: 'staging' }));
  const names = Array.from({ length: BUNDLES }, (_, i) => `app-${String(i).padStart(3, '0')}`);
  const created = Date.now();
  // Identical resources: the 500 Bundles share one Content.
  await mapConcurrent(names, 16, (name) =>
    env.admin.create(T.Bundle, bundleObject(ws, name, [{ clusterSelector: { matchLabels: PROD } }], [{ name: 'cm.yaml', content: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n' }])),
  );
  console.log(`# created ${BUNDLES} bundles in ${Date.now() - created} ms`);
  flotilla = await env.startFlotilla();
  await flotilla.waitForReady();
});

after(async () => {
  if (flotilla) reportLoggedProblems(flotilla);
  await env?.stop();
});

async function summariesWithDesired(n: number): Promise<number> {
  const bundles = await listAll(env.admin, T.Bundle, { namespace: ws });
  return bundles.filter((b) => (b.status?.summary as { desiredReady?: number } | undefined)?.desiredReady === n && b.status?.observedGeneration === b.metadata.generation).length;
}

function printWrites(label: string, before: Metrics, after: Metrics): void {
  console.log(`# ${label}: flotilla_writes_total by kind,verb,reason: ${JSON.stringify(groupDelta(before, after, 'flotilla_writes_total', ['kind', 'verb', 'reason']))}`);
  console.log(
    `# ${label}: rest_client writes by verb,resource,code: ${JSON.stringify(groupDelta(before, after, 'flotilla_api_requests_total', ['verb', 'resource', 'code'], { verb: WRITE_VERBS }))}`,
  );
}

test(`labelling a third Cluster env=prod creates exactly ${BUNDLES} BundleDeployments and nothing else`, async () => {
  const { admin } = env;
  const startedConverge = Date.now();
  await waitFor(async () => (await countObjects(admin, T.BundleDeployment)) === 2 * BUNDLES, {
    timeoutMs: 180_000,
    intervalMs: 500,
    description: `${2 * BUNDLES} BundleDeployments on the two prod clusters`,
  });
  await waitFor(async () => (await summariesWithDesired(2)) === BUNDLES, { timeoutMs: 120_000, intervalMs: 1000, description: 'every summary at desiredReady=2' });
  console.log(`# initial convergence (${2 * BUNDLES} BDs, summaries) in ${Date.now() - startedConverge} ms`);
  const before = await flotilla.waitForIdle({ description: 'controller idle before the flip' });
  assert.ok(before.has('flotilla_writes_total'), 'the controller exposes flotilla_writes_total');
  assert.ok(before.sum('flotilla_writes_total', { kind: 'BundleDeployment' }) >= 2 * BUNDLES, 'initial BundleDeployment writes were counted');

  const thirdNs = deploymentNamespaceFor(ws, 'staging');
  const flipped = Date.now();
  await admin.patch(T.Cluster, 'staging', ws, { metadata: { labels: PROD } });
  await waitFor(async () => (await countObjects(admin, T.BundleDeployment, { namespace: thirdNs })) === BUNDLES, {
    timeoutMs: 180_000,
    intervalMs: 100,
    description: `${BUNDLES} BundleDeployments in ${thirdNs}`,
  });
  const bdsMs = Date.now() - flipped;
  await waitFor(async () => (await summariesWithDesired(3)) === BUNDLES, { timeoutMs: 120_000, intervalMs: 250, description: 'every summary at desiredReady=3' });
  const summariesMs = Date.now() - flipped;
  console.log(`# label flip: all ${BUNDLES} BundleDeployments after ${bdsMs} ms, all summaries desiredReady=3 after ${summariesMs} ms`);

  const after = await flotilla.waitForIdle({ description: 'controller idle after the flip' });
  printWrites('flip', before, after);

  const bdWrites = delta(before, after, 'flotilla_writes_total', { kind: 'BundleDeployment' });
  const bdCreates = delta(before, after, 'flotilla_writes_total', { kind: 'BundleDeployment', verb: ['create', 'apply'] });
  const bundleWrites = delta(before, after, 'flotilla_writes_total', { kind: 'Bundle' });
  const clusterWrites = delta(before, after, 'flotilla_writes_total', { kind: 'Cluster' });
  const otherWrites = delta(before, after, 'flotilla_writes_total', { kind: (k) => !['BundleDeployment', 'Bundle', 'Cluster'].includes(k) });
  const deletes = delta(before, after, 'flotilla_writes_total', { verb: 'delete' });
  console.log(`# writes: BundleDeployment ${bdWrites} (create/apply ${bdCreates}), Bundle ${bundleWrites} (${(bundleWrites / BUNDLES).toFixed(2)} per bundle), Cluster ${clusterWrites}, other ${otherWrites}`);

  assert.equal(bdCreates, BUNDLES, 'one BundleDeployment create/apply per Bundle');
  assert.equal(bdWrites, BUNDLES, 'no other BundleDeployment writes');
  assert.equal(deletes, 0, 'no deletes');
  assert.equal(otherWrites, 0, 'no Namespace, Content or ClusterGroup writes');
  assert.ok(bundleWrites >= BUNDLES, `every Bundle's summary was written (${bundleWrites})`);
  assert.ok(bundleWrites <= 2 * BUNDLES, `at most two status writes per Bundle (${bundleWrites})`);
  assert.equal(
    delta(before, after, 'flotilla_writes_total', { kind: 'Bundle', verb: (v) => v !== 'patch' && v !== 'apply' && v !== 'update' }),
    0,
    'Bundle writes are status writes only',
  );
  // The flipped Cluster's own status (its BundleDeployment counts, 0 → 500)
  // changes too, so at least one Cluster status write is needed. Intermediate
  // counts may be written while BundleDeployments appear (the coalescing
  // mailbox bounds them by time, not count); what must not happen is a
  // write per BundleDeployment.
  assert.ok(clusterWrites >= 1, 'the flipped Cluster\'s counts were written');
  assert.equal(
    delta(before, after, 'flotilla_writes_total', { kind: 'Cluster', verb: (v) => v !== 'patch' && v !== 'apply' && v !== 'update' }),
    0,
    'Cluster writes are status writes only',
  );
  assert.ok(clusterWrites < BUNDLES / 10, `Cluster status writes are not per BundleDeployment (${clusterWrites})`);

  // Every request the client sent is accounted for by the writes counter:
  // writes the product did not count would show up here.
  const restWritesOther = delta(before, after, 'flotilla_api_requests_total', {
    verb: WRITE_VERBS,
    resource: (r) => !/^(bundledeployments|bundles|clusters)\.flotilla\.dev(\/status)?$/.test(r),
  });
  assert.equal(restWritesOther, 0, 'no API writes to other resources (namespaces, contents, events)');
  const restBdWrites = delta(before, after, 'flotilla_api_requests_total', { verb: WRITE_VERBS, resource: 'bundledeployments.flotilla.dev', code: /2\d\d/ });
  assert.equal(restBdWrites, BUNDLES, 'the API saw exactly the BundleDeployment writes the counter reports');

  const bds = await listAll(admin, T.BundleDeployment, { namespace: thirdNs });
  assert.equal(new Set(bds.map((bd) => bd.metadata.labels?.[Label.BundleName])).size, BUNDLES, 'one per Bundle');
});

const RESYNC_SECONDS = 15;

test('a restarted controller over the converged world writes nothing', async () => {
  const code = await flotilla.stop();
  assert.equal(code, 0, `graceful exit:\n${flotilla.logTail(20)}`);
  const restartedAt = Date.now();
  // A short resync period so the next test can watch a resync too.
  flotilla = await env.startFlotilla({ name: 'flotilla-restarted', config: { resyncPeriodSeconds: RESYNC_SECONDS } });
  await flotilla.waitForReady();
  await flotilla.waitForLog((line) => line.msg === 'reconciling', { description: 'the manager to start reconciling' });
  // Every object must have been looked at: at least one reconcile per Bundle and per Cluster.
  const idle = await flotilla.waitForIdle({ minReconciles: BUNDLES + 3, stableMs: 3000, description: 'restarted controller reconciled everything and idle' });
  console.log(`# restart: ready and idle after ${Date.now() - restartedAt} ms, ${idle.sum('controller_runtime_reconcile_total')} reconciles`);
  console.log(`# restart: reconciles by controller: ${JSON.stringify(idle.groupBy('controller_runtime_reconcile_total', ['controller', 'result']))}`);
  const writes = idle.groupBy('flotilla_writes_total', ['kind', 'verb', 'reason']);
  const restWrites = idle.groupBy('flotilla_api_requests_total', ['verb', 'resource', 'code'], { verb: WRITE_VERBS });
  assert.ok(idle.sum('controller_runtime_reconcile_total', { controller: /.*bundle.*/i }) >= BUNDLES, 'every Bundle was reconciled');
  assert.equal(idle.sum('flotilla_writes_total'), 0, `no writes after restart: ${JSON.stringify(writes)}`);
  assert.equal(idle.sum('flotilla_api_requests_total', { verb: WRITE_VERBS }), 0, `no write requests after restart: ${JSON.stringify(restWrites)}`);
  assert.equal(await countObjects(env.admin, T.BundleDeployment), 3 * BUNDLES, 'the world is unchanged');
});

test('a resync of the unchanged world writes nothing either', async () => {
  const before = await flotilla.metrics();
  const reconciledBefore = before.sum('controller_runtime_reconcile_total', { controller: 'bundle' });
  // A resync re-enqueues every cached object: wait until every Bundle was reconciled once more.
  const afterResync = await flotilla.waitForIdle({
    minReconciles: before.sum('controller_runtime_reconcile_total') + BUNDLES,
    timeoutMs: (RESYNC_SECONDS + 60) * 1000,
    description: 'a resync to re-reconcile every Bundle',
  });
  const resynced = afterResync.sum('controller_runtime_reconcile_total', { controller: 'bundle' }) - reconciledBefore;
  console.log(`# resync: ${resynced} more bundle reconciles, writes ${JSON.stringify(afterResync.groupBy('flotilla_writes_total', ['kind', 'verb', 'reason']))}`);
  assert.ok(resynced >= BUNDLES, `every Bundle was reconciled again by the resync (${resynced})`);
  assert.equal(afterResync.sum('flotilla_writes_total'), 0, 'no writes on resync');
  assert.equal(afterResync.sum('flotilla_api_requests_total', { verb: WRITE_VERBS }), 0, 'no write requests on resync');
});
