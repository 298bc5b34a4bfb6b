import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Label } from '../../../src/api/constants.ts';
import {
  T,
  bundleObject,
  listAll,
  reportLoggedProblems,
  startPlacementEnv,
  waitForConvergence,
  type FlotillaProcess,
  type PlacementEnv,
} from '../../support/flotilla.ts';
import {
  HealthProber,
  compareIdentities,
  describeCounts,
  holdFault,
  identities,
  patchStoredObject,
  placementConvergence,
  reportRecovery,
  startConverged,
  seedClusterName,
  seedResources,
  seedWorld,
} from '../../support/faults.ts';
import { delta, type Metrics } from '../../support/metrics.ts';
import { waitFor } from '../../../src/util/wait.ts';

/**
 * Scenario 4: kube-apiserver is killed (graceful stop: its watches close,
 * then connections are refused) and started again. While it is down,
 * another API server of an HA control plane changes a Cluster's labels
 * (written straight to etcd, as that server would). The controller must
 * keep running, re-establish every watch, reconcile the change it could
 * not see happen, and then follow new changes live.
 */

const DOWN_MS = 10_000;
const ws = 'apiserver-restart';
const CLUSTERS = 8;
const BUNDLES = 40;
let env: PlacementEnv;
let flotilla: FlotillaProcess | undefined;

before(async () => {
  env = await startPlacementEnv();
  await seedWorld(env.admin, { workspace: ws, clusters: CLUSTERS, bundles: BUNDLES });
});

after(async () => {
  if (flotilla) reportLoggedProblems(flotilla);
  await env?.stop();
});

test('API server restart: watches re-established, a change made while it was down is reconciled', async () => {
  const { cp, admin } = env;
  const { proc } = await startConverged(env, 'flotilla-apiserver-restart');
  flotilla = proc;
  const bdsBefore = await listAll(admin, T.BundleDeployment);
  const idsBefore = identities(bdsBefore);
  const metricsBefore = await proc.metrics();
  // Watches the API server accepted (HTTP 200), per resource.
  const openWatches = (m: Metrics) => m.groupBy('flotilla_api_requests_total', ['resource'], { verb: 'watch', code: '200' });
  const watchesBefore = openWatches(metricsBefore);
  assert.equal(Object.keys(watchesBefore).length, 7, `seven informers watch (${JSON.stringify(watchesBefore)})`);
  // The default api.transport (auto) speaks HTTP/2 to kube-apiserver.
  assert.ok(metricsBefore.sum('flotilla_api_connection_info', { protocol: 'h2' }) >= 1, 'the controller speaks HTTP/2');
  assert.equal(metricsBefore.sum('flotilla_api_connection_info', { protocol: 'http/1.1' }), 0);

  const prober = new HealthProber(proc.healthUrl).start('down');
  const stoppingAt = Date.now();
  await cp.stopApiServer();
  const stoppedAt = Date.now();
  console.log(`# API server stopped in ${((stoppedAt - stoppingAt) / 1000).toFixed(1)} s`);
  // c00 is env=dev: it becomes prod, so the env=prod Bundles now want it too.
  const relabelled = seedClusterName(0);
  const etcdRevision = await patchStoredObject(cp.etcdClientUrl, { group: T.Cluster.group, resource: T.Cluster.plural, namespace: ws, name: relabelled }, (obj) => {
    obj.metadata.labels = { ...(obj.metadata.labels as Record<string, string>), env: 'prod', moved: 'while-down' };
  });
  console.log(`# relabelled ${relabelled} in etcd at revision ${etcdRevision} while the API server was down`);
  await holdFault(DOWN_MS - (Date.now() - stoppedAt), () => {
    assert.ok(proc.isRunning(), `the controller exited while the API server was down:\n${proc.logTail(30)}`);
  });
  await cp.startApiServer();
  const restartedAt = Date.now();
  prober.phase('recovering');

  const cluster = await admin.get<{ metadata: { labels?: Record<string, string> } }>(T.Cluster, relabelled, ws);
  assert.equal(cluster.metadata.labels?.moved, 'while-down', 'the restarted API server serves the change made while it was down');

  let last = { desired: 0, existing: 0 };
  await waitForConvergence(
    async () => {
      const report = await placementConvergence(admin, { summaries: true });
      last = report;
      return report.problems;
    },
    { timeoutMs: 120_000, intervalMs: 250, description: 'the change made while the API server was down to be reconciled' },
  );
  const convergedAt = Date.now();
  const onRelabelled = (await listAll(admin, T.BundleDeployment)).filter((bd) => bd.metadata.labels?.[Label.ClusterName] === relabelled).length;
  assert.equal(onRelabelled, BUNDLES, `the relabelled Cluster now gets every Bundle (${onRelabelled})`);

  // Every informer watches again: a WATCH accepted after the restart, per resource.
  const watchesAfter = await waitFor(
    async () => {
      const now = openWatches(await proc.metrics());
      return Object.keys(watchesBefore).every((r) => (now[r] ?? 0) > (watchesBefore[r] ?? 0)) ? now : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 250, description: 'every informer to have a watch accepted again' },
  );
  const watchesAt = Date.now();
  // Live again: a new change arrives by watch and is reconciled.
  const changeAt = Date.now();
  await admin.create(T.Bundle, bundleObject(ws, 'after-restart', [{ clusterName: relabelled }], seedResources(3, 'after')));
  await waitFor(async () => (await listAll(admin, T.BundleDeployment, { labelSelector: `${Label.BundleName}=after-restart` })).length === 1, {
    timeoutMs: 30_000,
    intervalMs: 100,
    description: 'a Bundle created after the restart to be deployed',
  });
  const liveLatency = (Date.now() - changeAt) / 1000;
  const watchesReestablishedSeconds = (watchesAt - restartedAt) / 1000;
  await prober.stop();
  const metricsAfter = await proc.waitForIdle({ timeoutMs: 60_000 });

  assert.ok(proc.isRunning(), 'the controller is still running');
  const down = prober.counts('down');
  console.log(`# /healthz down: ${describeCounts(down.healthz)}; /readyz down: ${describeCounts(down.readyz)}`);
  assert.deepEqual({ failed: down.healthz.failed, unreachable: down.healthz.unreachable }, { failed: {}, unreachable: 0 }, '/healthz 200 while the API server was down');
  const identity = compareIdentities(idsBefore, await listAll(admin, T.BundleDeployment));
  assert.deepEqual(identity, { deleted: [], recreated: [], terminating: [] }, 'no BundleDeployment deleted or recreated');
  assert.equal(delta(metricsBefore, metricsAfter, 'flotilla_writes_total', { kind: 'BundleDeployment', verb: 'delete' }), 0, 'no deletes');
  // The restart ended the HTTP/2 sessions; requests and watches went on over new ones.
  assert.ok(delta(metricsBefore, metricsAfter, 'flotilla_api_http2_sessions_opened_total') >= 1, 'new HTTP/2 sessions after the restart');
  const relists = delta(metricsBefore, metricsAfter, 'flotilla_reflector_relists_total');
  const watchErrors = delta(metricsBefore, metricsAfter, 'flotilla_reflector_watch_restarts_total', { reason: ['error', 'expired'] });
  const throttled = delta(metricsBefore, metricsAfter, 'flotilla_api_requests_total', { verb: ['list', 'watch'], code: '429' });
  console.log(`# informer LIST/WATCH answered 429 after the restart (storage initializing, Retry-After believed): ${throttled}`);
  console.log(`# watches: before ${JSON.stringify(watchesBefore)}, after ${JSON.stringify(watchesAfter)}; ${relists} relists; ${watchErrors} failed watch restarts`);

  const recoverySeconds = (convergedAt - restartedAt) / 1000;
  reportRecovery({
    scenario: 4,
    name: 'API server restart',
    recoverySeconds,
    summary: `down ${((restartedAt - stoppingAt) / 1000).toFixed(1)} s; change made while down reconciled; ${Object.keys(watchesBefore).length}/${Object.keys(watchesBefore).length} watches re-established within ${watchesReestablishedSeconds.toFixed(1)} s; ${relists} relists; next change live in ${liveLatency.toFixed(1)} s; 0 deleted, 0 recreated; ${last.existing}/${last.desired} converged; 0 exits`,
    details: {
      downSeconds: (restartedAt - stoppingAt) / 1000,
      watchesReestablished: Object.keys(watchesBefore).length,
      watchesReestablishedSeconds,
      relists,
      failedWatchRestarts: watchErrors,
      liveChangeSeconds: liveLatency,
      deleted: 0,
      recreated: 0,
      bundleDeployments: last.existing,
      desired: last.desired,
    },
  });
});
