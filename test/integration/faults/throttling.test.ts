import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { reportLoggedProblems, startPlacementEnv, type FlotillaProcess, type PlacementEnv } from '../../support/flotilla.ts';
import { burst, describeLimit, limitReport, throttleUser } from '../../support/apf.ts';
import { createBundles, prepareWorkspace, waitForOracle } from '../../support/fanout-world.ts';
import { reportRecovery, secondsSince } from '../../support/faults.ts';

/**
 * Scenario 7: the controller's user is throttled for real by API Priority
 * and Fairness: a FlowSchema puts every request of `flotilla-controller`
 * into a priority level with the smallest share of the server's concurrency
 * (1 of ~246 shares: a few seats), no borrowing, and one short queue, so
 * requests beyond those seats and that queue get 429 with Retry-After (which
 * APF doubles, up to 32 s, while it keeps dropping). The controller must
 * wait as the server asks (client-go's behaviour), keep running, and still
 * converge to exactly the oracle's set.
 *
 * The same world under a level without a queue (`limitResponse: Reject`)
 * is scenario 13, throttling-reject.test.ts.
 */

const ws = 'throttled';
const USER = 'flotilla-controller';
const PRIORITY_LEVEL = 'flotilla-throttled';
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

test('throttled by API Priority and Fairness: 429s are honoured and the controller converges', async () => {
  const { admin, adminKubeConfig } = env;
  const controllerKc = await throttleUser(
    adminKubeConfig,
    env.controllerKubeconfig,
    { user: USER, level: PRIORITY_LEVEL, limitResponse: 'queue' },
    `/apis/flotilla.dev/v1alpha1/namespaces/${ws}/bundles?limit=1`,
  );

  // The server really rejects bursts of this user with 429 + Retry-After.
  const probe = await burst(controllerKc, `/apis/flotilla.dev/v1alpha1/namespaces/${ws}/bundles`, 60);
  console.log(`# a burst of 60 LISTs as ${USER}: ${probe.rejected} answered 429, Retry-After ${JSON.stringify(probe.retryAfter[0])}`);
  assert.ok(probe.rejected > 0, 'the priority level rejects a burst');
  assert.ok(probe.retryAfter.every((r) => r !== undefined), 'every 429 carries Retry-After');

  const startedAt = Date.now();
  proc = await env.startFlotilla({ name: 'flotilla-throttled', config: { log: { level: 'debug' } } });
  const desired = await waitForOracle(admin, { timeoutMs: 240_000, intervalMs: 500, description: 'the throttled controller to converge to the oracle' });
  const convergedSeconds = secondsSince(startedAt);
  assert.equal(proc.isRunning(), true, 'the controller kept running');

  const m = await proc.waitForIdle({ timeoutMs: 120_000, description: 'the throttled controller to go idle' });
  const throttled = m.sum('rest_client_requests_total', { code: '429' });
  const retries = m.sum('rest_client_request_retries_total', { code: '429' });
  const requests = m.sum('rest_client_requests_total');
  const errors = m.sum('controller_runtime_reconcile_errors_total');
  // Honouring Retry-After: every retry waited what the server asked (APF asks for at least 1 s).
  const waits = proc.logs.filter((l) => l.msg === 'server asked to retry later').map((l) => Number(l.waitMs));
  const limit = limitReport(proc.logs, m);
  console.log(
    `# converged ${desired} BundleDeployments in ${convergedSeconds.toFixed(1)} s under APF: ${throttled} of ${requests} requests answered 429, ${retries} retried after Retry-After (waits ${Math.min(...waits)}-${Math.max(...waits)} ms), ${errors} reconcile errors; ${describeLimit(limit)}`,
  );
  assert.ok(throttled > 0, 'the controller was throttled (rest_client_requests_total{code="429"})');
  assert.ok(retries > 0, 'it retried as the server asked (rest_client_request_retries_total)');
  assert.equal(waits.length, retries, 'every retry logged its wait');
  assert.ok(waits.every((w) => w >= 1000), 'each retry waited at least the Retry-After the server sent');

  reportRecovery({
    scenario: 7,
    name: 'throttling (APF 429)',
    recoverySeconds: convergedSeconds,
    details: { desired, requests, throttled, retries, reconcileErrors: errors, limit },
    summary: `converged ${desired}/${desired} under a ${PRIORITY_LEVEL} priority level; ${throttled} of ${requests} requests answered 429, ${retries} retried after Retry-After, ${errors} reconcile errors, 0 exits`,
  });
  assert.equal(await proc.stop(), 0);
});
