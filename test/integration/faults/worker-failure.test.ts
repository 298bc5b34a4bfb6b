import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { waitFor } from '../../../src/util/wait.ts';
import { T, listAll, reportLoggedProblems, startPlacementEnv, type FlotillaProcess, type LogLine, type PlacementEnv } from '../../support/flotilla.ts';
import { createBundles, prepareWorkspace, waitForOracle } from '../../support/fanout-world.ts';
import { reportRecovery, secondsSince } from '../../support/faults.ts';
import { seededRandom } from '../../support/random.ts';

/**
 * Scenario 11: selector-pool workers fail for real inside the running
 * controller. `FLOTILLA_TEST_WORKER_FAULT=<mode>:3` (workers/selector-worker.ts)
 * makes every worker thread fail on its third task: `crash` throws an
 * uncaught exception; `oom` allocates until the worker exceeds the heap
 * limit set by `concurrency.poolWorkerMaxHeapMb` and V8 terminates it.
 * `poolInlineThreshold: 0` sends every selector query to the workers, so a
 * stream of Cluster label changes keeps killing workers. Piscina must
 * replace each one — the controller starts workers lazily, so a replacement
 * starts when the next query needs it, its replica rebuilt from a snapshot —
 * the failed query must not lose the fan-out it was computing (the
 * controller falls back to every Bundle of the workspace), replacements must
 * answer, and the world must converge to exactly the oracle's set with the
 * pool never above its size.
 */

const ws = 'worker-crash';
const CLUSTERS = 16;
const BUNDLES = 48;
const THREADS = 2;
const CHANGES = 30;

let env: PlacementEnv;
const procs: FlotillaProcess[] = [];
const WORKER_HEAP_MB = 64;

const ZONES = ['a', 'b', 'c'];

before(async () => {
  env = await startPlacementEnv();
  await prepareWorkspace(
    env,
    ws,
    Array.from({ length: CLUSTERS }, (_, i) => ({ name: `c${String(i).padStart(2, '0')}`, labels: { zone: ZONES[i % 3] as string, env: i % 2 ? 'prod' : 'dev' } })),
  );
  await createBundles(env.admin, ws, BUNDLES, (i) => `b${String(i).padStart(3, '0')}`, (i) => [
    { clusterSelector: { matchLabels: { zone: ZONES[i % 3] as string } } },
    ...(i % 4 === 0 ? [{ clusterSelector: { matchLabels: { env: 'prod' } } }] : []),
  ]);
});

after(async () => {
  for (const p of procs) reportLoggedProblems(p, 4);
  await env?.stop();
});

interface CaseResult {
  restarts: number;
  failures: number;
  pooledOk: number;
  recoverySeconds: number;
  desired: number;
}
const results: Partial<Record<'crash' | 'oom', CaseResult>> = {};

async function workerFaultCase(mode: 'crash' | 'oom', seed: number, failureText: RegExp): Promise<CaseResult> {
  const { admin } = env;
  const proc = await env.startFlotilla({
    name: `flotilla-worker-${mode}`,
    env: { FLOTILLA_TEST_WORKER_FAULT: `${mode}:3` },
    config: { concurrency: { poolThreads: THREADS, poolInlineThreshold: 0, poolWorkerMaxHeapMb: WORKER_HEAP_MB } },
  });
  procs.push(proc);
  await proc.waitForReady();
  await waitForOracle(admin, { timeoutMs: 120_000, description: 'the initial fan-out to converge' });

  // Each label change is one pooled selector query; every third one a worker receives kills it.
  const random = seededRandom(seed);
  const zoneOf = new Map((await listAll(admin, T.Cluster, { namespace: ws })).map((c) => [c.metadata.name ?? '', c.metadata.labels?.zone ?? '']));
  for (let i = 0; i < CHANGES; i++) {
    const cluster = `c${String(Math.floor(random() * CLUSTERS)).padStart(2, '0')}`;
    // Always a different zone: a no-op patch sends no event and so no query.
    const others = ZONES.filter((z) => z !== zoneOf.get(cluster));
    const zone = others[Math.floor(random() * others.length)] as string;
    zoneOf.set(cluster, zone);
    await admin.patch(T.Cluster, cluster, ws, { metadata: { labels: { zone } } });
    await delay(100); // pacing: separate events, so each is its own query
  }
  const changesEndedAt = Date.now();

  const desired = await waitForOracle(admin, { timeoutMs: 120_000, description: `BundleDeployments to equal the oracle despite worker ${mode}es` });
  const recoverySeconds = secondsSince(changesEndedAt);
  assert.equal(proc.isRunning(), true, 'the controller itself never exited');

  // Replacements start on demand (lazy workers): the pool answers again and never exceeds its size.
  const m = await waitFor(
    async () => {
      const s = await proc.metrics();
      return s.sum('flotilla_pool_tasks_total', { path: 'pooled', result: 'success' }) > s.sum('flotilla_pool_tasks_total', { path: 'pooled', result: 'worker_failure' }) ? s : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 200, description: 'replacement workers to answer more pooled queries than failed' },
  );
  assert.ok(m.sum('flotilla_pool_threads') <= THREADS, `at most ${THREADS} live workers (${m.sum('flotilla_pool_threads')})`);
  const restarts = m.sum('flotilla_pool_worker_restarts_total');
  const failures = m.sum('flotilla_pool_tasks_total', { path: 'pooled', result: 'worker_failure' });
  const pooledOk = m.sum('flotilla_pool_tasks_total', { path: 'pooled', result: 'success' });
  const died = proc.logs.filter((l) => l.msg === 'selector pool worker died; replacing it').length;
  const fallbacks = proc.logs.filter((l) => l.msg === 'selector index query failed; fanning out to the whole workspace');
  console.log(
    `# ${mode}: ${CHANGES} label changes: ${failures} pooled tasks failed with their worker, ${restarts} workers replaced, ${pooledOk} pooled tasks succeeded, ${fallbacks.length} whole-workspace fallbacks; e.g. ${JSON.stringify(fallbacks[0]?.err ?? null).slice(0, 160)}`,
  );
  assert.ok(restarts >= 3, `workers were replaced repeatedly (${restarts})`);
  assert.equal(died, restarts, 'each replacement was logged');
  assert.ok(failures >= 3, `tasks failed with their worker (${failures})`);
  // One warning per workspace, then at most one a minute saying how many repeated (the
  // logger's de-duplication): the lines account for no more fallbacks than failures, and
  // the oracle above shows that none of them lost its fan-out.
  const fallbacksLogged = fallbacks.reduce((n, l) => n + 1 + Number(l.repeated ?? 0), 0);
  assert.ok(fallbacks.length >= 1 && fallbacksLogged <= failures, `failed queries fell back to the whole workspace (${fallbacks.length} lines for ${fallbacksLogged} of ${failures} failures)`);
  const message = (l: LogLine) => String((l.err as { message?: unknown } | undefined)?.message);
  assert.ok(fallbacks.every((l) => failureText.test(message(l))), `the failures are the injected ${mode}: ${message(fallbacks[0] as LogLine)}`);
  assert.ok(pooledOk > failures, 'replacement workers answer tasks');
  assert.equal(await proc.stop(), 0);
  return { restarts, failures, pooledOk, recoverySeconds, desired };
}

test('crashing pool workers are replaced and no fan-out is lost', async () => {
  results.crash = await workerFaultCase('crash', 11, /injected worker crash/);
});

test('pool workers exceeding their heap limit are replaced and no fan-out is lost', async () => {
  results.oom = await workerFaultCase('oom', 12, /ERR_WORKER_OUT_OF_MEMORY|out of memory/i);
  const crash = results.crash;
  const oom = results.oom;
  assert.ok(crash, 'the crash case ran');
  reportRecovery({
    scenario: 11,
    name: 'pool worker crash / out of memory',
    recoverySeconds: Math.max(crash.recoverySeconds, oom.recoverySeconds),
    details: { changesPerCase: CHANGES, crash, oom, workerHeapMb: WORKER_HEAP_MB },
    summary: `crash: ${crash.restarts} workers replaced, ${crash.failures} queries fell back to the whole workspace, converged in ${crash.recoverySeconds.toFixed(1)} s; OOM at ${WORKER_HEAP_MB} MiB: ${oom.restarts} replaced, ${oom.failures} fell back, converged in ${oom.recoverySeconds.toFixed(1)} s; ${oom.desired}/${oom.desired} equal the oracle, replacements started on demand (at most ${THREADS} threads)`,
  });
});

test('placement plans lost with their crashing worker are retried, and the world converges without repeated writes', async () => {
  const { admin } = env;
  // Selector queries inline (default threshold), every Bundle's placement + diff in the
  // workers (`poolPlacementThreshold: 0`): the tasks that die are placement plans.
  const proc = await env.startFlotilla({
    name: 'flotilla-worker-placement-crash',
    env: { FLOTILLA_TEST_WORKER_FAULT: 'crash:3' },
    config: { concurrency: { poolThreads: THREADS, poolPlacementThreshold: 0 } },
  });
  procs.push(proc);
  await proc.waitForReady();
  const random = seededRandom(13);
  const zoneOf = new Map((await listAll(admin, T.Cluster, { namespace: ws })).map((c) => [c.metadata.name ?? '', c.metadata.labels?.zone ?? '']));
  for (let i = 0; i < 10; i++) {
    const cluster = `c${String(Math.floor(random() * CLUSTERS)).padStart(2, '0')}`;
    const zone = ZONES.filter((z) => z !== zoneOf.get(cluster))[Math.floor(random() * 2)] as string;
    zoneOf.set(cluster, zone);
    await admin.patch(T.Cluster, cluster, ws, { metadata: { labels: { zone } } });
    await delay(100);
  }
  await waitForOracle(admin, { timeoutMs: 120_000, description: 'BundleDeployments to equal the oracle despite placement plans dying with their workers' });
  const m = await proc.waitForIdle({ description: 'controller idle after converging' });
  const failed = m.sum('flotilla_pool_tasks_total', { task: 'placement', path: 'pooled', result: 'worker_failure' });
  const planned = m.sum('flotilla_pool_tasks_total', { task: 'placement', path: 'pooled', result: 'success' });
  const bdWrites = m.groupBy('flotilla_writes_total', ['verb', 'reason'], { kind: 'BundleDeployment' });
  console.log(`# placement in crashing workers: ${failed} plans failed with their worker, ${planned} succeeded; BundleDeployment writes ${JSON.stringify(bdWrites)}`);
  assert.ok(failed >= 3, `placement plans died with their workers (${failed})`);
  assert.ok(planned > failed, 'replacement workers plan');
  assert.equal(m.sum('flotilla_placement_plans_total', { path: 'inline' }), 0, 'every plan went to the pool');
  // A failed plan fails its reconcile before any write; the retry plans again from the replica
  // of a replacement worker, which must not repeat a write the first attempts made.
  const total = m.sum('flotilla_writes_total', { kind: 'BundleDeployment' });
  const creates = m.sum('flotilla_writes_total', { kind: 'BundleDeployment', reason: 'TargetMatched' });
  const deletes = m.sum('flotilla_writes_total', { kind: 'BundleDeployment', verb: 'delete' });
  assert.equal(total, creates + deletes, 'only creates and deletes: no update of an up-to-date BundleDeployment');
  assert.equal(proc.isRunning(), true);
  assert.equal(await proc.stop(), 0);
});
