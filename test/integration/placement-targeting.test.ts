import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Label } from '../../src/api/constants.ts';
import { contentNameFor } from '../../src/api/content-name.ts';
import { deploymentNamespaceFor } from '../../src/placement/deployment-namespace.ts';
import {
  T,
  bundleObject,
  clusterGroupObject,
  clusterObject,
  createWorkspace,
  listAll,
  mapConcurrent,
  readWorld,
  reportLoggedProblems,
  startPlacementEnv,
  waitForConvergence,
  type FlotillaProcess,
  type Obj,
  type PlacementEnv,
} from '../support/flotilla.ts';
import { targetedClusterNames, type OracleTarget } from '../support/oracle.ts';

/**
 * Targeting semantics (docs/architecture.md#targeting) checked against the BundleDeployments the
 * controller really creates: one workspace, eight Clusters with varied
 * labels, six ClusterGroups, and a table of Bundles each with its expected
 * set of clusters (written by hand, and cross-checked with the oracle so a
 * typo in the table cannot pass silently). Then labels change on two
 * Clusters and the affected Bundles must follow.
 */

const ws = 'targeting';
let env: PlacementEnv;
let flotilla: FlotillaProcess;

const clusters: Record<string, Record<string, string>> = {
  'prod-eu-1': { env: 'prod', region: 'eu', tier: 'gold' },
  'prod-eu-2': { env: 'prod', region: 'eu' },
  'prod-us-1': { env: 'prod', region: 'us', tier: 'silver' },
  'staging-eu': { env: 'staging', region: 'eu', tier: 'gold' },
  'staging-us': { env: 'staging', region: 'us' },
  'dev-1': { env: 'dev', team: 'a' },
  'dev-2': { env: 'dev', team: 'b', tier: 'bronze' },
  bare: {},
};
const ALL = Object.keys(clusters).sort();

const groups: Array<{ name: string; selector: unknown; labels: Record<string, string> }> = [
  { name: 'g-eu', selector: { matchLabels: { region: 'eu' } }, labels: { kind: 'geo', geo: 'europe' } },
  { name: 'g-us', selector: { matchLabels: { region: 'us' } }, labels: { kind: 'geo', geo: 'america' } },
  { name: 'g-prod', selector: { matchLabels: { env: 'prod' } }, labels: { kind: 'env' } },
  { name: 'g-gold', selector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['gold'] }] }, labels: { kind: 'tier' } },
  { name: 'g-all', selector: {}, labels: { kind: 'all' } },
  { name: 'g-nobody', selector: { matchLabels: { env: 'nonexistent' } }, labels: { kind: 'env' } },
];

interface Case {
  name: string;
  targets: OracleTarget[] | undefined;
  expected: string[];
}

const sel = (matchLabels: Record<string, string>) => ({ matchLabels });
const expr = (key: string, operator: string, values?: string[]) => ({ matchExpressions: [{ key, operator, ...(values ? { values } : {}) }] });

const cases: Case[] = [
  { name: 'match-labels', targets: [{ clusterSelector: sel({ env: 'prod' }) }], expected: ['prod-eu-1', 'prod-eu-2', 'prod-us-1'] },
  { name: 'match-labels-two-keys', targets: [{ clusterSelector: sel({ env: 'prod', region: 'eu' }) }], expected: ['prod-eu-1', 'prod-eu-2'] },
  { name: 'expr-in', targets: [{ clusterSelector: expr('env', 'In', ['staging', 'dev']) }], expected: ['dev-1', 'dev-2', 'staging-eu', 'staging-us'] },
  {
    name: 'expr-in-absent-key',
    targets: [{ clusterSelector: expr('region', 'In', ['eu', 'us']) }],
    expected: ['prod-eu-1', 'prod-eu-2', 'prod-us-1', 'staging-eu', 'staging-us'],
  },
  { name: 'expr-notin', targets: [{ clusterSelector: expr('env', 'NotIn', ['prod']) }], expected: ['bare', 'dev-1', 'dev-2', 'staging-eu', 'staging-us'] },
  {
    name: 'expr-notin-absent-key',
    targets: [{ clusterSelector: expr('tier', 'NotIn', ['gold']) }],
    expected: ['bare', 'dev-1', 'dev-2', 'prod-eu-2', 'prod-us-1', 'staging-us'],
  },
  { name: 'expr-exists', targets: [{ clusterSelector: expr('tier', 'Exists') }], expected: ['dev-2', 'prod-eu-1', 'prod-us-1', 'staging-eu'] },
  { name: 'expr-doesnotexist', targets: [{ clusterSelector: expr('tier', 'DoesNotExist') }], expected: ['bare', 'dev-1', 'prod-eu-2', 'staging-us'] },
  { name: 'expr-doesnotexist-env', targets: [{ clusterSelector: expr('env', 'DoesNotExist') }], expected: ['bare'] },
  {
    name: 'expr-two-requirements',
    targets: [{ clusterSelector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['a', 'b'] }, { key: 'tier', operator: 'Exists' }] } }],
    expected: ['dev-2'],
  },
  {
    name: 'expr-exists-and-notin-same-key',
    targets: [{ clusterSelector: { matchExpressions: [{ key: 'env', operator: 'Exists' }, { key: 'env', operator: 'NotIn', values: ['prod'] }] } }],
    expected: ['dev-1', 'dev-2', 'staging-eu', 'staging-us'],
  },
  {
    name: 'labels-and-expressions',
    targets: [{ clusterSelector: { matchLabels: { region: 'eu' }, matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] } }],
    expected: ['prod-eu-2'],
  },
  { name: 'empty-selector-all', targets: [{ clusterSelector: {} }], expected: ALL },
  { name: 'cluster-name', targets: [{ clusterName: 'dev-1' }], expected: ['dev-1'] },
  { name: 'cluster-name-unknown', targets: [{ clusterName: 'no-such-cluster' }], expected: [] },
  { name: 'cluster-group', targets: [{ clusterGroup: 'g-eu' }], expected: ['prod-eu-1', 'prod-eu-2', 'staging-eu'] },
  { name: 'cluster-group-empty-selector', targets: [{ clusterGroup: 'g-all' }], expected: ALL },
  { name: 'cluster-group-no-members', targets: [{ clusterGroup: 'g-nobody' }], expected: [] },
  {
    name: 'group-selector-several-groups',
    targets: [{ clusterGroupSelector: sel({ kind: 'geo' }) }],
    expected: ['prod-eu-1', 'prod-eu-2', 'prod-us-1', 'staging-eu', 'staging-us'],
  },
  {
    name: 'group-selector-expression',
    targets: [{ clusterGroupSelector: expr('kind', 'In', ['env', 'tier']) }],
    expected: ['prod-eu-1', 'prod-eu-2', 'prod-us-1', 'staging-eu'],
  },
  { name: 'group-selector-no-group', targets: [{ clusterGroupSelector: sel({ geo: 'mars' }) }], expected: [] },
  { name: 'and-group-selector', targets: [{ clusterGroup: 'g-eu', clusterSelector: sel({ env: 'prod' }) }], expected: ['prod-eu-1', 'prod-eu-2'] },
  { name: 'and-name-selector', targets: [{ clusterName: 'prod-us-1', clusterSelector: sel({ env: 'prod' }) }], expected: ['prod-us-1'] },
  { name: 'and-name-group-disjoint', targets: [{ clusterName: 'dev-1', clusterGroup: 'g-eu' }], expected: [] },
  {
    name: 'and-groupselector-selector',
    targets: [{ clusterGroupSelector: sel({ kind: 'geo' }), clusterSelector: expr('tier', 'Exists') }],
    expected: ['prod-eu-1', 'prod-us-1', 'staging-eu'],
  },
  {
    name: 'dnd-before-broader',
    targets: [{ clusterName: 'prod-eu-2', doNotDeploy: true }, { clusterSelector: sel({ env: 'prod' }) }],
    expected: ['prod-eu-1', 'prod-us-1'],
  },
  {
    name: 'dnd-group-before-all',
    targets: [{ clusterGroup: 'g-gold', doNotDeploy: true }, { clusterSelector: {} }],
    expected: ['bare', 'dev-1', 'dev-2', 'prod-eu-2', 'prod-us-1', 'staging-us'],
  },
  {
    name: 'dnd-after-no-effect',
    targets: [{ clusterSelector: sel({ env: 'prod' }) }, { clusterName: 'prod-eu-2', doNotDeploy: true }],
    expected: ['prod-eu-1', 'prod-eu-2', 'prod-us-1'],
  },
  {
    name: 'dnd-middle-blocks-later',
    targets: [{ clusterSelector: sel({ env: 'prod' }) }, { clusterSelector: {}, doNotDeploy: true }, { clusterSelector: sel({ env: 'dev' }) }],
    expected: ['prod-eu-1', 'prod-eu-2', 'prod-us-1'],
  },
  { name: 'dnd-only', targets: [{ clusterSelector: {}, doNotDeploy: true }], expected: [] },
  { name: 'union-of-targets', targets: [{ clusterName: 'dev-1' }, { clusterName: 'bare' }, { clusterSelector: sel({ region: 'us' }) }], expected: ['bare', 'dev-1', 'prod-us-1', 'staging-us'] },
  { name: 'no-match', targets: [{ clusterSelector: sel({ env: 'qa' }) }], expected: [] },
  { name: 'no-targets', targets: undefined, expected: [] },
  { name: 'empty-targets', targets: [], expected: [] },
];

before(async () => {
  env = await startPlacementEnv();
  const { admin } = env;
  await createWorkspace(admin, ws);
  for (const [name, labels] of Object.entries(clusters)) await admin.create(T.Cluster, clusterObject(ws, name, labels));
  for (const g of groups) await admin.create(T.ClusterGroup, clusterGroupObject(ws, g.name, g.selector, g.labels));
  flotilla = await env.startFlotilla();
  await flotilla.waitForReady();
});

after(async () => {
  if (flotilla) reportLoggedProblems(flotilla);
  await env?.stop();
});

/** What is wrong with the Bundles' placement compared with `expected` (bundle name → cluster names). */
async function placementProblems(expected: ReadonlyMap<string, readonly string[]>): Promise<string[]> {
  const { admin } = env;
  const [bundles, bds] = await Promise.all([
    listAll(admin, T.Bundle, { namespace: ws }),
    listAll(admin, T.BundleDeployment, { labelSelector: `${Label.BundleNamespace}=${ws}` }),
  ]);
  const problems: string[] = [];
  const byBundle = new Map<string, Obj[]>();
  for (const bd of bds) {
    if (bd.metadata.deletionTimestamp) continue;
    const b = bd.metadata.labels?.[Label.BundleName] ?? '(no bundle label)';
    byBundle.set(b, [...(byBundle.get(b) ?? []), bd]);
  }
  const bundleByName = new Map(bundles.map((b) => [b.metadata.name ?? '', b]));
  for (const [name, want] of expected) {
    const bundle = bundleByName.get(name);
    if (!bundle) {
      problems.push(`${name}: Bundle missing`);
      continue;
    }
    const status = bundle.status ?? {};
    const summary = (status.summary ?? {}) as { desiredReady?: number };
    if (status.observedGeneration !== bundle.metadata.generation) {
      problems.push(`${name}: status.observedGeneration ${String(status.observedGeneration)} != generation ${bundle.metadata.generation}`);
    }
    if (summary.desiredReady !== want.length) problems.push(`${name}: summary.desiredReady ${String(summary.desiredReady)}, expected ${want.length}`);
    const mine = byBundle.get(name) ?? [];
    const got = mine.map((bd) => bd.metadata.labels?.[Label.ClusterName] ?? '?').sort();
    if (JSON.stringify(got) !== JSON.stringify([...want].sort())) {
      problems.push(`${name}: BundleDeployments on [${got.join(', ')}], expected [${[...want].sort().join(', ')}]`);
    }
    const contentName = contentNameFor((bundle.spec?.resources ?? []) as Array<{ name: string; content: string }>);
    for (const bd of mine) {
      const cluster = bd.metadata.labels?.[Label.ClusterName] ?? '?';
      const where = `${name}@${cluster}`;
      if (bd.metadata.name !== name) problems.push(`${where}: named ${bd.metadata.name}`);
      if (bd.metadata.namespace !== deploymentNamespaceFor(ws, cluster)) problems.push(`${where}: in namespace ${bd.metadata.namespace}, expected ${deploymentNamespaceFor(ws, cluster)}`);
      if (bd.metadata.labels?.[Label.ClusterNamespace] !== ws) problems.push(`${where}: cluster-namespace label ${bd.metadata.labels?.[Label.ClusterNamespace]}`);
      if (bd.spec?.contentName !== contentName) problems.push(`${where}: spec.contentName ${String(bd.spec?.contentName)}, expected ${contentName}`);
      if (typeof bd.spec?.deploymentID !== 'string' || !bd.spec.deploymentID.startsWith(`${contentName}:`)) {
        problems.push(`${where}: spec.deploymentID ${String(bd.spec?.deploymentID)} does not start with ${contentName}:`);
      }
    }
  }
  for (const name of byBundle.keys()) if (!expected.has(name)) problems.push(`BundleDeployments for unexpected bundle ${name}`);
  return problems;
}

test('the expected sets in the table agree with the oracle (guards the table itself)', async () => {
  assert.ok(cases.length >= 25, `${cases.length} cases`);
  const world = {
    clusters: Object.entries(clusters).map(([name, labels]) => ({ metadata: { name, namespace: ws, labels } })),
    clusterGroups: groups.map((g) => ({ metadata: { name: g.name, namespace: ws, labels: g.labels }, spec: { selector: g.selector as never } })),
    bundles: [],
  };
  for (const c of cases) {
    const bundle = { metadata: { name: c.name, namespace: ws }, spec: { targets: c.targets ?? null } };
    assert.deepEqual(targetedClusterNames(bundle, world), [...c.expected].sort(), `case ${c.name}`);
  }
});

test('every targeting case produces exactly the expected BundleDeployments', async () => {
  const started = Date.now();
  await mapConcurrent(cases, 8, (c) => env.admin.create(T.Bundle, bundleObject(ws, c.name, c.targets)));
  const expected = new Map(cases.map((c) => [c.name, c.expected]));
  await waitForConvergence(() => placementProblems(expected), { timeoutMs: 90_000, description: 'every Bundle placed as its case expects' });
  const total = cases.reduce((n, c) => n + c.expected.length, 0);
  console.log(`# ${cases.length} bundles, ${total} BundleDeployments converged in ${Date.now() - started} ms`);
  // The exact comparison above is the test; this makes the count visible and non-trivial.
  const bds = await listAll(env.admin, T.BundleDeployment, { labelSelector: `${Label.BundleNamespace}=${ws}` });
  assert.equal(bds.length, total);
});

test('a target without criteria is refused by the API server (CRD validation), so it never reaches the controller', async () => {
  await assert.rejects(env.admin.create(T.Bundle, bundleObject(ws, 'no-criteria', [{ name: 'empty' }])), (error: unknown) => {
    assert.equal((error as { statusCode?: number }).statusCode, 422);
    assert.match(String((error as Error).message), /at least one of clusterSelector/);
    return true;
  });
});

test('ClusterGroups count their members', async () => {
  const expectedCounts: Record<string, number> = { 'g-eu': 3, 'g-us': 2, 'g-prod': 3, 'g-gold': 2, 'g-all': 8, 'g-nobody': 0 };
  await waitForConvergence(
    async () => {
      const list = await listAll(env.admin, T.ClusterGroup, { namespace: ws });
      return list
        .filter((g) => (g.status?.clusterCount as number | undefined) !== expectedCounts[g.metadata.name ?? ''])
        .map((g) => `${g.metadata.name}: clusterCount ${String(g.status?.clusterCount)}, expected ${expectedCounts[g.metadata.name ?? '']}`);
    },
    { timeoutMs: 30_000, description: 'ClusterGroup status.clusterCount' },
  );
});

test('a label flip on Clusters moves exactly the affected Bundles', async () => {
  const { admin } = env;
  const before = await readWorld(admin);
  // bare gains env=prod and tier=gold; prod-eu-2 moves from eu to us.
  const started = Date.now();
  await admin.patch(T.Cluster, 'bare', ws, { metadata: { labels: { env: 'prod', tier: 'gold' } } });
  await admin.patch(T.Cluster, 'prod-eu-2', ws, { metadata: { labels: { region: 'us' } } });
  const after = await readWorld(admin);
  const expected = new Map<string, string[]>();
  let changed = 0;
  for (const c of cases) {
    const bundle = after.bundles.find((b) => b.metadata.name === c.name);
    assert.ok(bundle, `bundle ${c.name} exists`);
    const next = targetedClusterNames(bundle, after);
    const prev = targetedClusterNames(bundle, before);
    if (JSON.stringify(next) !== JSON.stringify(prev)) changed++;
    expected.set(c.name, next);
  }
  assert.ok(changed >= 10, `the flip changes the placement of many bundles (${changed})`);
  await waitForConvergence(() => placementProblems(expected), { timeoutMs: 60_000, description: 'placements after the label flip' });
  console.log(`# label flip: ${changed} bundles changed placement, converged ${Date.now() - started} ms after the first patch`);
  // Group membership follows the labels too.
  const expectedCounts: Record<string, number> = { 'g-eu': 2, 'g-us': 3, 'g-prod': 4, 'g-gold': 3, 'g-all': 8, 'g-nobody': 0 };
  await waitForConvergence(
    async () =>
      (await listAll(env.admin, T.ClusterGroup, { namespace: ws }))
        .filter((g) => (g.status?.clusterCount as number | undefined) !== expectedCounts[g.metadata.name ?? ''])
        .map((g) => `${g.metadata.name}: clusterCount ${String(g.status?.clusterCount)}, expected ${expectedCounts[g.metadata.name ?? '']}`),
    { timeoutMs: 30_000, description: 'ClusterGroup counts after the flip' },
  );
  // Spot checks written by hand, so the oracle is not the only judge.
  assert.deepEqual(expected.get('match-labels'), ['bare', 'prod-eu-1', 'prod-eu-2', 'prod-us-1']);
  assert.deepEqual(expected.get('cluster-group'), ['prod-eu-1', 'staging-eu']);
  assert.deepEqual(expected.get('expr-doesnotexist-env'), []);
  assert.deepEqual(expected.get('dnd-group-before-all'), ['dev-1', 'dev-2', 'prod-eu-2', 'prod-us-1', 'staging-us']);
});
