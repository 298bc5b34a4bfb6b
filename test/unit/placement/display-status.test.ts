import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Condition } from '../../../src/api/condition.ts';
import { DeploymentState } from '../../../src/api/constants.ts';
import { displayStatus } from '../../../src/placement/display-status.ts';
import { summarizeClusterGroupMembers } from '../../../src/placement/cluster-group-summary.ts';

const T = '2026-01-01T00:00:00Z';
const cond = (type: string, status: 'True' | 'False' | 'Unknown', reason: string): Condition => ({ type, status, reason, message: '', lastTransitionTime: T });

describe('displayStatus: what STATUS shows, in priority order', () => {
  it('a stalled (dead-lettered) object shows its Stalled reason above everything', () => {
    const conditions = [cond('Ready', 'False', 'InvalidResources'), cond('Stalled', 'True', 'TerminalError')];
    assert.equal(displayStatus({ conditions, worst: DeploymentState.ErrApplied, paused: true }), 'TerminalError');
  });

  it('an invalid Bundle shows the invalid-input reason, not the Pending its clusters read', () => {
    assert.equal(displayStatus({ conditions: [cond('Ready', 'False', 'InvalidResources'), cond('Targeted', 'True', 'TargetsMatched')], worst: DeploymentState.Pending }), 'InvalidResources');
    assert.equal(displayStatus({ conditions: [cond('Ready', 'False', 'Pending'), cond('Targeted', 'False', 'ClusterGroupNotFound')], worst: DeploymentState.Pending }), 'ClusterGroupNotFound');
    // Ready's problem is looked at before Targeted's.
    assert.equal(displayStatus({ conditions: [cond('Targeted', 'False', 'InvalidTarget'), cond('Ready', 'False', 'BundleTooLarge')] }), 'BundleTooLarge');
  });

  it('a Ready condition False with a deployment state as reason is not a problem of its own', () => {
    assert.equal(displayStatus({ conditions: [cond('Ready', 'False', 'NotReady')], worst: DeploymentState.NotReady }), 'NotReady');
  });

  it('nothing targeted or no members: the reason says so', () => {
    assert.equal(displayStatus({ conditions: [cond('Ready', 'True', 'Ready'), cond('Targeted', 'False', 'NoMatchingClusters')] }), 'NoMatchingClusters');
    assert.equal(displayStatus({ conditions: [cond('Ready', 'False', 'NoClusters')] }), 'NoClusters');
    assert.equal(displayStatus({ conditions: [cond('Ready', 'False', 'InvalidSelector')] }), 'InvalidSelector');
  });

  it('ErrApplied and Modified outrank Paused; Paused outranks a held rollout and the states it causes', () => {
    assert.equal(displayStatus({ conditions: [], worst: DeploymentState.ErrApplied, paused: true }), 'ErrApplied');
    assert.equal(displayStatus({ conditions: [], worst: DeploymentState.Modified, paused: true }), 'Modified');
    assert.equal(displayStatus({ conditions: [cond('Rollout', 'False', 'MaxUnavailable')], worst: DeploymentState.OutOfSync, paused: true }), 'Paused');
    assert.equal(displayStatus({ conditions: [cond('Ready', 'True', 'Ready')], worst: DeploymentState.Ready, paused: true }), 'Paused');
    assert.equal(displayStatus({ conditions: [cond('Rollout', 'False', 'MaxUnavailable')], worst: DeploymentState.OutOfSync }), 'MaxUnavailable');
    assert.equal(displayStatus({ conditions: [cond('Rollout', 'True', 'RolledOut')], worst: DeploymentState.WaitApplied }), 'WaitApplied');
  });

  it('otherwise the worst state; with no state, Ready only when the Ready condition is True', () => {
    for (const state of [DeploymentState.OutOfSync, DeploymentState.WaitApplied, DeploymentState.Pending, DeploymentState.NotReady, DeploymentState.Ready]) {
      assert.equal(displayStatus({ conditions: [cond('Ready', 'True', 'Ready')], worst: state }), state);
    }
    assert.equal(displayStatus({ conditions: [cond('Ready', 'True', 'NamespaceReady')] }), 'Ready');
    assert.equal(displayStatus({ conditions: [cond('Ready', 'Unknown', 'Whatever')] }), undefined);
    assert.equal(displayStatus({}), undefined);
  });

  it('a Cluster whose deployment namespace is going shows NamespaceTerminating', () => {
    assert.equal(displayStatus({ conditions: [cond('Ready', 'False', 'NamespaceTerminating')], worst: DeploymentState.Ready }), 'NamespaceTerminating');
  });
});

describe('summarizeClusterGroupMembers', () => {
  it('counts members whose BundleDeployments are all ready, and the worst member state', () => {
    const display = summarizeClusterGroupMembers([
      { status: { summary: { ready: 2, desiredReady: 2 }, display: { state: DeploymentState.Ready } } },
      { status: { summary: { ready: 1, desiredReady: 2 }, display: { state: DeploymentState.NotReady } } },
      { status: { summary: { ready: 0, desiredReady: 1 }, display: { state: DeploymentState.ErrApplied } } },
      {},
    ]);
    assert.deepEqual(display, { readyClusters: '2/4', state: DeploymentState.ErrApplied });
  });

  it('no members: 0/0 and no state; members without BundleDeployments are ready and stateless', () => {
    assert.deepEqual(summarizeClusterGroupMembers([]), { readyClusters: '0/0' });
    assert.deepEqual(summarizeClusterGroupMembers([{ status: { summary: { ready: 0, desiredReady: 0 } } }]), { readyClusters: '1/1' });
  });
});
