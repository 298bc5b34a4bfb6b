import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { Label } from '../../../src/api/constants.ts';
import { deploymentNamespaceFor } from '../../../src/placement/deployment-namespace.ts';
import { builtinTypes } from '../../../src/runtime/kube/resource.ts';
import {
  SAMPLE_CONFIGMAP,
  T,
  bundleObject,
  conditionOf,
  listAll,
  mapConcurrent,
  readWorld,
  reportLoggedProblems,
  startPlacementEnv,
  waitForConvergence,
  type FlotillaProcess,
  type Obj,
  type PlacementEnv,
} from '../../support/flotilla.ts';
import { prepareWorkspace } from '../../support/fanout-world.ts';
import { reportRecovery, secondsSince } from '../../support/faults.ts';
import type { Metrics } from '../../support/metrics.ts';
import { describeDiff, desiredPlacements, diffPlacements, isEmptyDiff } from '../../support/oracle.ts';

/**
 * Scenario 10: 100 invalid Bundles among 1,000 valid ones. "Invalid" in ways
 * the API server's validation cannot catch: a missing ClusterGroup,
 * manifests that do not parse, two manifests declaring the same object.
 * The valid ones must converge about as fast as 1,000 valid Bundles alone
 * (measured in a clean workspace first; printed with the ratio, not
 * asserted); each invalid one must carry a False condition with a reason
 * and a message saying what is wrong, and a Warning Event; invalid keys
 * must not hot-loop; and repeatedly changing the poison (new invalid
 * variants) must not make the controller's memory grow without bound.
 */

const CLEAN = 'poison-baseline';
const POISON = 'poison';
const VALID = 1000;
const INVALID = 100;
const CHURN_ROUNDS = 4;
const clusters = [
  { name: 'c0', labels: { env: 'prod' } },
  { name: 'c1', labels: { env: 'dev' } },
];

let env: PlacementEnv;
const procs: FlotillaProcess[] = [];

const validName = (i: number) => `ok-${String(i).padStart(4, '0')}`;
const invalidName = (i: number) => `bad-${String(i).padStart(3, '0')}`;
const validTargets = (i: number) => (i % 5 === 0 ? [{ clusterSelector: { matchLabels: { env: 'prod' } } }] : [{ clusterSelector: {} }]);

type PoisonKind = 'missing-group' | 'unparsable' | 'collision';
const kindOf = (i: number): PoisonKind => (['missing-group', 'unparsable', 'collision'] as const)[i % 3] as PoisonKind;
const EXPECT: Record<PoisonKind, { condition: 'Targeted' | 'Ready'; reasons: string[]; mentions: (round: number) => RegExp }> = {
  'missing-group': { condition: 'Targeted', reasons: ['ClusterGroupNotFound', 'InvalidTargets'], mentions: (r) => new RegExp(`no-such-group-${r}\\b`) },
  unparsable: { condition: 'Ready', reasons: ['InvalidContent', 'InvalidResources'], mentions: (r) => new RegExp(`broken-${r}\\.yaml`) },
  collision: { condition: 'Ready', reasons: ['ResourceNameCollision', 'InvalidContent'], mentions: (r) => new RegExp(`dup-${r}\\b[\\s\\S]*already declared`) },
};

/** Invalid Bundle `i`, variant `round` (each round is a different invalid spec, so the controller sees new poison). */
function poisonBundle(i: number, round: number): Obj {
  const name = invalidName(i);
  switch (kindOf(i)) {
    case 'missing-group':
      return bundleObject(POISON, name, [{ clusterGroup: `no-such-group-${round}` }]);
    case 'unparsable':
      return bundleObject(POISON, name, [{ clusterSelector: {} }], [
        { name: `broken-${round}.yaml`, content: `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [unclosed-${i}-${round}\n` },
      ]);
    case 'collision':
      return bundleObject(POISON, name, [{ clusterSelector: {} }], [
        { name: 'one.yaml', content: SAMPLE_CONFIGMAP(`dup-${round}`, { from: `one-${i}` }) },
        { name: 'two.yaml', content: SAMPLE_CONFIGMAP(`dup-${round}`, { from: `two-${i}` }) },
      ]);
  }
}

before(async () => {
  env = await startPlacementEnv();
  await prepareWorkspace(env, CLEAN, clusters);
  await prepareWorkspace(env, POISON, clusters);
});

after(async () => {
  for (const p of procs) reportLoggedProblems(p, 6);
  await env?.stop();
});

/** What is still wrong with the valid Bundles of `ws` (the oracle, over the valid Bundles only). */
async function validProblems(ws: string): Promise<string[]> {
  const world = await readWorld(env.admin);
  const valid = { ...world, bundles: world.bundles.filter((b) => b.metadata.namespace === ws && !b.metadata.name?.startsWith('bad-')) };
  const desired = desiredPlacements(valid);
  const bds = await listAll(env.admin, T.BundleDeployment, { labelSelector: `${Label.BundleNamespace}=${ws}` });
  const diff = diffPlacements(desired, bds, deploymentNamespaceFor);
  return isEmptyDiff(diff) ? [] : [describeDiff(diff)];
}

async function createAll(bundles: Obj[]): Promise<void> {
  await mapConcurrent(bundles, 16, (b) => env.admin.create(T.Bundle, b));
}

/** Starts a controller that manages only `ws`, and measures start → the valid Bundles converged. */
async function fanOut(ws: string, name: string): Promise<{ proc: FlotillaProcess; seconds: number }> {
  const startedAt = Date.now();
  const proc = await env.startFlotilla({ name, config: { workspaces: { mode: 'static', names: [ws] } } });
  procs.push(proc);
  await waitForConvergence(() => validProblems(ws), { timeoutMs: 180_000, intervalMs: 250, description: `the valid Bundles of ${ws} to converge` });
  return { proc, seconds: secondsSince(startedAt) };
}

const heapOf = (m: Metrics) => m.sum('nodejs_heap_size_used_bytes');
const rssOf = (m: Metrics) => m.sum('process_resident_memory_bytes');
const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

test('poison among 1,000 valid Bundles: valid ones converge as fast, invalid ones are reported, no hot loop, memory flat', async () => {
  const { admin } = env;

  // Baseline: 1,000 valid Bundles alone.
  await createAll(Array.from({ length: VALID }, (_, i) => bundleObject(CLEAN, validName(i), validTargets(i))));
  const baseline = await fanOut(CLEAN, 'flotilla-baseline');
  assert.equal(await baseline.proc.stop(), 0);

  // The same 1,000 valid Bundles with 100 invalid ones interleaved (every eleventh).
  const mixed: Obj[] = [];
  for (let v = 0, p = 0; v < VALID || p < INVALID; ) {
    if (p < INVALID && (mixed.length % 11 === 10 || v >= VALID)) mixed.push(poisonBundle(p++, 0));
    else mixed.push(bundleObject(POISON, validName(v), validTargets(v++)));
  }
  await createAll(mixed);
  const poisoned = await fanOut(POISON, 'flotilla-poisoned');
  const proc = poisoned.proc;
  const ratio = poisoned.seconds / baseline.seconds;
  console.log(`# ${VALID} valid Bundles converged in ${baseline.seconds.toFixed(1)} s alone, ${poisoned.seconds.toFixed(1)} s among ${INVALID} invalid ones (ratio ${ratio.toFixed(2)})`);

  /** Every invalid Bundle reports variant `round` of its problem; returns what is still wrong. */
  const poisonProblems = async (round: number): Promise<string[]> => {
    const problems: string[] = [];
    const bundles = new Map((await listAll(admin, T.Bundle, { namespace: POISON })).map((b) => [b.metadata.name ?? '', b]));
    for (let i = 0; i < INVALID; i++) {
      const b = bundles.get(invalidName(i));
      const want = EXPECT[kindOf(i)];
      const cond = conditionOf(b, want.condition);
      if (b?.status?.observedGeneration !== b?.metadata.generation) problems.push(`${invalidName(i)}: status not observed yet`);
      else if (cond?.status !== 'False' || !want.reasons.includes(cond.reason ?? '')) problems.push(`${invalidName(i)}: ${want.condition} ${JSON.stringify(cond)}`);
      else if (!want.mentions(round).test(cond.message ?? '')) problems.push(`${invalidName(i)}: message does not say what is wrong: ${cond.message}`);
    }
    return problems;
  };
  await waitForConvergence(() => poisonProblems(0), { timeoutMs: 60_000, description: 'every invalid Bundle to report its problem' });
  for (let i = 0; i < INVALID; i++) {
    if (kindOf(i) === 'missing-group') continue;
    const bds = await listAll(admin, T.BundleDeployment, { labelSelector: `${Label.BundleNamespace}=${POISON},${Label.BundleName}=${invalidName(i)}` });
    assert.equal(bds.length, 0, `${invalidName(i)}: nothing deployed for invalid content`);
  }
  const events = await listAll<Obj & { type?: string; reason?: string; note?: string; regarding?: { name?: string; kind?: string } }>(admin, builtinTypes.event, { namespace: POISON });
  for (let i = 0; i < INVALID; i++) {
    const event = events.find((e) => e.regarding?.name === invalidName(i) && e.type === 'Warning');
    assert.ok(event, `${invalidName(i)}: a Warning Event`);
    assert.equal(event.regarding?.kind, 'Bundle');
    assert.ok(EXPECT[kindOf(i)].reasons.includes(event.reason ?? ''), `${invalidName(i)}: Event reason ${event.reason}`);
    assert.ok((event.note ?? '').length > 0, `${invalidName(i)}: Event note`);
  }
  const sample = conditionOf(await admin.get<Obj>(T.Bundle, invalidName(1), POISON), 'Ready');
  console.log(`# e.g. ${invalidName(1)}: Ready=False ${sample?.reason}: ${(sample?.message ?? '').slice(0, 160)}`);

  // No hot loop: once idle, the bundle controller's reconcile count and the writes stay put.
  const bundleController = { controller: 'bundle' };
  const quiet0 = await proc.waitForIdle({ description: 'the poisoned controller idle' });
  const windowStart = Date.now();
  let quiet1 = quiet0;
  while (Date.now() - windowStart < 8000) {
    quiet1 = await proc.metrics();
    assert.ok(quiet1.sum('controller_runtime_reconcile_total', bundleController) - quiet0.sum('controller_runtime_reconcile_total', bundleController) <= 3, 'bundle reconciles stay bounded');
    await delay(500); // sampling interval of the observation window, not a wait for a condition
  }
  const quietReconciles = quiet1.sum('controller_runtime_reconcile_total', bundleController) - quiet0.sum('controller_runtime_reconcile_total', bundleController);
  assert.ok(quietReconciles <= 3, `no hot loop (${quietReconciles} bundle reconciles in 8 s)`);
  assert.equal(quiet1.sum('flotilla_writes_total') - quiet0.sum('flotilla_writes_total'), 0, 'no writes while nothing changes');
  console.log(`# quiet 8 s: ${quietReconciles} bundle reconciles, 0 writes; dead letters ${JSON.stringify(quiet1.groupBy('flotilla_dead_letter_keys', ['controller']))}`);

  // Memory under churn: every round replaces all 100 invalid specs with new invalid ones.
  const samples: Array<{ heap: number; rss: number }> = [{ heap: heapOf(quiet1), rss: rssOf(quiet1) }];
  let recoverySeconds = 0;
  for (let round = 1; round <= CHURN_ROUNDS; round++) {
    const roundStart = Date.now();
    await mapConcurrent(Array.from({ length: INVALID }, (_, i) => i), 16, (i) =>
      admin.patch(T.Bundle, invalidName(i), POISON, { spec: poisonBundle(i, round).spec }),
    );
    await waitForConvergence(() => poisonProblems(round), { timeoutMs: 60_000, description: `churn round ${round}: every invalid Bundle reports the new problem` });
    recoverySeconds = secondsSince(roundStart);
    const m = await proc.waitForIdle({ description: `idle after churn round ${round}` });
    samples.push({ heap: heapOf(m), rss: rssOf(m) });
  }
  assert.deepEqual(await validProblems(POISON), [], 'the valid Bundles are untouched by the churn');
  console.log(`# memory after each churn round (heap used / RSS, MiB): ${samples.map((s) => `${mb(s.heap)}/${mb(s.rss)}`).join(', ')}`);
  const first = samples[1] as { heap: number; rss: number };
  const last = samples[samples.length - 1] as { heap: number; rss: number };
  // Generous: GC timing moves heap-used by tens of MiB; unbounded growth would compound round over round.
  assert.ok(last.heap <= first.heap * 1.5 + 32 * 1024 * 1024, `heap flat across churn rounds (${mb(first.heap)} -> ${mb(last.heap)} MiB)`);
  assert.ok(last.rss <= first.rss * 1.5 + 64 * 1024 * 1024, `RSS flat across churn rounds (${mb(first.rss)} -> ${mb(last.rss)} MiB)`);

  reportRecovery({
    scenario: 10,
    name: 'poison input',
    recoverySeconds: poisoned.seconds,
    details: {
      valid: VALID,
      invalid: INVALID,
      baselineSeconds: baseline.seconds,
      poisonedSeconds: poisoned.seconds,
      ratio,
      quietReconciles,
      churnRoundSeconds: recoverySeconds,
      heapMiB: samples.map((s) => Number(mb(s.heap))),
      rssMiB: samples.map((s) => Number(mb(s.rss))),
    },
    summary: `${VALID} valid converged in ${poisoned.seconds.toFixed(1)} s with ${INVALID} invalid vs ${baseline.seconds.toFixed(1)} s without (x${ratio.toFixed(2)}); ${INVALID}/${INVALID} invalid reported with condition + Event, ${quietReconciles} reconciles in a quiet 8 s; heap ${mb(first.heap)} -> ${mb(last.heap)} MiB over ${CHURN_ROUNDS} churn rounds`,
  });
  assert.equal(await proc.stop(), 0);
});
