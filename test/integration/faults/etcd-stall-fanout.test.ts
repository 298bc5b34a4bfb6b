import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  T,
  bundleObject,
  countObjects,
  listAll,
  mapConcurrent,
  reportLoggedProblems,
  startPlacementEnv,
  waitForConvergence,
  type FlotillaProcess,
  type PlacementEnv,
} from '../../support/flotilla.ts';
import {
  HealthProber,
  describeCounts,
  holdFault,
  placementConvergence,
  reportRecovery,
  seedBundleName,
  seedResources,
  seedWorld,
} from '../../support/faults.ts';
import { createDeploymentNamespaces } from '../../support/fanout-world.ts';
import { scrapeMetrics } from '../../support/metrics.ts';
import { waitFor } from '../../../src/util/wait.ts';

/**
 * Scenario 3: etcd stalls in the middle of a 3,000-BundleDeployment fan-out
 * (300 Bundles × 10 Clusters). Writes in flight time out with 504 — some of
 * them were committed anyway when etcd resumes (the ambiguous write every
 * controller must survive). After recovery the set must be exactly right:
 * none missing, none extra, no duplicates, none left terminating.
 */

const STALL_MS = 20_000;
const ws = 'stall-fanout';
const CLUSTERS = 10;
const BUNDLES = 300;
let env: PlacementEnv;
let flotilla: FlotillaProcess | undefined;

before(async () => {
  env = await startPlacementEnv({ requestTimeout: '5s' });
  const { admin } = env;
  await seedWorld(admin, { workspace: ws, clusters: CLUSTERS, bundles: 0 });
  // Deployment namespaces first, with a short-lived controller, so that the
  // fan-out is BundleDeployment writes only and its progress is countable.
  await createDeploymentNamespaces(env, ws);
  await mapConcurrent(
    Array.from({ length: BUNDLES }, (_, i) => i),
    16,
    (i) => admin.create(T.Bundle, bundleObject(ws, seedBundleName(i), [{ clusterSelector: {} }], seedResources(i))),
  );
});

after(async () => {
  env?.cp.resumeEtcd();
  if (flotilla) reportLoggedProblems(flotilla);
  await env?.stop();
});

const bdWrites = { verb: ['create', 'apply'], resource: 'bundledeployments.flotilla.dev' };

test('etcd stall mid fan-out of 3,000 BundleDeployments: afterwards exactly the desired set', async () => {
  const { cp, admin } = env;
  const desired = CLUSTERS * BUNDLES;
  flotilla = await env.startFlotilla({ name: 'flotilla-stall-fanout' });
  const proc = flotilla;
  const startedAt = Date.now();
  // Completed writes (2xx) as the controller counts them: a local scrape,
  // cheap enough to poll fast. A third of the fan-out, then stall.
  const third = Math.floor(desired / 3);
  const writesAtStall = await waitFor(
    async () => {
      const n = (await scrapeMetrics(proc.metricsUrl, { timeoutMs: 2000 })).sum('flotilla_api_requests_total', { ...bdWrites, code: /2\d\d/ });
      return n >= third ? n : undefined;
    },
    { timeoutMs: 240_000, intervalMs: 50, description: `${third} BundleDeployment writes` },
  );
  const prober = new HealthProber(proc.healthUrl).start('stalled');
  cp.pauseEtcd();
  const pausedAt = Date.now();
  let resumedAt = 0;
  let existingAtResume = 0;
  try {
    console.log(`# etcd stopped ${((pausedAt - startedAt) / 1000).toFixed(1)} s into the fan-out, after ${writesAtStall} completed BundleDeployment writes`);
    await holdFault(STALL_MS, () => {
      assert.ok(proc.isRunning(), `the controller exited during the stall:\n${proc.logTail(30)}`);
    });
  } finally {
    cp.resumeEtcd();
    resumedAt = Date.now();
    prober.phase('recovering');
  }
  existingAtResume = await countObjects(admin, T.BundleDeployment);
  console.log(`# ${existingAtResume}/${desired} BundleDeployments existed when etcd came back`);
  assert.ok(existingAtResume < desired, `the stall hit the fan-out in the middle (${existingAtResume}/${desired} existed)`);

  let last = { desired: 0, existing: 0 };
  await waitForConvergence(
    async () => {
      const report = await placementConvergence(admin, { summaries: true });
      last = report;
      return report.problems;
    },
    { timeoutMs: 240_000, intervalMs: 250, description: 'exactly the desired 3,000 BundleDeployments after etcd returned' },
  );
  const convergedAt = Date.now();
  await prober.stop();
  const m = await proc.waitForIdle({ timeoutMs: 120_000 });

  assert.ok(proc.isRunning(), 'the controller is still running');
  const stalled = prober.counts('stalled');
  console.log(`# /healthz stalled: ${describeCounts(stalled.healthz)}; /readyz stalled: ${describeCounts(stalled.readyz)}`);
  assert.deepEqual({ failed: stalled.healthz.failed, unreachable: stalled.healthz.unreachable }, { failed: {}, unreachable: 0 }, '/healthz always 200 during the stall');

  // Exactly the set: nothing extra, not even terminating leftovers.
  const all = await listAll(admin, T.BundleDeployment);
  assert.equal(last.desired, desired);
  assert.equal(all.length, desired, 'exactly 3,000 BundleDeployments exist');
  assert.equal(new Set(all.map((bd) => `${bd.metadata.namespace}/${bd.metadata.name}`)).size, desired, 'no duplicates');
  assert.equal(all.filter((bd) => bd.metadata.deletionTimestamp).length, 0, 'none terminating');

  const attempts = m.sum('flotilla_api_requests_total', bdWrites);
  const succeeded = m.sum('flotilla_api_requests_total', { ...bdWrites, code: /2\d\d/ });
  const failed = attempts - succeeded;
  const deletes = m.sum('flotilla_writes_total', { kind: 'BundleDeployment', verb: 'delete' });
  const byCode = m.groupBy('flotilla_api_requests_total', ['code'], bdWrites);
  console.log(`# BundleDeployment writes: ${attempts} sent, ${succeeded} succeeded, ${failed} failed; by code ${JSON.stringify(byCode)}; ${deletes} deletes`);
  assert.equal(deletes, 0, 'nothing to delete in a pure fan-out, and nothing was');
  assert.ok(failed >= 1, 'writes did fail during the stall');

  const recoverySeconds = (convergedAt - resumedAt) / 1000;
  // Throughput before the stall vs while catching up after it: a catch-up
  // much slower than the fan-out itself would mean the stall left damage
  // (keys parked in long backoffs), not just work to finish.
  const rateBefore = writesAtStall / ((pausedAt - startedAt) / 1000);
  const rateAfter = (desired - existingAtResume) / recoverySeconds;
  console.log(`# fan-out rate: ${rateBefore.toFixed(0)} BundleDeployments/s before the stall, ${rateAfter.toFixed(0)}/s catching up after it`);
  reportRecovery({
    scenario: 3,
    name: 'etcd stall mid fan-out',
    recoverySeconds,
    summary: `stalled ${STALL_MS / 1000} s at ${writesAtStall}/${desired} writes; ${existingAtResume} existed at SIGCONT; ${all.length}/${desired} afterwards, 0 missing, 0 extra, 0 duplicates; ${failed} failed writes retried; catch-up ${rateAfter.toFixed(0)}/s vs ${rateBefore.toFixed(0)}/s before the stall; 0 exits`,
    details: {
      stallSeconds: STALL_MS / 1000,
      desired,
      writesAtStall,
      existingAtResume,
      final: all.length,
      missing: 0,
      extra: 0,
      duplicates: 0,
      writesSent: attempts,
      writesFailed: failed,
      fanOutSeconds: (convergedAt - startedAt) / 1000,
      rateBeforePerSecond: Math.round(rateBefore),
      catchUpRatePerSecond: Math.round(rateAfter),
    },
  });
});
