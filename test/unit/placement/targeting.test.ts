import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BundleTarget } from '../../../src/api/bundle.ts';
import {
  clusterMatchesBundle,
  computePlacement,
  decideForCluster,
  resolveTargets,
} from '../../../src/placement/targeting.ts';
import { bundle, cluster, clusters, group, groups, WS } from './fixtures.ts';

interface Case {
  name: string;
  targets: BundleTarget[] | undefined;
  /** cluster → index of the deciding target, for deployed clusters. */
  desired: Record<string, number>;
  /** cluster → index of the deciding doNotDeploy target. */
  excluded?: Record<string, number>;
  /** [reason, field] of each expected problem, in order. */
  problems?: [string, string][];
}

const ALL = ['c-dev-eu', 'c-nolabels', 'c-prod-eu', 'c-prod-us', 'c-staging'];
const at = (index: number, names: string[]) => Object.fromEntries(names.map((n) => [n, index]));
// Casts let the table carry inputs the schema would reject (the controller must cope anyway).
const raw = (target: unknown) => target as BundleTarget;

const cases: Case[] = [
  { name: 'no targets: deployed nowhere', targets: undefined, desired: {} },
  { name: 'empty target list: deployed nowhere', targets: [], desired: {} },
  {
    name: 'a target with no criteria matches nothing and is reported',
    targets: [raw({ name: 'oops' })],
    desired: {},
    problems: [['InvalidTarget', 'spec.targets[0]']],
  },
  {
    name: 'doNotDeploy alone is not a criterion',
    targets: [raw({ doNotDeploy: true })],
    desired: {},
    problems: [['InvalidTarget', 'spec.targets[0]']],
  },
  { name: 'clusterSelector {} matches every Cluster of the workspace', targets: [{ clusterSelector: {} }], desired: at(0, ALL) },
  {
    name: 'empty matchLabels and matchExpressions also match everything, Clusters without labels included',
    targets: [{ clusterSelector: { matchLabels: {}, matchExpressions: [] } }],
    desired: at(0, ALL),
  },
  {
    name: 'matchLabels: one label',
    targets: [{ clusterSelector: { matchLabels: { env: 'prod' } } }],
    desired: at(0, ['c-prod-eu', 'c-prod-us']),
  },
  {
    name: 'matchLabels: all labels must match',
    targets: [{ clusterSelector: { matchLabels: { env: 'prod', region: 'eu' } } }],
    desired: at(0, ['c-prod-eu']),
  },
  {
    name: 'matchExpressions In',
    targets: [{ clusterSelector: { matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'dev'] }] } }],
    desired: at(0, ['c-dev-eu', 'c-prod-eu', 'c-prod-us']),
  },
  {
    name: 'matchExpressions NotIn also matches Clusters without the key',
    targets: [{ clusterSelector: { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] } }],
    desired: at(0, ['c-dev-eu', 'c-nolabels', 'c-staging']),
  },
  {
    name: 'matchExpressions Exists',
    targets: [{ clusterSelector: { matchExpressions: [{ key: 'canary', operator: 'Exists' }] } }],
    desired: at(0, ['c-staging']),
  },
  {
    name: 'matchExpressions DoesNotExist matches the Cluster without labels',
    targets: [{ clusterSelector: { matchExpressions: [{ key: 'env', operator: 'DoesNotExist' }] } }],
    desired: at(0, ['c-nolabels']),
  },
  {
    name: 'matchExpressions In and NotIn together (AND)',
    targets: [
      {
        clusterSelector: {
          matchExpressions: [
            { key: 'env', operator: 'In', values: ['prod', 'dev'] },
            { key: 'region', operator: 'NotIn', values: ['us'] },
          ],
        },
      },
    ],
    desired: at(0, ['c-dev-eu', 'c-prod-eu']),
  },
  {
    name: 'matchLabels and matchExpressions together (AND)',
    targets: [{ clusterSelector: { matchLabels: { region: 'eu' }, matchExpressions: [{ key: 'tier', operator: 'Exists' }] } }],
    desired: at(0, ['c-prod-eu']),
  },
  { name: 'clusterName', targets: [{ clusterName: 'c-dev-eu' }], desired: at(0, ['c-dev-eu']) },
  { name: 'clusterName of no Cluster: nothing, not a problem', targets: [{ clusterName: 'c-later' }], desired: {} },
  { name: 'clusterName of a Cluster in another namespace: nothing', targets: [{ clusterName: 'c-foreign' }], desired: {} },
  { name: 'clusterGroup: the members of the group', targets: [{ clusterGroup: 'g-eu' }], desired: at(0, ['c-dev-eu', 'c-prod-eu']) },
  { name: 'clusterGroup with an empty selector: every Cluster', targets: [{ clusterGroup: 'g-all' }], desired: at(0, ALL) },
  { name: 'clusterGroup without members: nothing, not a problem', targets: [{ clusterGroup: 'g-none' }], desired: {} },
  {
    name: 'clusterGroup missing: nothing, reported',
    targets: [{ clusterGroup: 'g-missing' }],
    desired: {},
    problems: [['ClusterGroupNotFound', 'spec.targets[0].clusterGroup']],
  },
  {
    name: 'clusterGroup that exists only in another namespace is missing',
    targets: [{ clusterGroup: 'g-foreign' }],
    desired: {},
    problems: [['ClusterGroupNotFound', 'spec.targets[0].clusterGroup']],
  },
  {
    name: 'clusterGroup with an invalid selector: nothing, reported',
    targets: [{ clusterGroup: 'g-bad' }],
    desired: {},
    problems: [['InvalidClusterGroup', 'spec.targets[0].clusterGroup']],
  },
  {
    name: 'clusterGroupSelector selects groups by their labels (not the Clusters\')',
    targets: [{ clusterGroupSelector: { matchLabels: { kind: 'region' } } }],
    desired: at(0, ['c-dev-eu', 'c-prod-eu']),
  },
  {
    name: 'clusterGroupSelector matching several groups: members of any of them',
    targets: [{ clusterGroupSelector: { matchExpressions: [{ key: 'kind', operator: 'In', values: ['env', 'region'] }] } }],
    desired: at(0, ['c-dev-eu', 'c-prod-eu', 'c-prod-us']),
  },
  {
    name: 'clusterGroupSelector selecting no group: nothing',
    targets: [{ clusterGroupSelector: { matchLabels: { kind: 'nope' } } }],
    desired: {},
  },
  {
    name: 'clusterGroupSelector {} selects every group; an invalid one among them is reported',
    targets: [{ clusterGroupSelector: {} }],
    desired: at(0, ALL),
    problems: [['InvalidClusterGroup', 'spec.targets[0].clusterGroupSelector']],
  },
  {
    name: 'clusterSelector + clusterGroup: both must match',
    targets: [{ clusterSelector: { matchLabels: { region: 'eu' } }, clusterGroup: 'g-prod' }],
    desired: at(0, ['c-prod-eu']),
  },
  {
    name: 'clusterName + clusterSelector that disagree: nothing',
    targets: [{ clusterName: 'c-prod-us', clusterSelector: { matchLabels: { env: 'dev' } } }],
    desired: {},
  },
  {
    name: 'clusterName + clusterGroup that agree',
    targets: [{ clusterName: 'c-prod-us', clusterGroup: 'g-prod' }],
    desired: at(0, ['c-prod-us']),
  },
  {
    name: 'clusterGroupSelector + clusterSelector',
    targets: [{ clusterGroupSelector: { matchLabels: { kind: 'region' } }, clusterSelector: { matchLabels: { env: 'dev' } } }],
    desired: at(0, ['c-dev-eu']),
  },
  {
    name: 'clusterGroup + clusterGroupSelector: member of the named group and of a selected one',
    targets: [{ clusterGroup: 'g-prod', clusterGroupSelector: { matchLabels: { kind: 'region' } } }],
    desired: at(0, ['c-prod-eu']),
  },
  {
    name: 'all four criteria at once',
    targets: [
      {
        clusterName: 'c-prod-eu',
        clusterSelector: { matchLabels: { tier: 'gold' } },
        clusterGroup: 'g-eu',
        clusterGroupSelector: { matchLabels: { critical: 'true' } },
      },
    ],
    desired: at(0, ['c-prod-eu']),
  },
  {
    name: 'first matching target decides',
    targets: [{ clusterSelector: { matchLabels: { env: 'prod' } } }, { clusterSelector: {} }],
    desired: { ...at(1, ALL), ...at(0, ['c-prod-eu', 'c-prod-us']) },
  },
  {
    name: 'doNotDeploy first excludes, later targets deploy the rest',
    targets: [{ clusterGroup: 'g-prod', doNotDeploy: true }, { clusterSelector: {} }],
    desired: at(1, ['c-dev-eu', 'c-nolabels', 'c-staging']),
    excluded: at(0, ['c-prod-eu', 'c-prod-us']),
  },
  {
    name: 'doNotDeploy after a matching target does not exclude (first match wins)',
    targets: [{ clusterSelector: { matchLabels: { region: 'eu' } } }, { clusterSelector: { matchLabels: { env: 'prod' } }, doNotDeploy: true }],
    desired: at(0, ['c-dev-eu', 'c-prod-eu']),
    excluded: at(1, ['c-prod-us']),
  },
  {
    name: 'only doNotDeploy targets: nothing deployed',
    targets: [{ clusterSelector: {}, doNotDeploy: true }],
    desired: {},
    excluded: at(0, ALL),
  },
  {
    name: 'doNotDeploy: false is an ordinary target',
    targets: [{ clusterName: 'c-staging', doNotDeploy: false }],
    desired: at(0, ['c-staging']),
  },
  {
    name: 'a missing group matches nothing, other targets still apply (even after a doNotDeploy)',
    targets: [{ clusterGroup: 'g-missing', doNotDeploy: true }, { clusterSelector: {} }],
    desired: at(1, ALL),
    problems: [['ClusterGroupNotFound', 'spec.targets[0].clusterGroup']],
  },
  {
    name: 'an invalid selector makes its target match nothing; other targets still apply',
    targets: [
      raw({ clusterSelector: { matchExpressions: [{ key: 'env', operator: 'In' }] } }),
      { clusterName: 'c-dev-eu' },
    ],
    desired: at(1, ['c-dev-eu']),
    problems: [['InvalidTarget', 'spec.targets[0].clusterSelector.matchExpressions[0].values']],
  },
  {
    name: 'an invalid criterion voids the whole target even if the others would match',
    targets: [raw({ clusterName: 'c-dev-eu', clusterGroupSelector: { matchLabels: { 'bad key!': 'x' } } })],
    desired: {},
    problems: [['InvalidTarget', 'spec.targets[0].clusterGroupSelector.matchLabels']],
  },
  {
    name: 'null criteria and empty names count as unset (Fleet: "" is unset)',
    targets: [raw({ clusterSelector: null, clusterGroup: '', clusterName: 'c-nolabels' })],
    desired: at(0, ['c-nolabels']),
  },
  {
    name: 'a target whose only criterion is an empty name has no criterion',
    targets: [raw({ clusterName: '' })],
    desired: {},
    problems: [['InvalidTarget', 'spec.targets[0]']],
  },
  {
    name: 'problems come in target order, static and workspace-dependent alike',
    targets: [{ clusterGroup: 'g-missing' }, raw({}), { clusterGroup: 'g-bad' }, { clusterSelector: { matchLabels: { env: 'dev' } } }],
    desired: at(3, ['c-dev-eu']),
    problems: [
      ['ClusterGroupNotFound', 'spec.targets[0].clusterGroup'],
      ['InvalidTarget', 'spec.targets[1]'],
      ['InvalidClusterGroup', 'spec.targets[2].clusterGroup'],
    ],
  },
];

describe('computePlacement', () => {
  assert.ok(cases.length >= 30, 'the table covers at least 30 cases');
  for (const c of cases) {
    it(c.name, () => {
      const result = computePlacement(bundle(c.targets), clusters, groups);
      assert.deepEqual(
        Object.fromEntries([...result.desired].map(([name, p]) => [name, p.targetIndex])),
        c.desired,
        'desired clusters',
      );
      assert.deepEqual(
        Object.fromEntries([...result.excluded].map(([name, p]) => [name, p.targetIndex])),
        c.excluded ?? {},
        'excluded clusters',
      );
      for (const p of result.desired.values()) assert.equal(p.doNotDeploy, false);
      for (const p of result.excluded.values()) assert.equal(p.doNotDeploy, true);
      assert.deepEqual(
        result.problems.map((p) => [p.reason, p.field]),
        c.problems ?? [],
        `problems: ${result.problems.map((p) => p.message).join(' | ')}`,
      );
      for (const p of result.problems) assert.ok(p.message.startsWith(`${p.field}: `), `message starts with its field: ${p.message}`);
    });
  }
});

describe('targeting details', () => {
  it('reports a missing group with the field path, name and namespace', () => {
    const result = computePlacement(bundle([{ clusterSelector: {} }, { clusterGroup: 'x' }]), clusters, groups);
    assert.equal(result.problems.length, 1);
    assert.match(
      result.problems[0]?.message ?? '',
      /^spec\.targets\[1\]\.clusterGroup: ClusterGroup "x" not found in namespace "ws"; the target matches no Cluster until it exists$/,
    );
  });

  it('warns that a doNotDeploy target with a missing group excludes nothing', () => {
    const result = computePlacement(bundle([{ clusterGroup: 'x', doNotDeploy: true }]), clusters, groups);
    assert.match(result.problems[0]?.message ?? '', /doNotDeploy target, Clusters it should exclude may be deployed to by later targets/);
  });

  it('carries the deciding target\'s name', () => {
    const result = computePlacement(
      bundle([{ name: 'eu', clusterSelector: { matchLabels: { region: 'eu' } } }, { name: 'rest', clusterSelector: {}, doNotDeploy: true }]),
      clusters,
      groups,
    );
    assert.deepEqual(result.desired.get('c-prod-eu'), { targetIndex: 0, targetName: 'eu', doNotDeploy: false });
    assert.deepEqual(result.excluded.get('c-prod-us'), { targetIndex: 1, targetName: 'rest', doNotDeploy: true });
    assert.deepEqual(decideForCluster(resolveTargets(bundle([{ clusterSelector: {} }]), []), clusters[0]!), {
      targetIndex: 0,
      doNotDeploy: false,
    });
  });

  it('returns clusters in name order whatever the input order', () => {
    const shuffled = [...clusters].reverse();
    const result = computePlacement(bundle([{ clusterSelector: {} }]), shuffled, groups);
    assert.deepEqual([...result.desired.keys()], ALL);
  });

  it('never targets a Cluster being deleted', () => {
    const deleting = cluster('c-going', { env: 'prod' });
    deleting.metadata.deletionTimestamp = '2025-01-01T00:00:00Z';
    const result = computePlacement(bundle([{ clusterSelector: {} }]), [...clusters, deleting], groups);
    assert.equal(result.desired.has('c-going'), false);
    assert.equal(result.desired.size, ALL.length);
  });

  it('never targets Clusters or uses groups of another namespace, even with identical names', () => {
    const foreignTwin = cluster('c-prod-eu', { env: 'prod' }, 'other');
    const result = computePlacement(bundle([{ clusterGroup: 'g-x' }]), [foreignTwin], [group('g-x', {}, {}, 'other')]);
    assert.equal(result.desired.size, 0);
    assert.equal(result.problems[0]?.reason, 'ClusterGroupNotFound');
  });

  it('a group created later is picked up on the next computation (membership is derived)', () => {
    const b = bundle([{ clusterGroup: 'g-new' }]);
    assert.equal(computePlacement(b, clusters, groups).desired.size, 0);
    const withGroup = [...groups, group('g-new', { matchLabels: { canary: 'true' } })];
    const result = computePlacement(b, clusters, withGroup);
    assert.deepEqual([...result.desired.keys()], ['c-staging']);
    assert.equal(result.problems.length, 0);
  });

  it('clusterMatchesBundle is true for placements only', () => {
    const resolved = resolveTargets(bundle([{ clusterGroup: 'g-prod', doNotDeploy: true }, { clusterSelector: {} }]), groups);
    const byName = new Map(clusters.map((c) => [c.metadata.name, c]));
    assert.equal(clusterMatchesBundle(resolved, byName.get('c-prod-eu')!), false);
    assert.equal(clusterMatchesBundle(resolved, byName.get('c-dev-eu')!), true);
    assert.equal(clusterMatchesBundle(resolved, byName.get('c-foreign')!), false);
  });

  it('does not throw on malformed targets', () => {
    const b = bundle(undefined);
    (b.spec as { targets: unknown }).targets = [null, 'x', { clusterSelector: 'all' }, { clusterName: 7 }];
    const result = computePlacement(b, clusters, groups);
    assert.equal(result.desired.size, 0);
    assert.deepEqual(
      result.problems.map((p) => p.field),
      ['spec.targets[0]', 'spec.targets[1]', 'spec.targets[2].clusterSelector', 'spec.targets[3].clusterName'],
    );
  });

  it('throws for a Bundle without a namespace (a programming error, not input)', () => {
    const b = bundle([{ clusterSelector: {} }]);
    delete b.metadata.namespace;
    assert.throws(() => computePlacement(b, clusters, groups), TypeError);
  });

  it(`places 1,000 clusters against 100 groups quickly`, () => {
    const many = Array.from({ length: 1000 }, (_, i) => cluster(`c${i}`, { shard: String(i % 100), env: i % 2 ? 'prod' : 'dev' }));
    const manyGroups = Array.from({ length: 100 }, (_, i) => group(`g${i}`, { matchLabels: { shard: String(i) } }, { kind: 'shard' }));
    const started = performance.now();
    const result = computePlacement(
      bundle([{ clusterGroupSelector: { matchLabels: { kind: 'shard' } }, clusterSelector: { matchLabels: { env: 'prod' } } }]),
      many,
      manyGroups,
    );
    const elapsed = performance.now() - started;
    assert.equal(result.desired.size, 500);
    assert.ok(elapsed < 1000, `took ${elapsed.toFixed(1)} ms`);
    assert.equal(WS, 'ws');
  });
});
