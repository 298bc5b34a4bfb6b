import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Value } from 'typebox/value';
import { ClusterStatus } from '../../../src/api/cluster.ts';
import type { BundleDeployment } from '../../../src/api/bundle-deployment.ts';
import { Label } from '../../../src/api/constants.ts';
import { clusterStatusWithSummary, summarizeClusterDeployments } from '../../../src/placement/cluster-summary.ts';
import { statusEqual } from '../../../src/placement/summary.ts';
import { bd } from './fixtures.ts';

const ID = `s-${'a'.repeat(64)}:${'1'.repeat(64)}`;
const OLD = `s-${'b'.repeat(64)}:${'1'.repeat(64)}`;

const bundles: BundleDeployment[] = [
  bd('c1', ID, { appliedDeploymentID: ID, ready: true }, 'ready-app'),
  bd('c1', ID, { appliedDeploymentID: ID, ready: false }, 'slow-app'),
  bd('c1', ID, undefined, 'new-app'),
  bd('c1', OLD, { appliedDeploymentID: OLD, ready: true }, 'paused-app'),
];

describe('summarizeClusterDeployments', () => {
  it('counts the BundleDeployments of a cluster by state', () => {
    const result = summarizeClusterDeployments(bundles);
    assert.deepEqual(result.summary, { desiredReady: 4, ready: 2, notReady: 1, pending: 1, modified: 0, errApplied: 0, waitApplied: 0, outOfSync: 0 });
    assert.deepEqual(result.display, { readyBundles: '2/4', state: 'Pending' });
  });

  it('reports OutOfSync when told each Bundle\'s current deployment ID', () => {
    const result = summarizeClusterDeployments(bundles, { desiredDeploymentIDFor: (b) => (b.metadata.labels?.[Label.BundleName] === 'paused-app' ? ID : b.spec.deploymentID) });
    assert.equal(result.summary.outOfSync, 1);
    assert.equal(result.summary.ready, 1);
    assert.equal(result.display.state, 'OutOfSync');
  });

  it('leaves out BundleDeployments being deleted', () => {
    const going = bd('c1', ID, { appliedDeploymentID: ID, ready: false }, 'old-app');
    going.metadata.deletionTimestamp = '2025-01-01T00:00:00Z';
    assert.equal(summarizeClusterDeployments([going]).summary.desiredReady, 0);
  });

  it('an empty cluster is 0/0 with no state', () => {
    assert.deepEqual(summarizeClusterDeployments([]).display, { readyBundles: '0/0' });
  });

  it('does not depend on input order', () => {
    assert.deepEqual(summarizeClusterDeployments([...bundles].reverse()), summarizeClusterDeployments(bundles));
  });
});

describe('clusterStatusWithSummary', () => {
  it('merges counts into the previous status, keeping conditions; a recomputation is equal', () => {
    const previous: ClusterStatus = {
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2025-01-01T00:00:00Z', reason: 'NamespaceReady', message: '' }],
    };
    const first = clusterStatusWithSummary(previous, summarizeClusterDeployments(bundles), 'flotilla-ws-c1-12345678', 3);
    assert.ok(Value.Check(ClusterStatus, first), JSON.stringify([...Value.Errors(ClusterStatus, first)]));
    assert.deepEqual(first.conditions, previous.conditions);
    assert.equal(first.namespace, 'flotilla-ws-c1-12345678');
    assert.equal(first.observedGeneration, 3);
    assert.deepEqual(first.display, { readyBundles: '2/4', state: 'Pending' });
    const again = clusterStatusWithSummary(JSON.parse(JSON.stringify(first)), summarizeClusterDeployments([...bundles].reverse()), 'flotilla-ws-c1-12345678', 3);
    assert.equal(JSON.stringify(again), JSON.stringify(first));
    assert.ok(statusEqual(again, first));
    const changed = clusterStatusWithSummary(first, summarizeClusterDeployments(bundles.slice(0, 1)), 'flotilla-ws-c1-12345678', 3);
    assert.ok(!statusEqual(changed, first));
  });
});
