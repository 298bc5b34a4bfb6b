import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { Finalizer, Label } from '../../src/api/constants.ts';
import { builtinTypes } from '../../src/runtime/kube/resource.ts';
import { deploymentNamespaceFor } from '../../src/placement/deployment-namespace.ts';
import {
  T,
  bundleObject,
  clusterObject,
  isGone,
  listAll,
  mapConcurrent,
  reportLoggedProblems,
  startPlacementEnv,
  waitForConvergence,
  type FlotillaProcess,
  type Obj,
  type PlacementEnv,
} from '../support/flotilla.ts';
import { describeDiff, desiredPlacements, diffPlacements, isEmptyDiff, type OracleWorld } from '../support/oracle.ts';
import { waitFor } from '../../src/util/wait.ts';

/**
 * Dynamic workspaces (docs/architecture.md#workspaces): namespaces are onboarded and
 * offboarded while the controller runs — by their labels in `selector`
 * mode, by a config reload that changes the mode — with `workspaces.offboard`
 * deciding whether an offboarded namespace's BundleDeployments and
 * deployment namespaces stay (`retain`) or go (`delete`). One control plane
 * (with kube-controller-manager, so deleted namespaces really go) and one
 * controller process whose config file the tests rewrite; the tests run in
 * order and each uses namespaces of its own.
 */

let env: PlacementEnv;
let flotilla: FlotillaProcess;

const ON = { [Label.Workspace]: 'true' };
const CLUSTERS: Record<string, Record<string, string>> = { c1: { env: 'prod' }, c2: { env: 'dev' } };
const BUNDLES: Array<{ name: string; targets: unknown[] }> = [
  { name: 'b-all', targets: [{ clusterSelector: {} }] },
  { name: 'b-prod', targets: [{ clusterSelector: { matchLabels: { env: 'prod' } } }] },
];

before(async () => {
  env = await startPlacementEnv({ controllerManager: true });
  flotilla = await env.startFlotilla({ config: { workspaces: { offboard: 'retain' } } });
  await flotilla.waitForReady();
});

after(async () => {
  if (flotilla) reportLoggedProblems(flotilla);
  await env?.stop();
});

// ---------------------------------------------------------------------------
// Helpers

async function createNamespace(name: string, labels: Record<string, string> = {}): Promise<void> {
  await env.admin.create(builtinTypes.namespace, { metadata: { name, labels } });
}

/** Sets (`true`) or removes (`false`) the workspace label. */
async function label(ns: string, on: boolean): Promise<void> {
  await env.admin.patch(builtinTypes.namespace, ns, undefined, { metadata: { labels: { [Label.Workspace]: on ? 'true' : null } } });
}

async function populate(ns: string, clusters = CLUSTERS, bundles = BUNDLES): Promise<void> {
  for (const [name, labels] of Object.entries(clusters)) await env.admin.create(T.Cluster, clusterObject(ns, name, labels));
  for (const b of bundles) await env.admin.create(T.Bundle, bundleObject(ns, b.name, b.targets));
}

/** BundleDeployments of the Bundles of `namespaces`. */
async function bdsOf(namespaces: readonly string[]): Promise<Obj[]> {
  const set = new Set(namespaces);
  return (await listAll(env.admin, T.BundleDeployment)).filter((bd) => set.has(bd.metadata.labels?.[Label.BundleNamespace] ?? ''));
}

/** What is wrong with the BundleDeployments of `namespaces`, taking each to be a workspace. */
async function placementProblems(namespaces: readonly string[]): Promise<string[]> {
  const set = new Set(namespaces);
  const [clusters, clusterGroups, bundles] = await Promise.all([listAll(env.admin, T.Cluster), listAll(env.admin, T.ClusterGroup), listAll(env.admin, T.Bundle)]);
  const inSet = <O extends Obj>(o: O) => set.has(o.metadata.namespace ?? '');
  const world = {
    clusters: clusters.filter(inSet),
    clusterGroups: clusterGroups.filter(inSet),
    bundles: bundles.filter(inSet),
    isWorkspace: () => true,
  } as unknown as OracleWorld;
  const diff = diffPlacements(desiredPlacements(world), await bdsOf(namespaces), deploymentNamespaceFor);
  return isEmptyDiff(diff) ? [] : [describeDiff(diff)];
}

async function converge(namespaces: readonly string[], description: string, timeoutMs = 60_000): Promise<void> {
  await waitForConvergence(() => placementProblems(namespaces), { timeoutMs, description });
}

/** Objects of `ns` that do / do not carry Flotilla's finalizers, as problems. */
async function finalizerProblems(ns: string, expectFinalizers: boolean): Promise<string[]> {
  const problems: string[] = [];
  for (const [type, finalizer] of [[T.Cluster, Finalizer.ClusterCleanup], [T.Bundle, Finalizer.BundleCleanup]] as const) {
    for (const o of await listAll(env.admin, type, { namespace: ns })) {
      const has = (o.metadata.finalizers ?? []).includes(finalizer);
      if (has !== expectFinalizers) problems.push(`${ns}/${o.metadata.name}: ${has ? 'still has' : 'lacks'} ${finalizer}`);
    }
  }
  return problems;
}

function uids(bds: readonly Obj[]): string[] {
  return bds.map((bd) => `${bd.metadata.namespace}/${bd.metadata.name}#${bd.metadata.uid}`).sort();
}

/** Waits until the controller has logged `msg` for namespace `ns` at least `count` times. */
async function waitForLogCount(msg: string, ns: string, count: number): Promise<void> {
  await waitFor(() => flotilla.logs.filter((l) => l.msg === msg && l.namespace === ns).length >= count, {
    timeoutMs: 30_000,
    description: `${count}× "${msg}" for ${ns}`,
  });
}

async function workspacesGauge(): Promise<number> {
  return (await flotilla.metrics()).sum('flotilla_workspaces');
}

async function waitForGauge(expected: number): Promise<void> {
  await waitFor(async () => (await workspacesGauge()) === expected, { timeoutMs: 30_000, description: `flotilla_workspaces = ${expected}` });
}

/** Labelled workspaces so far, for the gauge. */
let workspaceCount = 0;

// ---------------------------------------------------------------------------

const late = 'late';

test('(a) an unlabelled namespace is ignored; labelling it onboards it without a restart', async () => {
  const { admin } = env;
  await createNamespace(late);
  await populate(late, { ...CLUSTERS, 'c-spare': { env: 'spare' } }, [...BUNDLES, { name: 'b-drop', targets: [{ clusterName: 'c1' }] }]);
  await flotilla.waitForIdle({ description: 'controller idle after the unlabelled namespace was filled' });
  assert.deepEqual(await bdsOf([late]), [], 'no BundleDeployments in a namespace that is not a workspace');
  assert.deepEqual(await finalizerProblems(late, false), []);
  assert.equal(await workspacesGauge(), 0);

  const t0 = Date.now();
  await label(late, true);
  workspaceCount += 1;
  await waitForLogCount('workspace onboarded', late, 1);
  await converge([late], 'BundleDeployments of the onboarded namespace');
  console.log(`# onboarding one namespace converged in ${Date.now() - t0} ms`);
  assert.equal((await bdsOf([late])).length, 3 + 1 + 1, 'b-all ×3, b-prod ×1, b-drop ×1');
  await waitForConvergence(() => finalizerProblems(late, true), { description: 'finalizers on the onboarded objects' });
  await waitForGauge(workspaceCount);
  const deploymentNamespaces = await listAll(admin, builtinTypes.namespace, { labelSelector: `${Label.ClusterNamespace}=${late}` });
  assert.equal(deploymentNamespaces.length, 3);
});

test('(b) offboarding with retain: BundleDeployments stay, nothing new is placed, finalizers are released', async () => {
  const { admin } = env;
  const before = uids(await bdsOf([late]));
  await label(late, false);
  workspaceCount -= 1;
  await waitForLogCount('workspace offboarded', late, 1);
  await waitForConvergence(() => finalizerProblems(late, false), { description: 'finalizers released on offboarding' });
  await waitForGauge(workspaceCount);

  await admin.create(T.Bundle, bundleObject(late, 'b-new', [{ clusterSelector: {} }]));
  // Deleting offboarded objects does not hang on a finalizer nobody acts on.
  await admin.delete(T.Cluster, 'c-spare', late);
  await admin.delete(T.Bundle, 'b-drop', late);
  await waitFor(async () => (await isGone(admin, T.Cluster, 'c-spare', late)) && (await isGone(admin, T.Bundle, 'b-drop', late)), {
    description: 'offboarded Cluster and Bundle to be deleted at once',
  });
  await flotilla.waitForIdle({ description: 'controller idle after changes in the offboarded namespace' });

  assert.deepEqual(uids(await bdsOf([late])), before, 'retain: every BundleDeployment stays as it was, even those of a deleted Bundle or Cluster');
  const newBundle = await admin.get<Obj>(T.Bundle, 'b-new', late);
  assert.deepEqual(newBundle.metadata.finalizers ?? [], []);
  assert.equal(newBundle.status, undefined, 'a Bundle created after offboarding is not reconciled');
  const spareNs = deploymentNamespaceFor(late, 'c-spare');
  assert.equal(await isGone(admin, builtinTypes.namespace, spareNs), false, 'retain: the deployment namespace of a deleted Cluster stays');

  // What retain leaves behind is the operator's to clean up.
  await admin.delete(builtinTypes.namespace, spareNs);
  await admin.delete(T.BundleDeployment, 'b-drop', deploymentNamespaceFor(late, 'c1'));
  await waitFor(() => isGone(admin, builtinTypes.namespace, spareNs), { timeoutMs: 60_000, description: `${spareNs} to be gone` });
});

test('(c) offboarding with delete (config reload): BundleDeployments and deployment namespaces go', async () => {
  const { admin } = env;
  const reloads = flotilla.logs.filter((l) => l.msg === 'configuration reloaded').length;
  flotilla.writeConfig({ workspaces: { offboard: 'delete' } });
  await waitFor(() => flotilla.logs.filter((l) => l.msg === 'configuration reloaded').length > reloads, { description: 'config reload (offboard: delete)' });

  await label(late, true);
  workspaceCount += 1;
  await waitForLogCount('workspace onboarded', late, 2);
  await converge([late], 'onboarded again, b-new included');
  assert.equal((await bdsOf([late])).length, 2 + 1 + 2, 'b-all ×2, b-prod ×1, b-new ×2');
  await waitForConvergence(() => finalizerProblems(late, true), { description: 'finalizers back on' });

  const writesBefore = (await flotilla.metrics()).sum('flotilla_writes_total', { reason: 'Offboarded' });
  const t0 = Date.now();
  await label(late, false);
  workspaceCount -= 1;
  await waitForLogCount('workspace offboarded', late, 2);
  await waitForConvergence(
    async () => {
      const problems = (await bdsOf([late])).map((bd) => `BundleDeployment ${bd.metadata.namespace}/${bd.metadata.name} still there`);
      for (const c of ['c1', 'c2']) {
        const ns = deploymentNamespaceFor(late, c);
        if (!(await isGone(admin, builtinTypes.namespace, ns))) problems.push(`namespace ${ns} still there`);
      }
      return [...problems, ...(await finalizerProblems(late, false))];
    },
    { timeoutMs: 90_000, description: 'offboarding with delete to clean up' },
  );
  console.log(`# offboarding with delete cleaned up in ${Date.now() - t0} ms`);
  const m = await flotilla.metrics();
  assert.ok(m.sum('flotilla_writes_total', { reason: 'Offboarded', kind: 'Namespace', verb: 'delete' }) >= 2, 'deployment namespaces deleted through the Writer');
  assert.ok(m.sum('flotilla_writes_total', { reason: 'Offboarded', kind: 'Cluster', verb: 'patch' }) >= 2, 'Cluster finalizers released through the Writer');
  assert.ok(m.sum('flotilla_writes_total', { reason: 'Offboarded' }) - writesBefore >= 2 + 2 + 3);
  // The objects themselves stay: only Flotilla's output is removed.
  assert.equal((await listAll(admin, T.Bundle, { namespace: late })).length, 3);
  await waitForGauge(workspaceCount);
});

test('(d) 50 workspaces onboarded at once converge; deleting 10 of them cleans up exactly theirs', async () => {
  const { admin } = env;
  const names = Array.from({ length: 50 }, (_, i) => `bulk-${String(i).padStart(2, '0')}`);
  const t0 = Date.now();
  await mapConcurrent(names, 10, async (ns) => {
    await createNamespace(ns);
    await populate(ns);
  });
  console.log(`# created 50 namespaces with 2 Clusters + 2 Bundles each in ${Date.now() - t0} ms`);
  const t1 = Date.now();
  await mapConcurrent(names, 25, (ns) => label(ns, true));
  workspaceCount += names.length;
  await converge(names, '150 BundleDeployments of 50 onboarded workspaces', 120_000);
  console.log(`# 50 workspaces onboarded at once converged in ${Date.now() - t1} ms`);
  assert.equal((await bdsOf(names)).length, 150);
  await waitForGauge(workspaceCount);

  const doomed = names.slice(0, 10);
  const survivors = names.slice(10);
  const survivorBds = uids(await bdsOf(survivors));
  const t2 = Date.now();
  await mapConcurrent(doomed, 10, (ns) => admin.delete(builtinTypes.namespace, ns));
  workspaceCount -= doomed.length;
  await waitForConvergence(
    async () => {
      const problems: string[] = [];
      for (const ns of doomed) if (!(await isGone(admin, builtinTypes.namespace, ns))) problems.push(`workspace ${ns} not gone yet`);
      for (const bd of await bdsOf(doomed)) problems.push(`BundleDeployment ${bd.metadata.namespace}/${bd.metadata.name} still there`);
      const all = await listAll(admin, builtinTypes.namespace);
      const doomedSet = new Set(doomed);
      for (const ns of all) if (doomedSet.has(ns.metadata.labels?.[Label.ClusterNamespace] ?? '')) problems.push(`deployment namespace ${ns.metadata.name} still there`);
      return problems;
    },
    { timeoutMs: 150_000, intervalMs: 1000, description: '10 deleted workspaces to be cleaned up' },
  );
  console.log(`# 10 deleted workspaces cleaned up in ${Date.now() - t2} ms`);
  assert.deepEqual(uids(await bdsOf(survivors)), survivorBds, 'the other 40 workspaces keep exactly their BundleDeployments');
  assert.deepEqual(await placementProblems(survivors), []);
  await waitForGauge(workspaceCount);
});

const wsA = 'iso-a';
const wsB = 'iso-b';

test('(f) isolation while a workspace with identical Clusters is onboarded and offboarded repeatedly', async () => {
  const clusters = { c1: { env: 'prod' }, c2: { env: 'prod', tier: 'x' } };
  await createNamespace(wsA, ON);
  workspaceCount += 1;
  await createNamespace(wsB);
  await populate(wsA, clusters);
  await populate(wsB, clusters);
  await converge([wsA], 'workspace A placed');
  assert.deepEqual(await bdsOf([wsB]), []);
  const aBds = uids(await bdsOf([wsA]));
  assert.equal(aBds.length, 4);

  // Watch every BundleDeployment of A and B throughout the flips.
  const violations = new Set<string>();
  let checks = 0;
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      for (const bd of await bdsOf([wsA, wsB])) {
        const l = bd.metadata.labels ?? {};
        const bundleNs = l[Label.BundleNamespace] ?? '';
        const where = `${bd.metadata.namespace}/${bd.metadata.name}`;
        if (l[Label.ClusterNamespace] !== bundleNs) violations.add(`${where}: Bundle of ${bundleNs} on a Cluster of ${l[Label.ClusterNamespace]}`);
        if (bd.metadata.namespace !== deploymentNamespaceFor(bundleNs, l[Label.ClusterName] ?? '')) violations.add(`${where}: not in its own workspace's deployment namespace`);
      }
      checks += 1;
      await delay(100); // poll interval, not a wait for a condition
    }
  })();

  try {
    for (let round = 1; round <= 3; round++) {
      await label(wsB, true);
      await waitForLogCount('workspace onboarded', wsB, round);
      if (round === 2) await converge([wsA, wsB], 'both workspaces placed mid-way');
      await label(wsB, false);
      await waitForLogCount('workspace offboarded', wsB, round);
    }
    await label(wsB, true);
    workspaceCount += 1;
    await waitForLogCount('workspace onboarded', wsB, 4);
    await converge([wsA, wsB], 'both workspaces placed after the flips', 90_000);
  } finally {
    watching = false;
    await watcher;
  }
  console.log(`# ${checks} isolation checks during 3 offboard/onboard rounds`);
  assert.deepEqual([...violations], []);
  assert.deepEqual(uids(await bdsOf([wsA])), aBds, "A's BundleDeployments were never touched by B's flips");
  await waitForGauge(workspaceCount);
});

test('(e) a mode change in the config file (selector → static) onboards and offboards live', async () => {
  const only = 'static-only';
  await createNamespace(only);
  await populate(only);
  const aBds = uids(await bdsOf([wsA]));
  const changes = flotilla.logs.filter((l) => l.msg === 'workspace set changed').length;

  flotilla.writeConfig({ workspaces: { mode: 'static', names: [only], offboard: 'retain' } });
  const line = await waitFor(() => flotilla.logs.filter((l) => l.msg === 'workspace set changed')[changes], { description: '"workspace set changed" log line' });
  assert.equal(line.mode, 'static');
  assert.deepEqual(line.onboarded, [only]);
  const offboarded = line.offboarded as string[];
  assert.ok(offboarded.includes(wsA) && offboarded.includes(wsB) && offboarded.includes('bulk-49'), `offboarded: ${offboarded.join(', ')}`);
  assert.equal(offboarded.length, workspaceCount);
  assert.ok(!offboarded.includes('bulk-00'), 'a deleted workspace is not offboarded twice');

  await converge([only], 'the static workspace placed');
  await waitForConvergence(async () => [...(await finalizerProblems(wsA, false)), ...(await finalizerProblems(only, true))], {
    description: 'finalizers released in A, added in the static workspace',
  });
  await waitForGauge(1);
  await flotilla.waitForIdle({ description: 'controller idle after the mode change' });
  assert.deepEqual(uids(await bdsOf([wsA])), aBds, 'retain: A keeps its BundleDeployments');
});
