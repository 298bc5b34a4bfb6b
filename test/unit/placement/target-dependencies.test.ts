import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BundleTarget } from '../../../src/api/bundle.ts';
import type { Cluster } from '../../../src/api/cluster.ts';
import {
  clusterChangeAffectsBundle,
  clusterChangeTriggersFanOut,
  clusterGroupChangeAffectsBundle,
  dependsOnClusterGroups,
  targetDependencies,
} from '../../../src/placement/target-dependencies.ts';
import { computePlacement } from '../../../src/placement/targeting.ts';
import { bundle, cluster, group, groups, seededRandom } from './fixtures.ts';

describe('targetDependencies', () => {
  it('lists every selector, group and name the targets use, with field paths', () => {
    const deps = targetDependencies(
      bundle([
        { clusterSelector: { matchLabels: { env: 'prod' } } },
        { clusterGroup: 'g-eu', clusterName: 'c1' },
        { clusterGroupSelector: { matchLabels: { kind: 'region' } }, doNotDeploy: true },
        { clusterGroup: 'g-eu' },
        { clusterName: 'a0' },
      ]),
    );
    assert.equal(deps.workspace, 'ws');
    assert.deepEqual(deps.clusterSelectors.map((d) => [d.field, d.selector.canonical]), [['spec.targets[0].clusterSelector', 'env=prod']]);
    assert.deepEqual(deps.clusterGroupSelectors.map((d) => [d.field, d.selector.canonical]), [['spec.targets[2].clusterGroupSelector', 'kind=region']]);
    assert.deepEqual(deps.clusterGroupNames, ['g-eu']);
    assert.deepEqual(deps.clusterNames, ['a0', 'c1']);
    assert.equal(dependsOnClusterGroups(deps), true);
  });

  it('leaves out targets that can never match', () => {
    const deps = targetDependencies(
      bundle([
        { name: 'no-criteria' } as BundleTarget,
        { clusterName: 'c1', clusterSelector: { matchExpressions: [{ key: 'a', operator: 'In' }] } } as BundleTarget,
      ]),
    );
    assert.deepEqual(deps.clusterNames, []);
    assert.deepEqual(deps.clusterSelectors, []);
    assert.equal(dependsOnClusterGroups(deps), false);
  });
});

describe('clusterChangeAffectsBundle', () => {
  const prodOnly = targetDependencies(bundle([{ clusterSelector: { matchLabels: { env: 'prod' } } }]));
  const byGroup = targetDependencies(bundle([{ clusterGroup: 'g-eu' }]));
  const byGroupSelector = targetDependencies(bundle([{ clusterGroupSelector: { matchLabels: { kind: 'env' } } }]));
  const byName = targetDependencies(bundle([{ clusterName: 'c1' }]));

  const relabel = (from: Record<string, string>, to: Record<string, string>, name = 'c1'): [Cluster, Cluster] => [
    cluster(name, from),
    cluster(name, to),
  ];

  const cases: { name: string; deps: typeof prodOnly; change: [Cluster | null, Cluster | null]; want: boolean }[] = [
    { name: 'label gained that a selector needs', deps: prodOnly, change: relabel({}, { env: 'prod' }), want: true },
    { name: 'label lost that a selector needs', deps: prodOnly, change: relabel({ env: 'prod' }, { env: 'dev' }), want: true },
    { name: 'unrelated label changed', deps: prodOnly, change: relabel({ env: 'prod' }, { env: 'prod', x: '1' }), want: false },
    { name: 'label changed but result unchanged', deps: prodOnly, change: relabel({ env: 'dev' }, { env: 'qa' }), want: false },
    { name: 'cluster created matching', deps: prodOnly, change: [null, cluster('c1', { env: 'prod' })], want: true },
    { name: 'cluster created not matching', deps: prodOnly, change: [null, cluster('c1', { env: 'dev' })], want: false },
    { name: 'cluster deleted that matched', deps: prodOnly, change: [cluster('c1', { env: 'prod' }), null], want: true },
    { name: 'relabel enters a referenced group', deps: byGroup, change: relabel({ region: 'us' }, { region: 'eu' }), want: true },
    { name: 'relabel outside any referenced group', deps: byGroup, change: relabel({ env: 'dev' }, { env: 'prod' }), want: false },
    { name: 'relabel enters a group selected by clusterGroupSelector', deps: byGroupSelector, change: relabel({}, { env: 'prod' }), want: true },
    { name: 'relabel enters only unselected groups', deps: byGroupSelector, change: relabel({}, { region: 'eu' }), want: false },
    { name: 'named cluster created', deps: byName, change: [null, cluster('c1')], want: true },
    { name: 'other cluster created', deps: byName, change: [null, cluster('c2')], want: false },
    { name: 'named cluster relabelled', deps: byName, change: relabel({}, { a: 'b' }), want: false },
    { name: 'cluster of another namespace', deps: prodOnly, change: [null, cluster('c1', { env: 'prod' }, 'other')], want: false },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(clusterChangeAffectsBundle(c.deps, c.change[0], c.change[1], groups), c.want);
    });
  }

  it('a cluster starting deletion counts as leaving', () => {
    const before = cluster('c1', { env: 'prod' });
    const after = cluster('c1', { env: 'prod' });
    after.metadata.deletionTimestamp = '2025-01-01T00:00:00Z';
    assert.equal(clusterChangeAffectsBundle(prodOnly, before, after, groups), true);
  });

  it('never misses a change of decision (checked against computePlacement on random relabels)', () => {
    const targets: BundleTarget[] = [
      { clusterGroup: 'g-prod', doNotDeploy: true },
      { clusterGroupSelector: { matchLabels: { kind: 'region' } } },
      { clusterSelector: { matchExpressions: [{ key: 'canary', operator: 'Exists' }] } },
      { clusterName: 'c1', clusterSelector: { matchLabels: { tier: 'gold' } } },
    ];
    const b = bundle(targets);
    const deps = targetDependencies(b);
    const keys = ['env', 'region', 'canary', 'tier'];
    const values: Record<string, string[]> = { env: ['prod', 'dev'], region: ['eu', 'us'], canary: ['true'], tier: ['gold', 'x'] };
    const random = seededRandom(42);
    const randomLabels = () => {
      const labels: Record<string, string> = {};
      for (const key of keys) {
        if (random() < 0.5) continue;
        const options = values[key] as string[];
        labels[key] = options[Math.floor(random() * options.length)] as string;
      }
      return labels;
    };
    const decide = (c: Cluster | null) => {
      if (c === null) return 'absent';
      const r = computePlacement(b, [c], groups);
      return JSON.stringify([r.desired.get('c1') ?? null, r.excluded.get('c1') ?? null]);
    };
    let changed = 0;
    let flagged = 0;
    for (let i = 0; i < 2000; i++) {
      const before = random() < 0.1 ? null : cluster('c1', randomLabels());
      const after = random() < 0.1 ? null : cluster('c1', randomLabels());
      const affected = clusterChangeAffectsBundle(deps, before, after, groups);
      if (affected) flagged++;
      if (decide(before) !== decide(after)) {
        changed++;
        assert.ok(affected, `missed: ${JSON.stringify(before?.metadata.labels)} → ${JSON.stringify(after?.metadata.labels)}`);
      }
    }
    assert.ok(changed > 100, `the random walk exercises decision changes (${changed})`);
    assert.ok(flagged < 2000, 'and it does not flag everything');
  });
});

describe('clusterGroupChangeAffectsBundle', () => {
  const byName = targetDependencies(bundle([{ clusterGroup: 'g-eu' }]));
  const bySelector = targetDependencies(bundle([{ clusterGroupSelector: { matchLabels: { kind: 'region' } } }]));
  const noGroups = targetDependencies(bundle([{ clusterSelector: {} }]));
  const eu = group('g-eu', { matchLabels: { region: 'eu' } }, { kind: 'region' });

  it('creation and deletion of a referenced group', () => {
    assert.equal(clusterGroupChangeAffectsBundle(byName, null, eu), true);
    assert.equal(clusterGroupChangeAffectsBundle(byName, eu, null), true);
    assert.equal(clusterGroupChangeAffectsBundle(bySelector, null, eu), true);
  });

  it('selector change of a referenced group', () => {
    const changed = group('g-eu', { matchLabels: { region: 'eu-west' } }, { kind: 'region' });
    assert.equal(clusterGroupChangeAffectsBundle(byName, eu, changed), true);
    assert.equal(clusterGroupChangeAffectsBundle(bySelector, eu, changed), true);
  });

  it('group labels moving into or out of a clusterGroupSelector', () => {
    const relabelled = group('g-eu', { matchLabels: { region: 'eu' } }, { kind: 'geo' });
    assert.equal(clusterGroupChangeAffectsBundle(bySelector, eu, relabelled), true);
    assert.equal(clusterGroupChangeAffectsBundle(bySelector, relabelled, eu), true);
    // Referenced by name: its labels do not matter.
    assert.equal(clusterGroupChangeAffectsBundle(byName, eu, relabelled), false);
  });

  it('status-only or irrelevant changes do not', () => {
    const withStatus = { ...eu, status: { clusterCount: 3 } };
    assert.equal(clusterGroupChangeAffectsBundle(byName, eu, withStatus), false);
    const other = group('g-other', {}, { kind: 'env' });
    assert.equal(clusterGroupChangeAffectsBundle(byName, null, other), false);
    assert.equal(clusterGroupChangeAffectsBundle(bySelector, null, other), false);
    assert.equal(clusterGroupChangeAffectsBundle(noGroups, null, eu), false);
  });

  it('groups of another namespace never do', () => {
    const foreign = group('g-eu', {}, { kind: 'region' }, 'other');
    assert.equal(clusterGroupChangeAffectsBundle(byName, null, foreign), false);
  });
});

describe('clusterChangeTriggersFanOut', () => {
  const base = (): Cluster => ({ ...cluster('c1', { env: 'prod', a: '1' }), spec: { paused: false }, status: { namespace: 'ns1' } });

  it('ignores status heartbeats and label order', () => {
    const after = base();
    after.status = { namespace: 'ns1', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2025-01-01T00:00:00Z', reason: 'Ready', message: '' }] };
    after.metadata.labels = { a: '1', env: 'prod' };
    after.metadata.resourceVersion = '99';
    assert.equal(clusterChangeTriggersFanOut(base(), after), false);
  });

  it('fires on labels, spec, deployment namespace and deletion', () => {
    const labels = base();
    labels.metadata.labels = { env: 'dev', a: '1' };
    const spec = base();
    spec.spec = { paused: true };
    const ns = base();
    ns.status = {};
    const deleting = base();
    deleting.metadata.deletionTimestamp = '2025-01-01T00:00:00Z';
    for (const after of [labels, spec, ns, deleting]) assert.equal(clusterChangeTriggersFanOut(base(), after), true);
  });
});
