import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Label } from '../../../src/api/constants.ts';
import { contentNameFor } from '../../../src/api/content-name.ts';
import {
  T,
  bundleObject,
  listAll,
  reportLoggedProblems,
  startPlacementEnv,
  waitForConvergence,
  type FlotillaProcess,
  type Obj,
  type PlacementEnv,
} from '../../support/flotilla.ts';
import { AgentSimulator } from '../../support/agent-simulator.ts';
import {
  HealthProber,
  WatchRecorder,
  compareIdentities,
  currentResourceVersion,
  describeCounts,
  holdFault,
  identities,
  placementConvergence,
  reportRecovery,
  startConverged,
  seedBundleName,
  seedClusterName,
  seedResources,
  seedWorld,
} from '../../support/faults.ts';
import { delta } from '../../support/metrics.ts';
import { kubeRequest } from '../../support/kube.ts';
import { levelAtLeast } from '../../../src/observability/logger.ts';

/**
 * Scenario 2: etcd stalls for 30 s while the controller runs in steady
 * state (everything converged, the agent has reported status). LISTs and
 * writes time out (504 after the API server's 5 s request timeout). Changes
 * made just before the stall (acknowledged by the API server) must not be
 * lost; nothing may be deleted or recreated, no status wiped, and the
 * controller must neither exit nor need help to converge afterwards.
 */

const STALL_MS = 30_000;
const ws = 'stall-steady';
const CLUSTERS = 10;
const BUNDLES = 50;
let env: PlacementEnv;
let flotilla: FlotillaProcess | undefined;
const cleanup: Array<{ stop(): Promise<void> }> = [];

before(async () => {
  env = await startPlacementEnv({ requestTimeout: '5s' });
  await seedWorld(env.admin, { workspace: ws, clusters: CLUSTERS, bundles: BUNDLES });
});

after(async () => {
  env?.cp.resumeEtcd();
  await Promise.all(cleanup.map((c) => c.stop()));
  if (flotilla) reportLoggedProblems(flotilla);
  await env?.stop();
});

const statusKey = (o: Obj) => `${o.metadata.namespace}/${o.metadata.name}`;

test('etcd stall in steady state: no exit, nothing deleted or recreated, no status wiped, changes before the stall kept', async () => {
  const { cp, admin } = env;
  const { proc } = await startConverged(env, 'flotilla-stall-steady');
  flotilla = proc;
  // The agent reports every BundleDeployment ready: statuses that must survive.
  const agent = new AgentSimulator(admin);
  await agent.reportAll({}, 'ready');
  await waitForConvergence(async () => (await placementConvergence(admin, { summaries: true })).problems, {
    timeoutMs: 60_000,
    description: 'summaries to count the ready BundleDeployments',
  });
  await proc.waitForIdle({ timeoutMs: 60_000 });

  const bdsBefore = await listAll(admin, T.BundleDeployment);
  const idsBefore = identities(bdsBefore);
  const bdStatusBefore = new Map(bdsBefore.map((bd) => [statusKey(bd), bd.status]));
  const bundlesBefore = new Set((await listAll(admin, T.Bundle)).map(statusKey));
  const recorderFrom = await currentResourceVersion(admin, T.BundleDeployment);
  const bdEvents = new WatchRecorder(admin, T.BundleDeployment, recorderFrom);
  const bundleEvents = new WatchRecorder(admin, T.Bundle, await currentResourceVersion(admin, T.Bundle));
  cleanup.push(bdEvents, bundleEvents);
  const metricsBefore = await proc.metrics();

  // Changes just before the stall, each acknowledged by the API server:
  // a Cluster relabelled (more placements), a Bundle's content changed (its
  // BundleDeployments updated in place), a new Bundle. None removes anything,
  // so every BundleDeployment that existed must survive with its uid.
  await admin.patch(T.Cluster, seedClusterName(0), ws, { metadata: { labels: { env: 'prod' } } });
  const changed = seedBundleName(1);
  await admin.patch(T.Bundle, changed, ws, { spec: { resources: seedResources(1, 'v2') } });
  const added = 'late-arrival';
  await admin.create(T.Bundle, bundleObject(ws, added, [{ clusterSelector: { matchLabels: { region: 'eu' } } }], seedResources(7, 'late')));

  const prober = new HealthProber(proc.healthUrl).start('stalled');
  cleanup.push(prober);
  let resumedAt = 0;
  cp.pauseEtcd();
  const pausedAt = Date.now();
  let listDuringStall: number | string = 'none';
  try {
    // The fault is real: a consistent LIST needs etcd and times out.
    listDuringStall = await kubeRequest(env.adminKubeConfig, { path: `/apis/${T.Bundle.group}/${T.Bundle.version}/bundles?limit=1`, timeoutMs: 20_000 }).then(
      (r) => r.status,
      (error: Error) => `no answer (${error.message})`,
    );
    console.log(`# a LIST during the stall answered: ${listDuringStall}`);
    assert.ok(listDuringStall === 504 || typeof listDuringStall === 'string', `a LIST during the stall fails (${listDuringStall})`);
    await holdFault(STALL_MS - (Date.now() - pausedAt), () => {
      assert.ok(proc.isRunning(), `the controller exited during the stall:\n${proc.logTail(30)}`);
    });
  } finally {
    cp.resumeEtcd();
    resumedAt = Date.now();
    prober.phase('recovering');
  }
  console.log(`# etcd stopped for ${((resumedAt - pausedAt) / 1000).toFixed(1)} s`);

  let last = { desired: 0, existing: 0 };
  await waitForConvergence(
    async () => {
      const report = await placementConvergence(admin, { summaries: true });
      last = report;
      return report.problems;
    },
    { timeoutMs: 120_000, intervalMs: 250, description: 'the placement state to equal the oracle after etcd returned' },
  );
  const convergedAt = Date.now();
  await prober.stop();
  await proc.waitForIdle({ timeoutMs: 60_000 });
  await bdEvents.stop();
  await bundleEvents.stop();
  const metricsAfter = await proc.metrics();

  // The controller never exited, and liveness never failed.
  assert.ok(proc.isRunning(), 'the controller is still running');
  const stalled = prober.counts('stalled');
  const recovering = prober.counts('recovering');
  console.log(`# /healthz stalled: ${describeCounts(stalled.healthz)}; recovering: ${describeCounts(recovering.healthz)}`);
  console.log(`# /readyz  stalled: ${describeCounts(stalled.readyz)}; recovering: ${describeCounts(recovering.readyz)}`);
  for (const [phase, c] of [['stalled', stalled], ['recovering', recovering]] as const) {
    assert.deepEqual({ failed: c.healthz.failed, unreachable: c.healthz.unreachable }, { failed: {}, unreachable: 0 }, `/healthz always 200 (${phase})`);
  }
  assert.equal(proc.logs.filter((l) => levelAtLeast(l.level, 'fatal')).length, 0, 'nothing logged at fatal level');

  // Nothing deleted or recreated: every BundleDeployment from before has its uid.
  const bdsAfter = await listAll(admin, T.BundleDeployment);
  const identity = compareIdentities(idsBefore, bdsAfter);
  assert.deepEqual(identity, { deleted: [], recreated: [], terminating: [] }, 'no BundleDeployment deleted or recreated');
  assert.deepEqual(bdEvents.errors, [], 'the test watch saw every event');
  const deletedEvents = bdEvents.of('DELETED').map((e) => e.key);
  assert.deepEqual(deletedEvents, [], 'no BundleDeployment DELETED event at any time');
  const deleteWrites = delta(metricsBefore, metricsAfter, 'flotilla_writes_total', { kind: 'BundleDeployment', verb: 'delete' });
  assert.equal(deleteWrites, 0, 'the controller sent no BundleDeployment delete');

  // No status wiped: the agent's statuses are untouched, Bundle statuses never lost their summary.
  let statusesWiped = 0;
  for (const bd of bdsAfter) {
    const before = bdStatusBefore.get(statusKey(bd));
    if (before === undefined) continue;
    if (JSON.stringify(bd.status) !== JSON.stringify(before)) statusesWiped++;
  }
  assert.equal(statusesWiped, 0, 'every BundleDeployment status from before is unchanged');
  // (A Bundle created during the scenario has no status until the controller writes one.)
  const wipedBundleStatuses = bundleEvents.events.filter((e) => bundlesBefore.has(e.key) && e.type !== 'DELETED' && e.object.status?.summary === undefined);
  assert.deepEqual(wipedBundleStatuses.map((e) => e.key), [], 'no Bundle status was ever written without its summary');

  // The changes made just before the stall all took effect.
  const ofBundle = (name: string) => bdsAfter.filter((bd) => bd.metadata.labels?.[Label.BundleName] === name);
  assert.equal(ofBundle(added).length, CLUSTERS / 2, `the Bundle created before the stall has its ${CLUSTERS / 2} BundleDeployments`);
  const v2 = contentNameFor(seedResources(1, 'v2'));
  assert.ok(ofBundle(changed).length > 0 && ofBundle(changed).every((bd) => bd.spec?.contentName === v2), 'the changed Bundle\'s BundleDeployments carry its new content');
  const onC00 = bdsAfter.filter((bd) => bd.metadata.labels?.[Label.ClusterName] === seedClusterName(0)).length;
  assert.equal(onC00, BUNDLES + 1, `the relabelled Cluster now gets every Bundle (it got ${onC00})`);

  // The writes the changes needed did meet the stall, and were retried.
  const failedWrites =
    delta(metricsBefore, metricsAfter, 'flotilla_api_requests_total', { verb: ['create', 'apply', 'patch'] }) -
    delta(metricsBefore, metricsAfter, 'flotilla_api_requests_total', { verb: ['create', 'apply', 'patch'], code: /2\d\d/ });
  console.log(`# controller writes that failed during the stall: ${failedWrites}`);
  assert.ok(failedWrites >= 1, 'writes failed during the stall');

  const created = bdsAfter.length - bdsBefore.length;
  const writeGroups = Object.entries(metricsAfter.groupBy('flotilla_writes_total', ['kind', 'verb'])).map(([k, v]) => `${k}=${v - (metricsBefore.groupBy('flotilla_writes_total', ['kind', 'verb'])[k] ?? 0)}`);
  console.log(`# writes during the scenario: ${writeGroups.join(' ')}`);
  const recoverySeconds = (convergedAt - resumedAt) / 1000;
  reportRecovery({
    scenario: 2,
    name: 'etcd stall, steady state',
    recoverySeconds,
    summary: `stalled ${STALL_MS / 1000} s; 0 exits; /healthz ${stalled.healthz.ok}/${stalled.healthz.ok} OK; ${identity.deleted.length} BundleDeployments deleted, ${identity.recreated.length} recreated, ${statusesWiped} statuses wiped; ${failedWrites} failed writes retried; ${created} created from changes made before the stall; ${last.existing}/${last.desired} converged`,
    details: {
      stallSeconds: STALL_MS / 1000,
      exits: 0,
      healthzOkDuringStall: stalled.healthz.ok,
      readyzOkDuringStall: stalled.readyz.ok,
      deleted: identity.deleted.length,
      recreated: identity.recreated.length,
      statusesWiped,
      failedWritesRetried: failedWrites,
      listDuringStall,
      createdFromPreStallChanges: created,
      bundleDeployments: last.existing,
      desired: last.desired,
    },
  });
});
