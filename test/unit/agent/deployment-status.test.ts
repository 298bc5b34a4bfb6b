import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deploymentStatus, withDisplay, type DeploymentFacts, type ResourceObservation } from '../../../src/agent/deployment-status.ts';

const cm = (name: string): ResourceObservation => ({
  ref: { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'app', name },
  state: 'Current',
  message: 'applied',
  drifted: [],
  missing: false,
});

function facts(over: Partial<DeploymentFacts>): DeploymentFacts {
  return {
    generation: 3,
    appliedDeploymentID: 's-abc:1234',
    problems: [],
    observations: [cm('a'), cm('b')],
    monitored: true,
    paused: false,
    previous: undefined,
    now: new Date('2026-12-05T10:00:00Z'),
    ...over,
  };
}

const condition = (status: ReturnType<typeof deploymentStatus>, type: string) => status.conditions?.find((c) => c.type === type);

describe('deploymentStatus', () => {
  it('reports applied, ready, monitored and not modified when every resource is current', () => {
    const status = deploymentStatus(facts({}));
    assert.equal(status.appliedDeploymentID, 's-abc:1234');
    assert.equal(status.ready, true);
    assert.equal(status.nonModified, true);
    assert.deepEqual(status.nonReadyResources, []);
    for (const type of ['Applied', 'Ready', 'Monitored']) {
      assert.equal(condition(status, type)?.status, 'True', type);
      assert.equal(condition(status, type)?.observedGeneration, 3);
    }
  });

  it('lists a resource that is not current with its state and message', () => {
    const deployment: ResourceObservation = {
      ref: { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'app', name: 'web' },
      state: 'InProgress',
      message: '0 of 1 replicas available',
      drifted: [],
      missing: false,
    };
    const status = deploymentStatus(facts({ observations: [cm('a'), deployment] }));
    assert.equal(status.ready, false);
    assert.deepEqual(status.nonReadyResources, [{ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'app', name: 'web', message: 'InProgress: 0 of 1 replicas available' }]);
    assert.equal(condition(status, 'Ready')?.status, 'False');
    assert.match(condition(status, 'Ready')?.message ?? '', /Deployment app\/web: InProgress: 0 of 1 replicas available/);
    assert.equal(condition(status, 'Applied')?.status, 'True');
  });

  it('reports rejected resources by name with the API message, while the rest counts as applied', () => {
    const status = deploymentStatus(
      facts({
        problems: [
          { manifest: 'widget.yaml', ref: { apiVersion: 'example.com/v1', kind: 'Widget', namespace: 'app', name: 'w' }, message: 'no kind Widget in example.com/v1' },
        ],
      }),
    );
    assert.equal(status.ready, false);
    assert.equal(condition(status, 'Applied')?.status, 'False');
    assert.equal(condition(status, 'Applied')?.reason, 'ApplyFailed');
    assert.match(condition(status, 'Applied')?.message ?? '', /1 of 3 resources failed: Widget app\/w: no kind Widget/);
    assert.equal(status.nonReadyResources?.[0]?.name, 'w');
    assert.match(status.nonReadyResources?.[0]?.message ?? '', /^widget\.yaml: no kind Widget/);
    assert.equal(withDisplay(status, 's-abc:1234').display?.state, 'ErrApplied');
  });

  it('names an unparseable manifest when there is no object to name', () => {
    const status = deploymentStatus(facts({ problems: [{ manifest: 'Broken File.yaml', message: 'invalid YAML' }] }));
    assert.equal(status.nonReadyResources?.[0]?.kind, 'Manifest');
    assert.equal(status.nonReadyResources?.[0]?.name, 'broken-file.yaml');
  });

  it('reports drift and deletion as modified; a deleted resource is also not ready', () => {
    const changed = { ...cm('a'), drifted: ['data.key'] };
    const gone = { ...cm('b'), missing: true, state: 'NotFound' as const };
    const status = deploymentStatus(facts({ observations: [changed, gone] }));
    assert.equal(status.nonModified, false);
    assert.deepEqual(
      status.modifiedResources?.map((r) => r.message),
      ['changed: data.key', 'missing: deleted from the cluster'],
    );
    assert.equal(status.ready, false);
    assert.equal(withDisplay(status, 's-abc:1234').display?.state, 'Modified');
  });

  it('is identical when recomputed for an unchanged world, later (no write)', () => {
    const first = deploymentStatus(facts({}));
    const again = deploymentStatus(facts({ previous: first, now: new Date('2026-12-05T11:00:00Z') }));
    assert.deepEqual(again, first);
  });

  it('keeps lastTransitionTime while a condition keeps its status, and moves it on a transition', () => {
    const first = deploymentStatus(facts({}));
    const notReady = deploymentStatus(
      facts({ previous: first, observations: [{ ...cm('a'), state: 'InProgress' }], now: new Date('2026-12-05T11:00:00Z') }),
    );
    assert.equal(condition(notReady, 'Applied')?.lastTransitionTime, '2026-12-05T10:00:00Z');
    assert.equal(condition(notReady, 'Ready')?.lastTransitionTime, '2026-12-05T11:00:00Z');
  });

  it('says Pending before anything is applied and never claims ready', () => {
    const status = deploymentStatus(facts({ appliedDeploymentID: undefined, observations: [] }));
    assert.equal(status.appliedDeploymentID, undefined);
    assert.equal(status.ready, false);
    assert.equal(condition(status, 'Applied')?.reason, 'Pending');
  });

  it('marks Monitored False until the watches have listed the applied kinds', () => {
    const status = deploymentStatus(facts({ monitored: false }));
    assert.equal(condition(status, 'Monitored')?.status, 'False');
    assert.equal(condition(status, 'Monitored')?.reason, 'WaitingForCache');
  });

  it('caps the resource lists at the API limit', () => {
    const many = Array.from({ length: 25 }, (_, i) => ({ ...cm(`c${String(i).padStart(2, '0')}`), state: 'InProgress' as const }));
    const status = deploymentStatus(facts({ observations: many }));
    assert.equal(status.nonReadyResources?.length, 10);
    assert.match(condition(status, 'Ready')?.message ?? '', /and 22 more$/);
  });
});
