import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Value } from 'typebox/value';
import { BundleStatus } from '../../../src/api/bundle.ts';
import type { Bundle } from '../../../src/api/bundle.ts';
import type { BundleDeployment } from '../../../src/api/bundle-deployment.ts';
import { computeBundleStatus, problemStatement, statusEqual, summarizeBundleDeployments } from '../../../src/placement/summary.ts';
import type { BundleProblem } from '../../../src/placement/problems.ts';
import { bd, bundle } from './fixtures.ts';

const ID = `s-${'a'.repeat(64)}:${'1'.repeat(64)}`;
const OLD = `s-${'b'.repeat(64)}:${'1'.repeat(64)}`;
const T0 = '2025-01-01T00:00:00Z';
const T1 = '2025-01-01T00:05:00Z';
const T2 = '2025-01-01T00:10:00Z';

const readyBD = (cluster: string) => bd(cluster, ID, { appliedDeploymentID: ID, ready: true, nonModified: true });
const notReadyBD = (cluster: string) => bd(cluster, ID, { appliedDeploymentID: ID, ready: false });
const failedBD = (cluster: string) =>
  bd(cluster, ID, {
    appliedDeploymentID: OLD,
    conditions: [{ type: 'Applied', status: 'False', lastTransitionTime: T0, reason: 'ApplyFailed', message: 'denied' }],
  });

function statusOf(b: Bundle, clusters: string[], bds: BundleDeployment[], now: string, extra: { problems?: BundleProblem[]; excluded?: number } = {}) {
  const status = computeBundleStatus({
    bundle: b,
    targetedClusters: clusters,
    excludedClusters: extra.excluded ?? 0,
    bundleDeployments: bds,
    desiredDeploymentID: ID,
    contentName: ID.split(':')[0],
    problems: extra.problems ?? [],
    now,
  });
  b.status = status; // as if written and read back
  return status;
}

const cond = (status: NonNullable<Bundle['status']>, type: string) => status.conditions?.find((c) => c.type === type);

describe('summarizeBundleDeployments', () => {
  it('counts every targeted cluster once, missing BundleDeployments as pending', () => {
    const { summary, worst } = summarizeBundleDeployments(
      bundle([]),
      ['c1', 'c2', 'c3', 'c4', 'c5'],
      [readyBD('c1'), notReadyBD('c2'), failedBD('c3'), bd('c4', OLD, { appliedDeploymentID: OLD, ready: true })],
      ID,
    );
    assert.deepEqual(summary, {
      desiredReady: 5,
      ready: 1,
      notReady: 1,
      pending: 1,
      modified: 0,
      errApplied: 1,
      waitApplied: 0,
      outOfSync: 1,
      nonReadyClusters: ['c3', 'c4', 'c5', 'c2'],
    });
    assert.equal(worst, 'ErrApplied');
  });

  it('ignores BundleDeployments of untargeted clusters and of other Bundles', () => {
    const { summary } = summarizeBundleDeployments(bundle([]), ['c1'], [
      readyBD('c1'),
      failedBD('c9'),
      bd('c1', ID, undefined, 'other-app'),
    ]);
    assert.equal(summary.desiredReady, 1);
    assert.equal(summary.ready, 1);
    assert.equal(summary.nonReadyClusters, undefined);
  });

  it('lists at most 10 non-ready clusters, worst first, then by name', () => {
    const clusters = Array.from({ length: 25 }, (_, i) => `c${String(i).padStart(2, '0')}`);
    const bds = clusters.map((c, i) => (i % 5 === 0 ? failedBD(c) : i % 2 === 0 ? readyBD(c) : notReadyBD(c)));
    const { summary } = summarizeBundleDeployments(bundle([]), [...clusters].reverse(), bds, ID);
    assert.deepEqual(summary.nonReadyClusters, ['c00', 'c05', 'c10', 'c15', 'c20', 'c01', 'c03', 'c07', 'c09', 'c11']);
    assert.equal(summary.notReady + summary.errApplied, 15);
  });
});

describe('computeBundleStatus', () => {
  it('produces a status valid against the API schema', () => {
    const status = statusOf(bundle([{ clusterSelector: {} }]), ['c1', 'c2'], [readyBD('c1')], T0);
    assert.ok(Value.Check(BundleStatus, status), JSON.stringify([...Value.Errors(BundleStatus, status)]));
    assert.equal(status.observedGeneration, 1);
    assert.deepEqual(status.display, { readyClusters: '1/2', state: 'Pending', status: 'Pending' });
    assert.equal(status.contentName, ID.split(':')[0]);
  });

  it('ready → not ready → ready: transition times move only with the status', () => {
    const b = bundle([{ clusterSelector: {} }]);
    const s0 = statusOf(b, ['c1', 'c2'], [readyBD('c1'), readyBD('c2')], T0);
    assert.deepEqual(
      [cond(s0, 'Ready')?.status, cond(s0, 'Ready')?.reason, cond(s0, 'Ready')?.message, cond(s0, 'Ready')?.lastTransitionTime],
      ['True', 'Ready', '2/2 clusters ready', T0],
    );
    assert.deepEqual([cond(s0, 'Targeted')?.status, cond(s0, 'Targeted')?.reason, cond(s0, 'Targeted')?.message], ['True', 'TargetsMatched', '2 Clusters targeted']);

    const s1 = statusOf(b, ['c1', 'c2'], [readyBD('c1'), failedBD('c2')], T1);
    const r1 = cond(s1, 'Ready');
    assert.deepEqual([r1?.status, r1?.reason, r1?.lastTransitionTime], ['False', 'ErrApplied', T1]);
    assert.equal(r1?.message, '1/2 clusters ready; 1 errApplied; not ready: c2');
    assert.equal(cond(s1, 'Targeted')?.lastTransitionTime, T0, 'Targeted did not change');
    assert.deepEqual(s1.display, { readyClusters: '1/2', state: 'ErrApplied', status: 'ErrApplied' });

    const s2 = statusOf(b, ['c1', 'c2'], [readyBD('c1'), readyBD('c2')], T2);
    assert.deepEqual([cond(s2, 'Ready')?.status, cond(s2, 'Ready')?.lastTransitionTime], ['True', T2]);
    assert.deepEqual(s2.summary?.nonReadyClusters, undefined);
  });

  it('recomputing an unchanged world is byte-identical (zero writes)', () => {
    const b = bundle([{ clusterSelector: {} }]);
    const bds = [readyBD('c1'), notReadyBD('c2'), failedBD('c3')];
    const first = statusOf(b, ['c1', 'c2', 'c3', 'c4'], bds, T0);
    const stored = JSON.parse(JSON.stringify(first)) as typeof first;
    const again = statusOf(b, ['c4', 'c3', 'c2', 'c1'], [...bds].reverse(), T2);
    assert.equal(JSON.stringify(again), JSON.stringify(first));
    assert.ok(statusEqual(again, stored));
  });

  it('keeps conditions written by others', () => {
    const b = bundle([{ clusterSelector: {} }]);
    b.status = { conditions: [{ type: 'Stalled', status: 'False', lastTransitionTime: T0, reason: 'Recovered', message: '' }] };
    const status = statusOf(b, ['c1'], [readyBD('c1')], T1);
    assert.deepEqual(status.conditions?.map((c) => c.type), ['Stalled', 'Ready', 'Targeted']);
  });

  it('no targets: Targeted False (NoTargets), Ready True with nothing to wait for', () => {
    const status = statusOf(bundle(undefined), [], [], T0);
    assert.deepEqual([cond(status, 'Targeted')?.status, cond(status, 'Targeted')?.reason], ['False', 'NoTargets']);
    assert.deepEqual([cond(status, 'Ready')?.status, cond(status, 'Ready')?.message], ['True', '0/0 clusters ready (no Cluster is targeted)']);
    assert.deepEqual(status.display, { readyClusters: '0/0', status: 'NoTargets' });
  });

  it('no matching cluster: Targeted False (NoMatchingClusters), mentioning exclusions', () => {
    const status = statusOf(bundle([{ clusterSelector: {}, doNotDeploy: true }]), [], [], T0, { excluded: 3 });
    const targeted = cond(status, 'Targeted');
    assert.deepEqual([targeted?.status, targeted?.reason], ['False', 'NoMatchingClusters']);
    assert.equal(targeted?.message, 'no Cluster in namespace "ws" matches spec.targets (3 excluded by doNotDeploy)');
  });

  it('target problems: Targeted False with the first problem\'s reason, listing all', () => {
    const problems: BundleProblem[] = [
      { reason: 'ClusterGroupNotFound', field: 'spec.targets[1].clusterGroup', message: 'spec.targets[1].clusterGroup: ClusterGroup "x" not found in namespace "ws"' },
      { reason: 'InvalidTarget', field: 'spec.targets[2]', message: 'spec.targets[2]: bad' },
    ];
    const status = statusOf(bundle([{ clusterSelector: {} }]), ['c1'], [readyBD('c1')], T0, { problems });
    const targeted = cond(status, 'Targeted');
    assert.deepEqual([targeted?.status, targeted?.reason], ['False', 'ClusterGroupNotFound']);
    assert.equal(targeted?.message, '1 Cluster targeted; spec.targets[1].clusterGroup: ClusterGroup "x" not found in namespace "ws"; spec.targets[2]: bad');
    assert.equal(cond(status, 'Ready')?.status, 'True', 'the targeted cluster is ready');
  });

  it('content problems: Ready False with the problem\'s reason', () => {
    const problems: BundleProblem[] = [{ reason: 'BundleTooLarge', field: 'spec.resources', message: 'spec.resources: too large' }];
    const status = statusOf(bundle([{ clusterSelector: {} }]), ['c1'], [readyBD('c1')], T0, { problems });
    const ready = cond(status, 'Ready');
    assert.deepEqual([ready?.status, ready?.reason], ['False', 'BundleTooLarge']);
    assert.equal(ready?.message, 'the resources cannot be deployed: spec.resources: too large; 1/1 clusters ready');
    assert.equal(cond(status, 'Targeted')?.status, 'True');
  });

  it('paused: says so, and counts stale deployments as OutOfSync', () => {
    const b = bundle([{ clusterSelector: {} }], { paused: true });
    const stale = bd('c1', OLD, { appliedDeploymentID: OLD, ready: true });
    const status = statusOf(b, ['c1'], [stale], T0);
    const ready = cond(status, 'Ready');
    assert.deepEqual([ready?.status, ready?.reason], ['False', 'OutOfSync']);
    assert.match(ready?.message ?? '', /^paused \(BundleDeployments are kept but not updated\); 0\/1 clusters ready; 1 outOfSync; not ready: c1$/);
  });

  it('names at most 5 clusters in the message', () => {
    const clusters = Array.from({ length: 12 }, (_, i) => `c${String(i).padStart(2, '0')}`);
    const status = statusOf(bundle([{ clusterSelector: {} }]), clusters, [], T0);
    assert.equal(cond(status, 'Ready')?.message, '0/12 clusters ready; 12 pending; not ready: c00, c01, c02, c03, c04 and 7 more');
    assert.equal(status.summary?.nonReadyClusters?.length, 10);
  });

  it('sets observedGeneration on the status and conditions', () => {
    const b = bundle([{ clusterSelector: {} }]);
    b.metadata.generation = 7;
    const status = statusOf(b, [], [], T0);
    assert.equal(status.observedGeneration, 7);
    assert.ok(status.conditions?.every((c) => c.observedGeneration === 7));
  });
});

describe('statusEqual', () => {
  it('is insensitive to key order and undefined members, sensitive to values', () => {
    const a = { observedGeneration: 1, summary: { ready: 1, desiredReady: 2 }, display: { readyClusters: '1/2' } };
    const b = { display: { readyClusters: '1/2' }, summary: { desiredReady: 2, ready: 1 }, observedGeneration: 1, contentName: undefined };
    assert.ok(statusEqual(a, b));
    assert.ok(!statusEqual(a, { ...b, observedGeneration: 2 }));
    assert.ok(!statusEqual(a, { ...b, summary: { desiredReady: 2, ready: 1, nonReadyClusters: [] } }));
    assert.ok(statusEqual(undefined, null));
    assert.ok(!statusEqual(undefined, {}));
  });
});

describe('problemStatement', () => {
  const content: BundleProblem[] = [{ reason: 'InvalidResources', field: 'spec.resources[0].content', message: 'spec.resources[0].content: resource "x.yaml", line 1: bad; 2 documents' }];
  const targets: BundleProblem[] = [{ reason: 'ClusterGroupNotFound', field: 'spec.targets[0].clusterGroup', message: 'spec.targets[0].clusterGroup: ClusterGroup "g" not found; 3 clusters' }];
  const statement = (status: NonNullable<Bundle['status']>, type: string) => problemStatement(cond(status, type)!);

  it('is the problems alone, the same whatever the counts around them', () => {
    const readyIn3 = statusOf(bundle([{ clusterSelector: {} }]), ['c1', 'c2', 'c3'], [], T0, { problems: content });
    const readyIn4 = statusOf(bundle([{ clusterSelector: {} }]), ['c1', 'c2', 'c3', 'c4'], [readyBD('c1')], T0, { problems: content });
    const pausedIn1 = statusOf(bundle([{ clusterSelector: {} }], { paused: true }), ['c1'], [], T0, { problems: content });
    assert.notEqual(cond(readyIn3, 'Ready')?.message, cond(readyIn4, 'Ready')?.message, 'the messages differ in their counts');
    for (const status of [readyIn3, readyIn4, pausedIn1]) assert.equal(statement(status, 'Ready'), content[0]!.message);

    const targeted1 = statusOf(bundle([{ clusterGroup: 'g' }]), ['c1'], [], T0, { problems: targets });
    const targeted0 = statusOf(bundle([{ clusterGroup: 'g' }]), [], [], T0, { problems: targets, excluded: 2 });
    assert.notEqual(cond(targeted1, 'Targeted')?.message, cond(targeted0, 'Targeted')?.message);
    for (const status of [targeted1, targeted0]) assert.equal(statement(status, 'Targeted'), targets[0]!.message);
  });

  it('differs when the problems do', () => {
    const other: BundleProblem[] = [{ ...content[0]!, message: 'spec.resources[0].content: resource "x.yaml", line 2: bad' }];
    const a = statusOf(bundle([{ clusterSelector: {} }]), ['c1'], [], T0, { problems: content });
    const b = statusOf(bundle([{ clusterSelector: {} }]), ['c1'], [], T0, { problems: other });
    assert.notEqual(statement(a, 'Ready'), statement(b, 'Ready'));
  });

  it('returns a message of another shape whole', () => {
    assert.equal(problemStatement({ type: 'Ready', message: '3/3 clusters ready' }), '3/3 clusters ready');
    assert.equal(problemStatement({ type: 'Stalled', message: 'x; 1/2 clusters ready' }), 'x; 1/2 clusters ready');
    assert.equal(problemStatement({ type: 'Ready' }), '');
  });
});

describe('the summary tells the truth about what agents report', () => {
  const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'app' };

  it('a BundleDeployment whose appliedDeploymentID is not its spec.deploymentID is not counted ready, even when ready', () => {
    const { summary } = summarizeBundleDeployments(bundle([]), ['c1', 'c2'], [readyBD('c1'), bd('c2', ID, { appliedDeploymentID: OLD, ready: true, nonModified: true })], ID);
    assert.equal(summary.ready, 1);
    assert.equal(summary.waitApplied, 1);
    assert.deepEqual(summary.nonReadyClusters, ['c2']);
  });

  it("nonReadyResources and modifiedResources of the non-ready clusters reach the Bundle's summary", () => {
    const b = bundle([{ clusterSelector: {} }]);
    const bds = [
      readyBD('c1'),
      bd('c2', ID, { appliedDeploymentID: ID, ready: false, nonModified: true, nonReadyResources: [{ ...deployment, message: '0/1 replicas available' }] }),
      bd('c3', ID, { appliedDeploymentID: ID, ready: true, nonModified: false, modifiedResources: [{ ...deployment, message: 'spec.replicas changed' }] }),
      notReadyBD('c4'),
    ];
    const status = statusOf(b, ['c1', 'c2', 'c3', 'c4'], bds, T0);
    assert.deepEqual(status.summary?.nonReadyClusters, ['c3', 'c2', 'c4']);
    assert.deepEqual(status.summary?.nonReadyResources, [
      { cluster: 'c3', state: 'Modified', modified: [{ ...deployment, message: 'spec.replicas changed' }] },
      { cluster: 'c2', state: 'NotReady', nonReady: [{ ...deployment, message: '0/1 replicas available' }] },
    ], 'c4 reports no resources: not listed');
    assert.ok(Value.Check(BundleStatus, status), 'the schema accepts it');
    assert.ok(statusEqual(statusOf(b, ['c1', 'c2', 'c3', 'c4'], bds, T1), status), 'recomputed alike: no needless write');

    const allReady = statusOf(b, ['c1'], [readyBD('c1')], T2);
    assert.equal(allReady.summary?.nonReadyResources, undefined, 'nothing to list when all are ready');
  });
});
