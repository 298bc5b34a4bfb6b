import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resourceReadiness, type ResourceState } from '../../../src/agent/apply/readiness.ts';
import type { KubeObject } from '../../../src/runtime/kube/resource.ts';

function obj(apiVersion: string, kind: string, rest: Partial<KubeObject> & { generation?: number } = {}): KubeObject {
  const { generation, metadata, ...fields } = rest;
  return { apiVersion, kind, metadata: { name: 'x', namespace: 'ns', ...(generation !== undefined ? { generation } : {}), ...metadata }, ...fields };
}

function state(o: KubeObject | undefined): ResourceState {
  return resourceReadiness(o).state;
}

test('no object is NotFound; a deletionTimestamp is Terminating; no status at all is Current', () => {
  assert.equal(state(undefined), 'NotFound');
  assert.equal(state(obj('v1', 'ConfigMap', { metadata: { name: 'x', deletionTimestamp: '2026-01-01T00:00:00Z' } })), 'Terminating');
  assert.equal(state(obj('v1', 'ConfigMap', { data: { a: 'b' } })), 'Current');
  assert.equal(state(obj('rbac.authorization.k8s.io/v1', 'Role', { rules: [] })), 'Current');
});

test('Deployment: not yet observed, updating, not available, available, deadline exceeded', () => {
  const spec = { replicas: 2 };
  assert.equal(state(obj('apps/v1', 'Deployment', { generation: 1, spec })), 'InProgress');
  assert.equal(state(obj('apps/v1', 'Deployment', { generation: 2, spec, status: { observedGeneration: 1, replicas: 2, updatedReplicas: 2, availableReplicas: 2, readyReplicas: 2 } })), 'InProgress');
  const updating = resourceReadiness(obj('apps/v1', 'Deployment', { generation: 2, spec, status: { observedGeneration: 2, replicas: 3, updatedReplicas: 1, availableReplicas: 2, readyReplicas: 2 } }));
  assert.equal(updating.state, 'InProgress');
  assert.match(updating.message, /Updated: 1\/2/);
  assert.equal(state(obj('apps/v1', 'Deployment', { generation: 2, spec, status: { observedGeneration: 2, replicas: 3, updatedReplicas: 2, availableReplicas: 2, readyReplicas: 2 } })), 'InProgress');
  assert.equal(state(obj('apps/v1', 'Deployment', { generation: 2, spec, status: { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 1, readyReplicas: 2 } })), 'InProgress');
  assert.equal(state(obj('apps/v1', 'Deployment', { generation: 2, spec, status: { observedGeneration: 2, replicas: 2, updatedReplicas: 2, availableReplicas: 2, readyReplicas: 2, conditions: [{ type: 'Available', status: 'True' }] } })), 'Current');
  assert.equal(
    state(obj('apps/v1', 'Deployment', { generation: 2, spec, status: { observedGeneration: 2, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] } })),
    'Failed',
  );
  // replicas defaults to 1
  assert.equal(state(obj('apps/v1', 'Deployment', { generation: 1, spec: {}, status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1, readyReplicas: 1 } })), 'Current');
});

test('StatefulSet: ready replicas, revisions, partitioned rollout, OnDelete', () => {
  const spec = { replicas: 3 };
  const base = { observedGeneration: 1, replicas: 3, readyReplicas: 3, currentReplicas: 3, updatedReplicas: 3, currentRevision: 'r1', updateRevision: 'r1' };
  assert.equal(state(obj('apps/v1', 'StatefulSet', { generation: 1, spec, status: base })), 'Current');
  assert.equal(state(obj('apps/v1', 'StatefulSet', { generation: 1, spec, status: { ...base, readyReplicas: 2 } })), 'InProgress');
  assert.equal(state(obj('apps/v1', 'StatefulSet', { generation: 1, spec, status: { ...base, updateRevision: 'r2' } })), 'InProgress');
  const partitioned = { replicas: 3, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } };
  assert.equal(state(obj('apps/v1', 'StatefulSet', { generation: 1, spec: partitioned, status: { ...base, updatedReplicas: 1, updateRevision: 'r2' } })), 'Current');
  assert.equal(state(obj('apps/v1', 'StatefulSet', { generation: 1, spec: partitioned, status: { ...base, updatedReplicas: 0, updateRevision: 'r2' } })), 'InProgress');
  assert.equal(state(obj('apps/v1', 'StatefulSet', { generation: 1, spec: { replicas: 3, updateStrategy: { type: 'OnDelete' } }, status: { ...base, readyReplicas: 0 } })), 'Current');
});

test('DaemonSet: every scheduled pod updated, available and ready', () => {
  const full = { observedGeneration: 1, desiredNumberScheduled: 2, currentNumberScheduled: 2, updatedNumberScheduled: 2, numberAvailable: 2, numberReady: 2 };
  assert.equal(state(obj('apps/v1', 'DaemonSet', { generation: 1, status: full })), 'Current');
  assert.equal(state(obj('apps/v1', 'DaemonSet', { generation: 1, status: { ...full, updatedNumberScheduled: 1 } })), 'InProgress');
  assert.equal(state(obj('apps/v1', 'DaemonSet', { generation: 1, status: { ...full, numberAvailable: 0 } })), 'InProgress');
  assert.equal(state(obj('apps/v1', 'DaemonSet', { generation: 1 })), 'InProgress');
});

test('Job: complete is Current, failed is Failed, running is InProgress', () => {
  assert.equal(state(obj('batch/v1', 'Job', { status: { succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] } })), 'Current');
  const failedJob = resourceReadiness(obj('batch/v1', 'Job', { status: { failed: 6, conditions: [{ type: 'Failed', status: 'True', message: 'Job has reached the specified backoff limit' }] } }));
  assert.deepEqual(failedJob, { state: 'Failed', message: 'Job has reached the specified backoff limit' });
  assert.equal(state(obj('batch/v1', 'Job', { status: { startTime: '2026-01-01T00:00:00Z', active: 1 } })), 'InProgress');
  assert.equal(state(obj('batch/v1', 'Job', {})), 'InProgress');
});

test('PersistentVolumeClaim: Bound is Current, Pending is InProgress', () => {
  assert.equal(state(obj('v1', 'PersistentVolumeClaim', { status: { phase: 'Bound' } })), 'Current');
  assert.equal(state(obj('v1', 'PersistentVolumeClaim', { status: { phase: 'Pending' } })), 'InProgress');
});

test('Service: LoadBalancer waits for an ingress address, other types do not', () => {
  assert.equal(state(obj('v1', 'Service', { spec: { type: 'LoadBalancer' }, status: { loadBalancer: {} } })), 'InProgress');
  assert.equal(state(obj('v1', 'Service', { spec: { type: 'LoadBalancer' }, status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } } })), 'Current');
  assert.equal(state(obj('v1', 'Service', { spec: { type: 'ClusterIP' }, status: { loadBalancer: {} } })), 'Current');
});

test('CustomResourceDefinition: Established, not yet, names refused', () => {
  const crd = (conditions: unknown[]) => obj('apiextensions.k8s.io/v1', 'CustomResourceDefinition', { status: { conditions } });
  assert.equal(state(crd([{ type: 'NamesAccepted', status: 'True' }, { type: 'Established', status: 'True' }])), 'Current');
  assert.equal(state(crd([{ type: 'NamesAccepted', status: 'True' }, { type: 'Established', status: 'False' }])), 'InProgress');
  assert.equal(state(crd([])), 'InProgress');
  assert.equal(state(crd([{ type: 'NamesAccepted', status: 'False', message: 'plural name taken' }])), 'Failed');
});

test('custom resources: Reconciling, Stalled, Ready and stale observedGeneration', () => {
  const cr = (status: unknown, generation = 1) => obj('example.com/v1', 'Widget', { generation, status });
  assert.equal(state(cr({ observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True' }] })), 'Current');
  assert.equal(state(cr({ observedGeneration: 1, conditions: [{ type: 'Ready', status: 'False' }] })), 'InProgress');
  assert.equal(state(cr({ conditions: [{ type: 'Reconciling', status: 'True', message: 'working' }] })), 'InProgress');
  assert.deepEqual(resourceReadiness(cr({ conditions: [{ type: 'Stalled', status: 'True', message: 'bad spec' }] })), { state: 'Failed', message: 'bad spec' });
  assert.equal(state(cr({ observedGeneration: 1, conditions: [{ type: 'Ready', status: 'True' }] }, 2)), 'InProgress');
  assert.equal(state(cr({})), 'Current');
});

test('Pod: succeeded, failed, running and ready', () => {
  assert.equal(state(obj('v1', 'Pod', { status: { phase: 'Succeeded' } })), 'Current');
  assert.equal(state(obj('v1', 'Pod', { status: { phase: 'Failed' } })), 'Failed');
  assert.equal(state(obj('v1', 'Pod', { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] } })), 'InProgress');
  assert.equal(state(obj('v1', 'Pod', { status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } })), 'Current');
});
