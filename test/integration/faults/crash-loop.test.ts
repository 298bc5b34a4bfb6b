import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import {
  T,
  bundleObject,
  clusterGroupObject,
  clusterObject,
  isGone,
  listAll,
  readWorld,
  reportLoggedProblems,
  startPlacementEnv,
  waitForConvergence,
  type FlotillaProcess,
  type PlacementEnv,
} from '../../support/flotilla.ts';
import { createBundles, prepareWorkspace, waitForOracle } from '../../support/fanout-world.ts';
import { Label } from '../../../src/api/constants.ts';
import { waitFor } from '../../../src/util/wait.ts';
import { reportRecovery, secondsSince } from '../../support/faults.ts';
import { expectedSummary } from '../../support/oracle.ts';
import { seededRandom } from '../../support/random.ts';

/**
 * Scenario 8: the controller is killed with SIGKILL 1.5-5 s (seeded) after each
 * start (start-up itself takes 1-2 s), for a minute, while the test keeps
 * changing the world: Cluster labels flip,
 * Clusters appear, Bundles are created, deleted and retargeted, ClusterGroup
 * selectors change. Then it runs once more without interruption; the
 * BundleDeployments must equal what the independent oracle computes from the
 * objects, deleted Bundles must be gone (finalizers released), and every
 * Bundle's summary must match.
 */

const ws = 'crashloop';
const SEED = Number(process.env.FLOTILLA_TEST_SEED ?? 8);
const LOOP_MS = 60_000;
const INITIAL_CLUSTERS = 12;
const INITIAL_BUNDLES = 60;

let env: PlacementEnv;
const victims: FlotillaProcess[] = [];
let finalProc: FlotillaProcess | undefined;

const ENVS = ['dev', 'prod', 'staging'];
const REGIONS = ['eu', 'us'];

function labelsFor(i: number): Record<string, string> {
  return { env: ENVS[i % 3] as string, region: REGIONS[i % 2] as string, ...(i % 4 === 0 ? { tier: 'gold' } : {}) };
}

/** A menu of targets exercising every criterion and first-match-wins. */
function targetsFor(k: number, clusters: readonly string[]): unknown[] {
  switch (k % 8) {
    case 0:
      return [{ clusterSelector: {} }];
    case 1:
      return [{ clusterSelector: { matchLabels: { env: 'prod' } } }];
    case 2:
      return [{ clusterGroup: 'gold', doNotDeploy: true }, { clusterSelector: { matchExpressions: [{ key: 'region', operator: 'In', values: ['eu'] }] } }];
    case 3:
      return [{ clusterGroupSelector: { matchLabels: { kind: 'geo' } } }];
    case 4:
      return [{ clusterName: clusters[k % clusters.length] }, { clusterSelector: { matchLabels: { env: 'staging' } } }];
    case 5:
      return [{ clusterSelector: { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] } }];
    case 6:
      return [{ clusterGroup: 'eu' }];
    default:
      return [{ clusterSelector: { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['dev'] }] }, clusterGroup: 'gold' }];
  }
}

const clusterNames = Array.from({ length: INITIAL_CLUSTERS }, (_, i) => `c${String(i).padStart(2, '0')}`);

before(async () => {
  env = await startPlacementEnv();
  await prepareWorkspace(env, ws, clusterNames.map((name, i) => ({ name, labels: labelsFor(i) })));
  const { admin } = env;
  await admin.create(T.ClusterGroup, clusterGroupObject(ws, 'gold', { matchLabels: { tier: 'gold' } }, { kind: 'tiered' }));
  await admin.create(T.ClusterGroup, clusterGroupObject(ws, 'eu', { matchLabels: { region: 'eu' } }, { kind: 'geo' }));
  await createBundles(admin, ws, INITIAL_BUNDLES, (i) => `b${String(i).padStart(3, '0')}`, (i) => targetsFor(i, clusterNames));
});

after(async () => {
  for (const p of [...victims.slice(-2), ...(finalProc ? [finalProc] : [])]) reportLoggedProblems(p, 10);
  await env?.stop();
});

test('kill -9 every few seconds for a minute while the world changes: the final state equals the oracle', async () => {
  const { admin } = env;
  const random = seededRandom(SEED);
  const pick = <X>(xs: readonly X[]): X => xs[Math.floor(random() * xs.length)] as X;
  const bundles = new Set(Array.from({ length: INITIAL_BUNDLES }, (_, i) => `b${String(i).padStart(3, '0')}`));
  const clusters = [...clusterNames];
  const changes: Record<string, number> = {};
  const count = (what: string) => (changes[what] = (changes[what] ?? 0) + 1);
  let nextBundle = INITIAL_BUNDLES;
  let nextCluster = INITIAL_CLUSTERS;

  /** One random change to the world, as a user or another controller would make it. */
  async function mutate(): Promise<void> {
    const r = random();
    if (r < 0.3) {
      const name = pick(clusters);
      const key = pick(['env', 'region', 'tier']);
      const value = key === 'env' ? pick(ENVS) : key === 'region' ? pick(REGIONS) : pick(['gold', null]);
      await admin.patch(T.Cluster, name, ws, { metadata: { labels: { [key]: value } } });
      count('cluster label changed');
    } else if (r < 0.45) {
      const name = `b${String(nextBundle++).padStart(3, '0')}`;
      await admin.create(T.Bundle, bundleObject(ws, name, targetsFor(Math.floor(random() * 8), clusters)));
      bundles.add(name);
      count('bundle created');
    } else if (r < 0.6) {
      if (bundles.size === 0) return;
      const name = pick([...bundles]);
      bundles.delete(name);
      await admin.delete(T.Bundle, name, ws);
      count('bundle deleted');
    } else if (r < 0.85) {
      if (bundles.size === 0) return;
      const name = pick([...bundles]);
      await admin.patch(T.Bundle, name, ws, { spec: { targets: targetsFor(Math.floor(random() * 8), clusters) } });
      count('bundle retargeted');
    } else if (r < 0.93) {
      const group = pick(['gold', 'eu']);
      const selector = group === 'gold' ? { matchLabels: { tier: 'gold' } } : { matchLabels: { region: pick(REGIONS) } };
      const extra = random() < 0.5 ? { matchExpressions: [{ key: 'env', operator: 'NotIn', values: [pick(ENVS)] }] } : {};
      await admin.patch(T.ClusterGroup, group, ws, { spec: { selector: { ...selector, ...extra, ...(Object.keys(extra).length === 0 ? { matchExpressions: null } : {}) } } });
      count('group selector changed');
    } else {
      const i = nextCluster++;
      const name = `c${String(i).padStart(2, '0')}`;
      await admin.create(T.Cluster, clusterObject(ws, name, labelsFor(i)));
      clusters.push(name);
      count('cluster created');
    }
  }

  const loopStart = Date.now();
  const loopEnd = loopStart + LOOP_MS;
  let mutating = true;
  const mutator = (async () => {
    while (mutating) {
      await mutate();
      await delay(150 + Math.floor(random() * 300)); // pacing of the change stream, not a wait for a condition
    }
  })();

  let kills = 0;
  try {
    while (Date.now() < loopEnd) {
      const proc = await env.startFlotilla({ name: `flotilla-crash-${kills}` });
      victims.push(proc);
      const lifetimeMs = 1500 + Math.floor(random() * 3500);
      // Run for the drawn lifetime, but notice at once if it dies by itself.
      const exitedEarly = await Promise.race([proc.exited.then(() => true), delay(lifetimeMs).then(() => false)]);
      assert.equal(exitedEarly, false, `${proc.name} exited by itself:\n${proc.logTail(30)}`);
      proc.kill('SIGKILL');
      const status = await proc.exited;
      assert.equal(status.signal, 'SIGKILL', `${proc.name} died of the SIGKILL`);
      kills++;
    }
  } finally {
    mutating = false;
    await mutator;
  }
  const loopSeconds = secondsSince(loopStart);
  // Kills that landed after the victim had started reconciling (the others hit it during start-up or the first LIST).
  const midWork = victims.filter((v) => v.logs.some((l) => l.msg === 'reconciling')).length;
  console.log(`# ${kills} SIGKILLs in ${loopSeconds.toFixed(1)} s (${midWork} while reconciling); changes: ${JSON.stringify(changes)}`);
  assert.ok(midWork >= kills / 2, `most kills landed while the controller was reconciling (${midWork}/${kills})`);
  assert.ok(kills >= 5, `the controller was killed repeatedly (${kills})`);

  const restartedAt = Date.now();
  finalProc = await env.startFlotilla({ name: 'flotilla-final' });
  await finalProc.waitForReady({ timeoutMs: 60_000 });

  // Deleted Bundles keep their finalizer until the controller has cleaned up after them.
  await waitForConvergence(
    async () => {
      const names = (await listAll(admin, T.Bundle, { namespace: ws })).map((b) => b.metadata.name ?? '');
      return [...names.filter((n) => !bundles.has(n)).map((n) => `${n} still exists`), ...[...bundles].filter((n) => !names.includes(n)).map((n) => `${n} missing`)];
    },
    { timeoutMs: 120_000, description: 'deleted Bundles to be gone' },
  );
  const desired = await waitForOracle(admin, { timeoutMs: 180_000, description: 'BundleDeployments to equal the oracle after the crash loop' });
  const recoverySeconds = secondsSince(restartedAt);

  const world = await readWorld(admin);
  await waitForConvergence(
    async () => {
      const bds = await listAll(admin, T.BundleDeployment);
      const problems: string[] = [];
      for (const b of await listAll(admin, T.Bundle, { namespace: ws })) {
        const want = expectedSummary(b, world, bds);
        const summary = (b.status?.summary ?? {}) as { desiredReady?: number; ready?: number };
        if (summary.desiredReady !== want.desiredReady || summary.ready !== want.ready) {
          problems.push(`${b.metadata.name}: desiredReady/ready ${String(summary.desiredReady)}/${String(summary.ready)}, expected ${want.desiredReady}/${want.ready}`);
        }
        if (b.status?.observedGeneration !== b.metadata.generation) problems.push(`${b.metadata.name}: observedGeneration ${String(b.status?.observedGeneration)} != ${b.metadata.generation}`);
      }
      for (const c of await listAll(admin, T.Cluster, { namespace: ws })) {
        if (!c.status?.namespace) problems.push(`cluster ${c.metadata.name}: no deployment namespace`);
      }
      return problems;
    },
    { timeoutMs: 60_000, description: 'Bundle summaries and Cluster namespaces to match' },
  );

  // The survivor settles: nothing keeps being rewritten.
  const idle = await finalProc.waitForIdle({ description: 'final controller idle' });
  const quiet = await finalProc.waitForIdle({ stableMs: 3000, description: 'final controller still idle' });
  assert.equal(quiet.sum('flotilla_writes_total') - idle.sum('flotilla_writes_total'), 0, 'no writes once converged');

  reportRecovery({
    scenario: 8,
    name: 'crash loop',
    recoverySeconds,
    details: { kills, killsWhileReconciling: midWork, loopSeconds, changes, desired, bundles: bundles.size, clusters: clusters.length, seed: SEED },
    summary: `${kills} SIGKILLs in ${loopSeconds.toFixed(0)} s during ${Object.values(changes).reduce((a, b) => a + b, 0)} changes; ${desired}/${desired} BundleDeployments equal the oracle, ${bundles.size} Bundles, ${clusters.length} Clusters`,
  });
  assert.equal(await finalProc.stop(), 0);
});

test('BundleDeployments whose Bundle vanished while the controller was down are deleted at start-up', async () => {
  // What a crash can leave behind (a killed replica's write landing after the
  // Bundle's cleanup), made deterministic: the Bundle's finalizer is removed
  // by hand while no controller runs, so the Bundle goes and its
  // BundleDeployments stay. Only those BundleDeployments remember it.
  const { admin } = env;
  const name = 'vanished';
  const labelSelector = `${Label.BundleNamespace}=${ws},${Label.BundleName}=${name}`;
  const first = await env.startFlotilla({ name: 'flotilla-before-vanish' });
  victims.push(first);
  await admin.create(T.Bundle, bundleObject(ws, name, [{ clusterSelector: {} }]));
  const clusterCount = (await listAll(admin, T.Cluster, { namespace: ws })).length;
  await waitForConvergence(
    async () => {
      const n = (await listAll(admin, T.BundleDeployment, { labelSelector })).length;
      return n === clusterCount ? [] : [`${n}/${clusterCount} BundleDeployments`];
    },
    { timeoutMs: 60_000, description: `${name} deployed to every Cluster` },
  );
  assert.equal(await first.stop(), 0);

  await admin.patch(T.Bundle, name, ws, { metadata: { finalizers: null } });
  await admin.delete(T.Bundle, name, ws);
  await waitFor(() => isGone(admin, T.Bundle, name, ws), { timeoutMs: 30_000, description: `${name} gone` });
  assert.equal((await listAll(admin, T.BundleDeployment, { labelSelector })).length, clusterCount, 'its BundleDeployments outlived it');

  const startedAt = Date.now();
  const proc = await env.startFlotilla({ name: 'flotilla-after-vanish' });
  victims.push(proc);
  await waitForConvergence(
    async () => {
      const n = (await listAll(admin, T.BundleDeployment, { labelSelector })).length;
      return n === 0 ? [] : [`${n} orphaned BundleDeployments of ${name}`];
    },
    { timeoutMs: 60_000, description: `the orphans of ${name} to be deleted` },
  );
  console.log(`# ${clusterCount} orphaned BundleDeployments deleted ${secondsSince(startedAt).toFixed(1)} s after start`);
  await waitForOracle(admin, { timeoutMs: 60_000, description: 'the world still equals the oracle' });
  assert.equal(await proc.stop(), 0);
});
