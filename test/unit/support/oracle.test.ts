import { seededRandom } from '../../support/random.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decide,
  describeDiff,
  desiredPlacements,
  diffPlacements,
  expectedSummary,
  isEmptyDiff,
  placementKey,
  selectorIsValid,
  selectorMatches,
  targetedClusterNames,
  type OracleBundle,
  type OracleBundleDeployment,
  type OracleCluster,
  type OracleClusterGroup,
  type OracleLabelSelector,
  type OracleTarget,
  type OracleWorld,
} from '../../support/oracle.ts';
// Only for the differential check at the end: the oracle itself never imports the product.
import { computePlacement } from '../../../src/placement/targeting.ts';

const ws = 'ws';
const cluster = (name: string, labels: Record<string, string> = {}, namespace = ws, deleting = false): OracleCluster => ({
  metadata: { name, namespace, labels, ...(deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
});
const group = (name: string, selector: OracleLabelSelector | null, labels: Record<string, string> = {}, namespace = ws): OracleClusterGroup => ({
  metadata: { name, namespace, labels },
  spec: { selector },
});
const bundle = (name: string, targets: OracleTarget[], namespace = ws): OracleBundle => ({ metadata: { name, namespace }, spec: { targets } });

test('selectors: matchLabels, every operator, absent keys, empty and missing selectors', () => {
  const labels = { env: 'prod', region: 'eu', tier: '' };
  assert.equal(selectorMatches({}, labels), true, '{} matches everything');
  assert.equal(selectorMatches({}, undefined), true, '{} matches an unlabelled object');
  assert.equal(selectorMatches(undefined, labels), false, 'no selector matches nothing');
  assert.equal(selectorMatches(null, labels), false);
  assert.equal(selectorMatches({ matchLabels: { env: 'prod' } }, labels), true);
  assert.equal(selectorMatches({ matchLabels: { env: 'prod', region: 'us' } }, labels), false, 'all matchLabels must hold');
  assert.equal(selectorMatches({ matchLabels: { tier: '' } }, labels), true, 'empty value present');
  assert.equal(selectorMatches({ matchLabels: { missing: '' } }, labels), false, 'empty value needs the key present');
  const expr = (operator: string, key: string, values?: string[]): OracleLabelSelector => ({ matchExpressions: [{ key, operator, ...(values ? { values } : {}) }] });
  assert.equal(selectorMatches(expr('In', 'env', ['prod', 'dev']), labels), true);
  assert.equal(selectorMatches(expr('In', 'env', ['dev']), labels), false);
  assert.equal(selectorMatches(expr('In', 'absent', ['x']), labels), false, 'In needs the key');
  assert.equal(selectorMatches(expr('NotIn', 'env', ['dev']), labels), true);
  assert.equal(selectorMatches(expr('NotIn', 'env', ['prod']), labels), false);
  assert.equal(selectorMatches(expr('NotIn', 'absent', ['x']), labels), true, 'NotIn holds on an absent key');
  assert.equal(selectorMatches(expr('Exists', 'region'), labels), true);
  assert.equal(selectorMatches(expr('Exists', 'absent'), labels), false);
  assert.equal(selectorMatches(expr('DoesNotExist', 'absent'), labels), true);
  assert.equal(selectorMatches(expr('DoesNotExist', 'tier'), labels), false, 'a key with an empty value exists');
  assert.equal(
    selectorMatches({ matchLabels: { env: 'prod' }, matchExpressions: [{ key: 'region', operator: 'NotIn', values: ['eu'] }] }, labels),
    false,
    'matchLabels AND matchExpressions',
  );
});

test('malformed selectors select nothing', () => {
  for (const bad of [
    { matchExpressions: [{ key: 'a', operator: 'In', values: [] }] },
    { matchExpressions: [{ key: 'a', operator: 'NotIn' }] },
    { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] },
    { matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1'] }] },
  ]) {
    assert.equal(selectorIsValid(bad), false, JSON.stringify(bad));
    assert.equal(selectorMatches(bad, { a: 'x' }), false, JSON.stringify(bad));
    assert.equal(selectorMatches(bad, {}), false, JSON.stringify(bad));
  }
});

test('targets: criteria are ANDed, no criterion matches nothing, first match wins, doNotDeploy excludes', () => {
  const groups = [group('eu', { matchLabels: { region: 'eu' } }, { tier: 'gold' }), group('prod', { matchLabels: { env: 'prod' } }, { tier: 'gold' })];
  const c = cluster('c1', { env: 'prod', region: 'us' });
  assert.equal(decide([{}], c, groups), 'none', 'a target without criteria matches nothing');
  assert.equal(decide([{ doNotDeploy: true }], c, groups), 'none');
  assert.equal(decide([{ clusterSelector: {} }], c, groups), 'deploy');
  assert.equal(decide([{ clusterName: 'c1' }], c, groups), 'deploy');
  assert.equal(decide([{ clusterName: 'c2' }], c, groups), 'none');
  assert.equal(decide([{ clusterName: 'c1', clusterSelector: { matchLabels: { env: 'dev' } } }], c, groups), 'none', 'AND');
  assert.equal(decide([{ clusterGroup: 'prod' }], c, groups), 'deploy');
  assert.equal(decide([{ clusterGroup: 'eu' }], c, groups), 'none');
  assert.equal(decide([{ clusterGroup: 'missing' }], c, groups), 'none', 'a missing group has no members');
  assert.equal(decide([{ clusterGroupSelector: { matchLabels: { tier: 'gold' } } }], c, groups), 'deploy', 'member of one of the selected groups');
  assert.equal(decide([{ clusterGroupSelector: { matchLabels: { tier: 'silver' } } }], c, groups), 'none');
  assert.equal(decide([{ clusterGroupSelector: { matchLabels: { tier: 'gold' } }, clusterGroup: 'eu' }], c, groups), 'none');
  assert.equal(decide([{ clusterName: 'c1', doNotDeploy: true }, { clusterSelector: {} }], c, groups), 'exclude', 'doNotDeploy first');
  assert.equal(decide([{ clusterSelector: {} }, { clusterName: 'c1', doNotDeploy: true }], c, groups), 'deploy', 'doNotDeploy after a match has no effect');
  assert.equal(decide([{ clusterName: 'c2', doNotDeploy: true }, { clusterSelector: {} }], c, groups), 'deploy', 'doNotDeploy that does not match');
});

test('workspaces are tenant boundaries; deleted objects and non-workspaces take no part', () => {
  const world: OracleWorld = {
    clusters: [cluster('a', { env: 'prod' }), cluster('a', { env: 'prod' }, 'other'), cluster('gone', { env: 'prod' }, ws, true), cluster('x', { env: 'prod' }, 'plain')],
    clusterGroups: [group('g', {}, {}, 'other')],
    bundles: [
      bundle('b', [{ clusterSelector: { matchLabels: { env: 'prod' } } }]),
      bundle('g', [{ clusterGroup: 'g' }]),
      bundle('b', [{ clusterSelector: {} }], 'other'),
      bundle('p', [{ clusterSelector: {} }], 'plain'),
      { metadata: { name: 'deleting', namespace: ws, deletionTimestamp: '2026-01-01T00:00:00Z' }, spec: { targets: [{ clusterSelector: {} }] } },
    ],
    isWorkspace: (ns) => ns !== 'plain',
  };
  assert.deepEqual(targetedClusterNames(world.bundles[0]!, world), ['a']);
  assert.deepEqual(targetedClusterNames(world.bundles[1]!, world), [], 'a group of another workspace is not visible');
  assert.deepEqual(
    desiredPlacements(world).map(placementKey),
    ['other/b@a', 'ws/b@a'],
  );
});

const bd = (
  bundleName: string,
  clusterName: string,
  opts: { namespace?: string; ws?: string; status?: OracleBundleDeployment['status']; deploymentID?: string; deleting?: boolean; name?: string } = {},
): OracleBundleDeployment => ({
  metadata: {
    name: opts.name ?? bundleName,
    namespace: opts.namespace ?? `dep-${opts.ws ?? ws}-${clusterName}`,
    labels: {
      'flotilla.dev/bundle-name': bundleName,
      'flotilla.dev/bundle-namespace': opts.ws ?? ws,
      'flotilla.dev/cluster-name': clusterName,
      'flotilla.dev/cluster-namespace': opts.ws ?? ws,
    },
    ...(opts.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
  },
  spec: { deploymentID: opts.deploymentID ?? 's-abc:1' },
  ...(opts.status ? { status: opts.status } : {}),
});

test('diffPlacements finds missing, orphaned, duplicated and misplaced BundleDeployments', () => {
  const desired = [
    { bundleNamespace: ws, bundleName: 'b', clusterName: 'c1' },
    { bundleNamespace: ws, bundleName: 'b', clusterName: 'c2' },
  ];
  const nsFor = (w: string, c: string) => `dep-${w}-${c}`;
  assert.ok(isEmptyDiff(diffPlacements(desired, [bd('b', 'c1'), bd('b', 'c2'), bd('b', 'c3', { deleting: true })], nsFor)));
  const diff = diffPlacements(
    desired,
    [bd('b', 'c1'), bd('b', 'c1', { namespace: 'dep-ws-c1' }), bd('x', 'c1'), bd('b', 'c2', { namespace: 'elsewhere' }), bd('b', 'c9', { name: 'other-name' })],
    nsFor,
  );
  assert.deepEqual(diff.missing, ['ws/b@c2']);
  assert.deepEqual(diff.unexpected, ['ws/x@c1']);
  assert.deepEqual(diff.duplicates, ['ws/b@c1']);
  assert.equal(diff.malformed.length, 2, describeDiff(diff));
  assert.match(describeDiff(diff), /missing \(1\): ws\/b@c2/);
  const crossWorkspace: OracleBundleDeployment = bd('b', 'c1');
  crossWorkspace.metadata.labels!['flotilla.dev/cluster-namespace'] = 'other';
  assert.equal(diffPlacements([], [crossWorkspace]).malformed.length, 1, 'bundle and cluster in different workspaces');
});

test('expectedSummary counts ready BundleDeployments of targeted clusters', () => {
  const world: OracleWorld = {
    clusters: [cluster('c1'), cluster('c2'), cluster('c3'), cluster('c4')],
    clusterGroups: [],
    bundles: [bundle('b', [{ clusterSelector: {} }])],
  };
  const ready = { appliedDeploymentID: 's-abc:1', ready: true };
  const summary = expectedSummary(world.bundles[0]!, world, [
    bd('b', 'c1', { status: ready }),
    bd('b', 'c2', { status: { ...ready, appliedDeploymentID: 's-old:1' } }),
    bd('b', 'c3', { status: { ...ready, nonModified: false } }),
    bd('other', 'c4', { status: ready }),
  ]);
  assert.deepEqual(summary, { desiredReady: 4, ready: 1, nonReadyClusters: ['c2', 'c3', 'c4'], readyClusters: '1/4' });
});

test('differential: the oracle agrees with the product targeting on random worlds', () => {
  const random = seededRandom(20260501);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const keys = ['env', 'region', 'tier', 'team'];
  const values = ['a', 'b', 'c'];
  const randomLabels = (): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const k of keys) if (random() < 0.6) out[k] = pick(values);
    return out;
  };
  const randomSelector = (): OracleLabelSelector => {
    const s: OracleLabelSelector = {};
    if (random() < 0.5) s.matchLabels = { [pick(keys)]: pick(values) };
    if (random() < 0.6) {
      s.matchExpressions = [];
      const n = 1 + Math.floor(random() * 2);
      for (let i = 0; i < n; i++) {
        const operator = pick(['In', 'NotIn', 'Exists', 'DoesNotExist']);
        s.matchExpressions.push(
          operator === 'In' || operator === 'NotIn'
            ? { key: pick(keys), operator, values: [pick(values), pick(values)] }
            : { key: pick(keys), operator },
        );
      }
    }
    return s;
  };
  let compared = 0;
  let nonEmpty = 0;
  for (let round = 0; round < 200; round++) {
    const clusters = Array.from({ length: 8 }, (_, i) => cluster(`c${i}`, randomLabels()));
    const groups = Array.from({ length: 3 }, (_, i) => group(`g${i}`, randomSelector(), { tier: pick(values) }));
    const targets: OracleTarget[] = Array.from({ length: 1 + Math.floor(random() * 3) }, () => {
      const t: OracleTarget = {};
      do {
        if (random() < 0.5) t.clusterSelector = randomSelector();
        if (random() < 0.25) t.clusterGroup = pick(['g0', 'g1', 'g2', 'missing']);
        if (random() < 0.25) t.clusterGroupSelector = { matchLabels: { tier: pick(values) } };
        if (random() < 0.2) t.clusterName = `c${Math.floor(random() * 9)}`;
      } while (Object.keys(t).length === 0);
      if (random() < 0.3) t.doNotDeploy = true;
      return t;
    });
    const b = bundle('b', targets);
    const world: OracleWorld = { clusters, clusterGroups: groups, bundles: [b] };
    const mine = targetedClusterNames(b, world);
    const product = [
      ...computePlacement(
        b as Parameters<typeof computePlacement>[0],
        clusters as Parameters<typeof computePlacement>[1],
        groups as Parameters<typeof computePlacement>[2],
      ).desired.keys(),
    ].sort();
    assert.deepEqual(mine, product, `round ${round}: targets ${JSON.stringify(targets)} groups ${JSON.stringify(groups)} clusters ${JSON.stringify(clusters)}`);
    compared++;
    if (mine.length > 0) nonEmpty++;
  }
  assert.equal(compared, 200);
  assert.ok(nonEmpty > 20, `the random worlds exercise non-empty placements (${nonEmpty})`);
});
