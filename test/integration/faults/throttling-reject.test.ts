import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { reportLoggedProblems, startPlacementEnv, type FlotillaProcess, type PlacementEnv } from '../../support/flotilla.ts';
import { burst, describeLimit, limitReport, throttleUser } from '../../support/apf.ts';
import { createBundles, prepareWorkspace, waitForOracle } from '../../support/fanout-world.ts';
import { reportRecovery, secondsSince } from '../../support/faults.ts';

/**
 * Scenario 13: scenario 7's world (400 BundleDeployments) under a priority
 * level that rejects instead of queuing (`limitResponse: Reject`): every
 * request of `flotilla-controller` beyond the level's few seats is answered
 * 429 at once, and the server raises the level's Retry-After (doubling, up to
 * 32 s) for as long as it keeps rejecting several requests per second. A
 * client that keeps as many requests in flight as it did before the first
 * 429 keeps being rejected, and spends most of its time in the long waits it
 * caused. The controller must honour every Retry-After and converge to
 * exactly the oracle's set; the time it takes is reported, not asserted.
 */

const ws = 'rejected';
const USER = 'flotilla-controller';
const PRIORITY_LEVEL = 'flotilla-rejected';
const CLUSTERS = 8;
const BUNDLES = 60;

let env: PlacementEnv;
let proc: FlotillaProcess | undefined;

before(async () => {
  env = await startPlacementEnv();
  await prepareWorkspace(
    env,
    ws,
    Array.from({ length: CLUSTERS }, (_, i) => ({ name: `c${i}`, labels: { env: i % 2 === 0 ? 'prod' : 'dev' } })),
  );
  await createBundles(env.admin, ws, BUNDLES, (i) => `b${String(i).padStart(3, '0')}`, (i) =>
    i % 3 === 0 ? [{ clusterSelector: { matchLabels: { env: 'prod' } } }] : [{ clusterSelector: {} }],
  );
});

after(async () => {
  if (proc) reportLoggedProblems(proc, 10);
  await env?.stop();
});

test('throttled by a rejecting APF level: 429s are honoured and the controller converges', async () => {
  const { admin, adminKubeConfig } = env;
  const controllerKc = await throttleUser(
    adminKubeConfig,
    env.controllerKubeconfig,
    { user: USER, level: PRIORITY_LEVEL, limitResponse: 'reject' },
    `/apis/flotilla.dev/v1alpha1/namespaces/${ws}/bundles?limit=1`,
  );

  // The level really rejects concurrent requests of this user, without queuing them.
  const probe = await burst(controllerKc, `/apis/flotilla.dev/v1alpha1/namespaces/${ws}/bundles`, 20);
  console.log(`# a burst of 20 LISTs as ${USER}: ${probe.rejected} answered 429, Retry-After ${JSON.stringify(probe.retryAfter[0])}`);
  assert.ok(probe.rejected > 0, 'the priority level rejects a burst');
  assert.ok(probe.retryAfter.every((r) => r !== undefined), 'every 429 carries Retry-After');

  const startedAt = Date.now();
  proc = await env.startFlotilla({ name: 'flotilla-rejected', config: { log: { level: 'debug' } } });
  const desired = await waitForOracle(admin, { timeoutMs: 600_000, intervalMs: 500, description: 'the throttled controller to converge to the oracle' });
  const convergedSeconds = secondsSince(startedAt);
  assert.equal(proc.isRunning(), true, 'the controller kept running');

  const m = await proc.waitForIdle({ timeoutMs: 120_000, description: 'the throttled controller to go idle' });
  const throttled = m.sum('rest_client_requests_total', { code: '429' });
  const retries = m.sum('rest_client_request_retries_total', { code: '429' });
  const requests = m.sum('rest_client_requests_total');
  const errors = m.sum('controller_runtime_reconcile_errors_total');
  const waits = proc.logs.filter((l) => l.msg === 'server asked to retry later').map((l) => Number(l.waitMs));
  const waitedSeconds = waits.reduce((a, b) => a + b, 0) / 1000;
  const limit = limitReport(proc.logs, m);
  console.log(
    `# converged ${desired} BundleDeployments in ${convergedSeconds.toFixed(1)} s under a rejecting level: ${throttled} of ${requests} requests answered 429, ${retries} retried after Retry-After (waits ${Math.min(...waits)}-${Math.max(...waits)} ms, ${waitedSeconds.toFixed(0)} s in all), ${errors} reconcile errors; ${describeLimit(limit)}`,
  );
  assert.ok(throttled > 0, 'the controller was throttled (rest_client_requests_total{code="429"})');
  assert.ok(retries > 0, 'it retried as the server asked (rest_client_request_retries_total)');
  assert.equal(waits.length, retries, 'every retry logged its wait');
  assert.ok(waits.every((w) => w >= 1000), 'each retry waited at least the Retry-After the server sent (APF sends at least 1 s)');

  reportRecovery({
    scenario: 13,
    name: 'throttling (APF 429, Reject level)',
    recoverySeconds: convergedSeconds,
    details: { desired, requests, throttled, retries, maxWaitMs: Math.max(...waits), reconcileErrors: errors, limit },
    summary: `converged ${desired}/${desired} under a rejecting ${PRIORITY_LEVEL} priority level; ${throttled} of ${requests} requests answered 429, ${retries} retried after Retry-After (longest wait ${Math.max(...waits) / 1000} s), ${errors} reconcile errors, ${describeLimit(limit)}, 0 exits`,
  });
  assert.equal(await proc.stop(), 0);
});
