import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { reportLoggedProblems, startPlacementEnv, waitForConvergence, type FlotillaProcess, type PlacementEnv } from '../../support/flotilla.ts';
import { HealthProber, describeCounts, holdFault, placementConvergence, reportRecovery, seedWorld } from '../../support/faults.ts';
import { waitFor } from '../../../src/util/wait.ts';
import { levelAtLeast } from '../../../src/observability/logger.ts';

/**
 * Scenario 1: etcd is stopped (SIGSTOP) before the controller starts, and
 * stays stopped for 30 s. Every LIST the informers send times out (504 after
 * the API server's 5 s request timeout). The controller must not exit,
 * liveness must stay OK the whole time (a restart would not help: etcd is
 * the problem), readiness must say "not ready" until the caches have synced,
 * and once etcd is back it converges by itself.
 */

const STALL_MS = 30_000;
const ws = 'stall-start';
let env: PlacementEnv;
let flotilla: FlotillaProcess | undefined;

before(async () => {
  env = await startPlacementEnv({ requestTimeout: '5s' });
  await seedWorld(env.admin, { workspace: ws, clusters: 6, bundles: 40 });
});

after(async () => {
  env?.cp.resumeEtcd();
  if (flotilla) reportLoggedProblems(flotilla);
  await env?.stop();
});

test('etcd stalled at start-up: no exit, /healthz OK throughout, /readyz only after sync, converges after etcd returns', async () => {
  const { cp, admin } = env;
  let prober: HealthProber | undefined;
  let resumedAt = 0;
  let listErrors = 0;
  cp.pauseEtcd();
  try {
    flotilla = await env.startFlotilla({ name: 'flotilla-stall-start' });
    const proc = flotilla;
    prober = new HealthProber(proc.healthUrl).start('stalled');
    const stalledSince = Date.now();
    // The informers' first LISTs must have failed (504) during the stall,
    // or the stall did not hit the start-up at all.
    listErrors = await waitFor(
      async () => {
        const n = (await proc.metrics()).sum('flotilla_reflector_lists_total', { result: 'error' });
        return n >= 1 ? n : undefined;
      },
      { timeoutMs: STALL_MS, intervalMs: 250, description: 'a failed informer LIST while etcd is stopped' },
    );
    await holdFault(STALL_MS - (Date.now() - stalledSince), () => {
      assert.ok(proc.isRunning(), `the controller exited during the stall:\n${proc.logTail(30)}`);
    });
    listErrors = (await proc.metrics()).sum('flotilla_reflector_lists_total', { result: 'error' });
  } finally {
    cp.resumeEtcd();
    resumedAt = Date.now();
    prober?.phase('recovering');
  }
  assert.ok(flotilla && prober);
  const proc = flotilla;

  await proc.waitForReady({ timeoutMs: 120_000 });
  const readyAt = Date.now();
  prober.phase('ready');
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

  const stalled = prober.counts('stalled');
  const recovering = prober.counts('recovering');
  const ready = prober.counts('ready');
  console.log(`# /healthz stalled: ${describeCounts(stalled.healthz)}; recovering: ${describeCounts(recovering.healthz)}; ready: ${describeCounts(ready.healthz)}`);
  console.log(`# /readyz  stalled: ${describeCounts(stalled.readyz)}; recovering: ${describeCounts(recovering.readyz)}; ready: ${describeCounts(ready.readyz)}`);

  assert.ok(proc.isRunning(), 'the controller is still running');
  for (const [phase, c] of [['stalled', stalled], ['recovering', recovering], ['ready', ready]] as const) {
    assert.deepEqual({ failed: c.healthz.failed, unreachable: c.healthz.unreachable }, { failed: {}, unreachable: 0 }, `/healthz always 200 (${phase})`);
  }
  assert.ok(stalled.healthz.ok >= 20, `/healthz was probed throughout the stall (${stalled.healthz.ok})`);
  assert.equal(stalled.readyz.ok, 0, '/readyz never 200 while the caches could not sync');
  // 500 is what kube-apiserver and controller-runtime answer for a failed check.
  const notReady = Object.values(stalled.readyz.failed).reduce((a, b) => a + b, 0);
  assert.ok(notReady >= 20, `/readyz answered "not ready" during the stall (${describeCounts(stalled.readyz)})`);
  assert.equal(ready.readyz.unreachable + Object.values(ready.readyz.failed).reduce((a, b) => a + b, 0), 0, '/readyz stays 200 once ready');

  const synced = proc.logs.find((l) => l.msg === 'caches synced');
  assert.ok(synced, 'caches synced was logged');
  assert.equal(proc.logs.filter((l) => levelAtLeast(l.level, 'fatal')).length, 0, 'nothing logged at fatal level');
  assert.ok(listErrors >= 1, 'LISTs failed during the stall');

  const recoverySeconds = (convergedAt - resumedAt) / 1000;
  const readySeconds = (readyAt - resumedAt) / 1000;
  reportRecovery({
    scenario: 1,
    name: 'etcd stall at start-up',
    recoverySeconds,
    summary: `stalled ${STALL_MS / 1000} s; ready ${readySeconds.toFixed(1)} s after SIGCONT; 0 exits; /healthz ${stalled.healthz.ok}/${stalled.healthz.ok} OK during the stall; /readyz 0 OK during the stall; ${listErrors} failed LISTs; ${last.existing}/${last.desired} BundleDeployments converged`,
    details: {
      stallSeconds: STALL_MS / 1000,
      readySeconds,
      exits: 0,
      healthzOkDuringStall: stalled.healthz.ok,
      healthzFailedDuringStall: 0,
      readyzOkDuringStall: stalled.readyz.ok,
      readyzNotReadyDuringStall: notReady,
      failedLists: listErrors,
      bundleDeployments: last.existing,
      desired: last.desired,
    },
  });
});
