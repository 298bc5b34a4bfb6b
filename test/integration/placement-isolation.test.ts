import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Finalizer, Label, MANAGED_BY_VALUE } from '../../src/api/constants.ts';
import { builtinTypes } from '../../src/runtime/kube/resource.ts';
import { deploymentNamespaceFor } from '../../src/placement/deployment-namespace.ts';
import {
  T,
  bundleObject,
  clusterGroupObject,
  clusterObject,
  listAll,
  readWorld,
  reportLoggedProblems,
  startPlacementEnv,
  waitForConvergence,
  type FlotillaProcess,
  type Obj,
  type PlacementEnv,
} from '../support/flotilla.ts';
import { describeDiff, desiredPlacements, diffPlacements, isEmptyDiff, placementKey } from '../support/oracle.ts';

/**
 * The workspace is a tenant boundary (docs/architecture.md#workspaces): two workspaces hold
 * identically named and labelled Clusters, ClusterGroups and Bundles, and
 * every Bundle's BundleDeployments land only in its own workspace's
 * deployment namespaces. A namespace that is not a workspace holds the same
 * objects and is ignored altogether.
 */

const wsA = 'tenant-a';
const wsB = 'tenant-b';
const plain = 'not-a-workspace';
let env: PlacementEnv;
let flotilla: FlotillaProcess;

const sharedClusters: Record<string, Record<string, string>> = {
  c1: { env: 'prod' },
  c2: { env: 'dev' },
  c3: { env: 'prod', region: 'eu' },
};
const bundles: Array<{ name: string; targets: unknown[] }> = [
  { name: 'b-prod', targets: [{ clusterSelector: { matchLabels: { env: 'prod' } } }] },
  { name: 'b-all', targets: [{ clusterSelector: {} }] },
  { name: 'b-name', targets: [{ clusterName: 'c2' }] },
  { name: 'b-group', targets: [{ clusterGroup: 'prod' }] },
  { name: 'b-group-selector', targets: [{ clusterGroupSelector: { matchLabels: { team: 'x' } } }] },
  // c4 exists only in tenant-b: from tenant-a this names nothing.
  { name: 'b-only-in-b', targets: [{ clusterName: 'c4' }] },
];

before(async () => {
  env = await startPlacementEnv();
  const { admin } = env;
  await admin.create(builtinTypes.namespace, { metadata: { name: wsA, labels: { [Label.Workspace]: 'true' } } });
  await admin.create(builtinTypes.namespace, { metadata: { name: wsB, labels: { [Label.Workspace]: 'true' } } });
  // Labelled, but not with the value the default workspace selector wants.
  await admin.create(builtinTypes.namespace, { metadata: { name: plain, labels: { [Label.Workspace]: 'false' } } });
  for (const ns of [wsA, wsB, plain]) {
    for (const [name, labels] of Object.entries(sharedClusters)) await admin.create(T.Cluster, clusterObject(ns, name, labels));
    await admin.create(T.ClusterGroup, clusterGroupObject(ns, 'prod', { matchLabels: { env: 'prod' } }, { team: 'x' }));
    for (const b of bundles) await admin.create(T.Bundle, bundleObject(ns, b.name, b.targets));
  }
  // One more prod cluster in tenant-b only.
  await admin.create(T.Cluster, clusterObject(wsB, 'c4', { env: 'prod' }));
  flotilla = await env.startFlotilla();
  await flotilla.waitForReady();
});

after(async () => {
  if (flotilla) reportLoggedProblems(flotilla);
  await env?.stop();
});

test('each Bundle is deployed only to Clusters of its own workspace', async () => {
  const { admin } = env;
  const world = await readWorld(admin);
  const desired = desiredPlacements(world);
  // Hand-written expectations for the asymmetric parts, so the oracle is not the only judge.
  const keys = new Set(desired.map(placementKey));
  assert.ok(keys.has(`${wsB}/b-only-in-b@c4`) && !keys.has(`${wsA}/b-only-in-b@c4`));
  assert.ok(keys.has(`${wsB}/b-prod@c4`) && keys.has(`${wsB}/b-group@c4`) && keys.has(`${wsB}/b-group-selector@c4`));
  assert.ok(![...keys].some((k) => k.startsWith(`${plain}/`)), 'nothing is desired in a namespace that is not a workspace');
  assert.equal(desired.filter((p) => p.bundleNamespace === wsA).length, 2 + 3 + 1 + 2 + 2 + 0);
  assert.equal(desired.filter((p) => p.bundleNamespace === wsB).length, 3 + 4 + 1 + 3 + 3 + 1);

  await waitForConvergence(
    async () => {
      const bds = await listAll(admin, T.BundleDeployment);
      const diff = diffPlacements(desired, bds, deploymentNamespaceFor);
      return isEmptyDiff(diff) ? [] : [describeDiff(diff)];
    },
    { timeoutMs: 60_000, description: 'BundleDeployments to match the oracle in both workspaces' },
  );

  // Cross-check every BundleDeployment's labels against where it lives.
  const bds = await listAll(admin, T.BundleDeployment);
  const namespaces = new Map((await listAll(admin, builtinTypes.namespace)).map((ns) => [ns.metadata.name ?? '', ns]));
  for (const bd of bds) {
    const labels = bd.metadata.labels ?? {};
    const where = `${bd.metadata.namespace}/${bd.metadata.name}`;
    const workspace = labels[Label.BundleNamespace];
    assert.ok(workspace === wsA || workspace === wsB, `${where}: bundle-namespace ${workspace}`);
    assert.equal(labels[Label.ClusterNamespace], workspace, `${where}: cluster-namespace equals bundle-namespace`);
    assert.equal(labels[Label.BundleName], bd.metadata.name, `${where}: bundle-name label`);
    const cluster = labels[Label.ClusterName] ?? '';
    assert.equal(bd.metadata.namespace, deploymentNamespaceFor(workspace, cluster), `${where}: lives in its cluster's deployment namespace`);
    const ns = namespaces.get(bd.metadata.namespace ?? '');
    assert.equal(ns?.metadata.labels?.[Label.ClusterNamespace], workspace, `${where}: its namespace belongs to the same workspace`);
    assert.equal(ns?.metadata.labels?.[Label.ClusterName], cluster, `${where}: its namespace belongs to the same cluster`);
  }
});

test('Clusters get a finalizer and a labelled deployment namespace recorded in status.namespace', async () => {
  const { admin } = env;
  await waitForConvergence(
    async () => {
      const problems: string[] = [];
      const namespaces = new Map((await listAll(admin, builtinTypes.namespace)).map((ns) => [ns.metadata.name ?? '', ns]));
      for (const ws of [wsA, wsB]) {
        for (const c of await listAll(admin, T.Cluster, { namespace: ws })) {
          const name = c.metadata.name ?? '';
          const expectedNs = deploymentNamespaceFor(ws, name);
          if (!c.metadata.finalizers?.includes(Finalizer.ClusterCleanup)) problems.push(`${ws}/${name}: no ${Finalizer.ClusterCleanup} finalizer`);
          if (c.status?.namespace !== expectedNs) problems.push(`${ws}/${name}: status.namespace ${String(c.status?.namespace)}, expected ${expectedNs}`);
          const ns = namespaces.get(expectedNs);
          const labels = ns?.metadata.labels ?? {};
          if (!ns) problems.push(`${ws}/${name}: namespace ${expectedNs} missing`);
          else if (labels[Label.ManagedBy] !== MANAGED_BY_VALUE || labels[Label.ClusterName] !== name || labels[Label.ClusterNamespace] !== ws) {
            problems.push(`${ws}/${name}: namespace ${expectedNs} labels ${JSON.stringify(labels)}`);
          }
        }
      }
      return problems;
    },
    { timeoutMs: 30_000, description: 'Cluster finalizers, status.namespace and deployment namespaces' },
  );
  const deploymentNamespaces = (await listAll(admin, builtinTypes.namespace)).filter((ns) => ns.metadata.labels?.[Label.ManagedBy] === MANAGED_BY_VALUE);
  assert.equal(deploymentNamespaces.length, 3 + 4, 'one deployment namespace per Cluster of the two workspaces, none for the plain namespace');
});

test('ClusterGroups count only Clusters of their own workspace', async () => {
  const { admin } = env;
  await waitForConvergence(
    async () => {
      const a = await admin.get<Obj>(T.ClusterGroup, 'prod', wsA);
      const b = await admin.get<Obj>(T.ClusterGroup, 'prod', wsB);
      const problems: string[] = [];
      if (a.status?.clusterCount !== 2) problems.push(`${wsA}/prod clusterCount ${String(a.status?.clusterCount)}, expected 2`);
      if (b.status?.clusterCount !== 3) problems.push(`${wsB}/prod clusterCount ${String(b.status?.clusterCount)}, expected 3`);
      return problems;
    },
    { timeoutMs: 30_000, description: 'ClusterGroup counts per workspace' },
  );
});

test('Bundle summaries count only their own workspace', async () => {
  const { admin } = env;
  const expected: Record<string, Record<string, number>> = {
    [wsA]: { 'b-prod': 2, 'b-all': 3, 'b-name': 1, 'b-group': 2, 'b-group-selector': 2, 'b-only-in-b': 0 },
    [wsB]: { 'b-prod': 3, 'b-all': 4, 'b-name': 1, 'b-group': 3, 'b-group-selector': 3, 'b-only-in-b': 1 },
  };
  await waitForConvergence(
    async () => {
      const problems: string[] = [];
      for (const ws of [wsA, wsB]) {
        for (const b of await listAll(admin, T.Bundle, { namespace: ws })) {
          const want = expected[ws]?.[b.metadata.name ?? ''];
          const summary = (b.status?.summary ?? {}) as { desiredReady?: number };
          const display = (b.status?.display ?? {}) as { readyClusters?: string };
          if (summary.desiredReady !== want) problems.push(`${ws}/${b.metadata.name}: desiredReady ${String(summary.desiredReady)}, expected ${want}`);
          if (display.readyClusters !== `0/${want}`) problems.push(`${ws}/${b.metadata.name}: display.readyClusters ${String(display.readyClusters)}, expected 0/${want}`);
        }
      }
      return problems;
    },
    { timeoutMs: 30_000, description: 'Bundle summaries per workspace' },
  );
});

test('objects in a namespace that is not a workspace are left alone', async () => {
  const { admin } = env;
  // By now the controller has long processed both workspaces (previous tests).
  for (const c of await listAll(admin, T.Cluster, { namespace: plain })) {
    assert.deepEqual(c.metadata.finalizers ?? [], [], `${plain}/${c.metadata.name} has no finalizer`);
    assert.equal(c.status, undefined, `${plain}/${c.metadata.name} has no status`);
  }
  for (const b of await listAll(admin, T.Bundle, { namespace: plain })) {
    assert.deepEqual(b.metadata.finalizers ?? [], [], `${plain}/${b.metadata.name} has no finalizer`);
    assert.equal(b.status, undefined, `${plain}/${b.metadata.name} has no status`);
  }
  const strays = await listAll(admin, T.BundleDeployment, { labelSelector: `${Label.BundleNamespace}=${plain}` });
  assert.deepEqual(strays.map((bd) => `${bd.metadata.namespace}/${bd.metadata.name}`), []);
  const nsStrays = await listAll(admin, builtinTypes.namespace, { labelSelector: `${Label.ClusterNamespace}=${plain}` });
  assert.deepEqual(nsStrays.map((ns) => ns.metadata.name), []);
});
