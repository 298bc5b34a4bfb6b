import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BundleDeployment } from '../../../src/api/bundle-deployment.ts';
import { DeploymentState } from '../../../src/api/constants.ts';
import {
  bundleDeploymentState,
  countState,
  DEPLOYMENT_STATES_BEST_TO_WORST,
  describeNonReadyCounts,
  emptyDeploymentCounts,
  worseState,
} from '../../../src/placement/deployment-state.ts';
import { bd } from './fixtures.ts';

const ID = `s-${'a'.repeat(64)}:${'1'.repeat(64)}`;
const OLD = `s-${'b'.repeat(64)}:${'1'.repeat(64)}`;
const applyFailed = { type: 'Applied', status: 'False' as const, lastTransitionTime: '2025-01-01T00:00:00Z', reason: 'ApplyFailed', message: 'boom' };
const applied = { ...applyFailed, status: 'True' as const, reason: 'Applied', message: '' };

describe('bundleDeploymentState', () => {
  const cases: [string, BundleDeployment | undefined, DeploymentState, string?][] = [
    ['no BundleDeployment yet', undefined, 'Pending'],
    ['created, never picked up', bd('c', ID, undefined), 'Pending'],
    ['status without appliedDeploymentID', bd('c', ID, { ready: false }), 'Pending'],
    ['applied and ready', bd('c', ID, { appliedDeploymentID: ID, ready: true, nonModified: true, conditions: [applied] }), 'Ready'],
    ['applied, nonModified not reported: not Modified', bd('c', ID, { appliedDeploymentID: ID, ready: true }), 'Ready'],
    ['applied, not ready', bd('c', ID, { appliedDeploymentID: ID, ready: false }), 'NotReady'],
    ['applied, ready unset', bd('c', ID, { appliedDeploymentID: ID }), 'NotReady'],
    ['older ID applied: waiting for the agent', bd('c', ID, { appliedDeploymentID: OLD, ready: true }), 'WaitApplied'],
    ['drifted', bd('c', ID, { appliedDeploymentID: ID, ready: true, nonModified: false }), 'Modified'],
    ['drifted and not ready: drift is worse', bd('c', ID, { appliedDeploymentID: ID, ready: false, nonModified: false }), 'Modified'],
    ['apply failed', bd('c', ID, { appliedDeploymentID: OLD, conditions: [applyFailed] }), 'ErrApplied'],
    ['apply failed while drifted: the failure wins', bd('c', ID, { appliedDeploymentID: ID, nonModified: false, conditions: [applyFailed] }), 'ErrApplied'],
    ['spec behind the Bundle\'s ID', bd('c', OLD, { appliedDeploymentID: OLD, ready: true }), 'OutOfSync', ID],
    ['spec behind, but no desired ID known', bd('c', OLD, { appliedDeploymentID: OLD, ready: true }), 'Ready'],
  ];
  for (const [name, input, want, desired] of cases) {
    it(name, () => assert.equal(bundleDeploymentState(input, desired), want));
  }

  it('a BundleDeployment being deleted is Pending', () => {
    const deleting = bd('c', ID, { appliedDeploymentID: ID, ready: true });
    deleting.metadata.deletionTimestamp = '2025-01-01T00:00:00Z';
    assert.equal(bundleDeploymentState(deleting, ID), 'Pending');
  });
});

describe('state helpers', () => {
  it('orders states as the API constants do, best to worst', () => {
    assert.deepEqual([...DEPLOYMENT_STATES_BEST_TO_WORST], Object.values(DeploymentState));
    assert.equal(worseState('Ready', 'ErrApplied'), 'ErrApplied');
    assert.equal(worseState('Modified', 'Pending'), 'Modified');
  });

  it('counts and describes', () => {
    const counts = emptyDeploymentCounts();
    for (const s of ['Ready', 'Pending', 'Pending', 'ErrApplied'] as const) countState(counts, s);
    assert.deepEqual(counts, { desiredReady: 0, ready: 1, notReady: 0, pending: 2, modified: 0, errApplied: 1, waitApplied: 0, outOfSync: 0 });
    assert.equal(describeNonReadyCounts(counts), '1 errApplied, 2 pending');
    assert.equal(describeNonReadyCounts(emptyDeploymentCounts()), '');
  });
});
