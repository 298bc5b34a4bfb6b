/**
 * The throttling fault scenarios (7: an API Priority and Fairness level that
 * queues; 13: one that rejects) share one world and one check: the
 * controller's user is put into a small priority level, and the controller
 * must honour every Retry-After, keep running and converge to exactly the
 * oracle's set. The time it takes is reported, not asserted.
 */
import assert from 'node:assert/strict';
import { reportLoggedProblems, startPlacementEnv, type FlotillaProcess, type PlacementEnv } from './flotilla.ts';
import { burst, describeLimit, limitReport, throttleUser, type ApfLimitResponse } from './apf.ts';
import { createBundles, prepareWorkspace, waitForOracle } from './fanout-world.ts';
import { reportRecovery, secondsSince } from './faults.ts';

export interface ThrottlingScenario {
  /** Fault-suite number, for the report. */
  scenario: number;
  /** Report name, e.g. `throttling (APF 429)`. */
  reportName: string;
  workspace: string;
  /** Priority level name; also the controller process's name. */
  level: string;
  limitResponse: ApfLimitResponse;
  /** LISTs in the probe burst that shows the level really answers 429. */
  burstSize: number;
  convergeTimeoutMs: number;
}

const USER = 'flotilla-controller';
const CLUSTERS = 8;
const BUNDLES = 60;

/**
 * The scenario's set-up, tear-down and test body. The test file registers
 * them itself (`before`, `after`, `test`): node attributes a test to the file
 * that calls `test()`, and the run's integrity check counts per test file.
 */
export function throttlingScenario(s: ThrottlingScenario): { setUp(): Promise<void>; tearDown(): Promise<void>; run(): Promise<void> } {
  let env: PlacementEnv;
  let proc: FlotillaProcess | undefined;

  const setUp = async (): Promise<void> => {
    env = await startPlacementEnv();
    await prepareWorkspace(
      env,
      s.workspace,
      Array.from({ length: CLUSTERS }, (_, i) => ({ name: `c${i}`, labels: { env: i % 2 === 0 ? 'prod' : 'dev' } })),
    );
    await createBundles(env.admin, s.workspace, BUNDLES, (i) => `b${String(i).padStart(3, '0')}`, (i) =>
      i % 3 === 0 ? [{ clusterSelector: { matchLabels: { env: 'prod' } } }] : [{ clusterSelector: {} }],
    );
  };

  const tearDown = async (): Promise<void> => {
    if (proc) reportLoggedProblems(proc, 10);
    await env?.stop();
  };

  const run = async (): Promise<void> => {
    const { admin, adminKubeConfig } = env;
    const bundlesPath = `/apis/flotilla.dev/v1alpha1/namespaces/${s.workspace}/bundles`;
    const controllerKc = await throttleUser(
      adminKubeConfig,
      env.controllerKubeconfig,
      { user: USER, level: s.level, limitResponse: s.limitResponse },
      `${bundlesPath}?limit=1`,
    );

    // The server really answers bursts of this user with 429 + Retry-After.
    const probe = await burst(controllerKc, bundlesPath, s.burstSize);
    console.log(`# a burst of ${s.burstSize} LISTs as ${USER}: ${probe.rejected} answered 429, Retry-After ${JSON.stringify(probe.retryAfter[0])}`);
    assert.ok(probe.rejected > 0, 'the priority level rejects a burst');
    assert.ok(probe.retryAfter.every((r) => r !== undefined), 'every 429 carries Retry-After');

    const startedAt = Date.now();
    proc = await env.startFlotilla({ name: s.level, config: { log: { level: 'debug' } } });
    const desired = await waitForOracle(admin, {
      timeoutMs: s.convergeTimeoutMs,
      intervalMs: 500,
      description: 'the throttled controller to converge to the oracle',
    });
    const convergedSeconds = secondsSince(startedAt);
    assert.equal(proc.isRunning(), true, 'the controller kept running');

    const m = await proc.waitForIdle({ timeoutMs: 120_000, description: 'the throttled controller to go idle' });
    const throttled = m.sum('rest_client_requests_total', { code: '429' });
    const retries = m.sum('rest_client_request_retries_total', { code: '429' });
    const requests = m.sum('rest_client_requests_total');
    const errors = m.sum('controller_runtime_reconcile_errors_total');
    // Honouring Retry-After: every retry waited what the server asked (APF asks for at least 1 s).
    const waits = proc.logs.filter((l) => l.msg === 'server asked to retry later').map((l) => Number(l.waitMs));
    const waitedSeconds = waits.reduce((a, b) => a + b, 0) / 1000;
    const limit = limitReport(proc.logs, m);
    console.log(
      `# converged ${desired} BundleDeployments in ${convergedSeconds.toFixed(1)} s under a ${s.limitResponse === 'reject' ? 'rejecting' : 'queuing'} level: ${throttled} of ${requests} requests answered 429, ${retries} retried after Retry-After (waits ${Math.min(...waits)}-${Math.max(...waits)} ms, ${waitedSeconds.toFixed(0)} s in all), ${errors} reconcile errors; ${describeLimit(limit)}`,
    );
    assert.ok(throttled > 0, 'the controller was throttled (rest_client_requests_total{code="429"})');
    assert.ok(retries > 0, 'it retried as the server asked (rest_client_request_retries_total)');
    assert.equal(waits.length, retries, 'every retry logged its wait');
    assert.ok(waits.every((w) => w >= 1000), 'each retry waited at least the Retry-After the server sent (APF sends at least 1 s)');

    reportRecovery({
      scenario: s.scenario,
      name: s.reportName,
      recoverySeconds: convergedSeconds,
      details: { desired, requests, throttled, retries, maxWaitMs: Math.max(...waits), reconcileErrors: errors, limit },
      summary: `converged ${desired}/${desired} under a ${s.limitResponse === 'reject' ? 'rejecting ' : ''}${s.level} priority level; ${throttled} of ${requests} requests answered 429, ${retries} retried after Retry-After (longest wait ${Math.max(...waits) / 1000} s), ${errors} reconcile errors, ${describeLimit(limit)}, 0 exits`,
    });
    assert.equal(await proc.stop(), 0);
  };

  return { setUp, tearDown, run };
}
