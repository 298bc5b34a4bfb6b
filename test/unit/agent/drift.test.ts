import assert from 'node:assert/strict';
import { test } from 'node:test';
import { driftedFields, quantityValue } from '../../../src/agent/apply/drift.ts';
import type { KubeObject } from '../../../src/runtime/kube/resource.ts';

const meta = { name: 'x', namespace: 'ns' };

test('an identical object and one with server defaults and status added are not drifted', () => {
  const desired: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { ...meta, labels: { app: 'x' } }, spec: { replicas: 2 } };
  assert.deepEqual(driftedFields(desired, structuredClone(desired)), []);
  const live: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { ...meta, uid: 'u', resourceVersion: '5', generation: 3, labels: { app: 'x', extra: 'y' }, annotations: { 'deployment.kubernetes.io/revision': '1' } },
    spec: { replicas: 2, revisionHistoryLimit: 10, strategy: { type: 'RollingUpdate' } },
    status: { replicas: 2 },
  };
  assert.deepEqual(driftedFields(desired, live), []);
});

test('changed scalars in nested maps are reported by path', () => {
  const desired: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { ...meta, labels: { 'app.kubernetes.io/name': 'x' } }, data: { key: 'a', other: 'b' } };
  const live: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { ...meta, labels: { 'app.kubernetes.io/name': 'y' } }, data: { key: 'changed', other: 'b' } };
  assert.deepEqual(driftedFields(desired, live), ['metadata.labels["app.kubernetes.io/name"]', 'data.key']);
  assert.deepEqual(driftedFields({ ...desired, spec: { a: { b: { c: 1 } } } }, { ...desired, spec: { a: { b: { c: 2 } } } }), ['spec.a.b.c']);
});

test('a removed field and a replicas change are drift; metadata other than labels and annotations is not compared', () => {
  const desired: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { ...meta, finalizers: ['x'] }, spec: { replicas: 3, paused: true } };
  const live: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { ...meta }, spec: { replicas: 1 } };
  assert.deepEqual(driftedFields(desired, live), ['spec.replicas', 'spec.paused']);
});

test('lists of named objects match by name: order and extra live elements (sidecars) do not matter', () => {
  const container = (name: string, image: string) => ({ name, image });
  const desired: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: meta, spec: { containers: [container('app', 'app:1'), container('log', 'log:1')] } };
  const live: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: meta,
    spec: { containers: [{ ...container('sidecar', 's:1') }, { ...container('log', 'log:1'), imagePullPolicy: 'IfNotPresent' }, { ...container('app', 'app:1'), terminationMessagePath: '/dev/termination-log' }] },
  };
  assert.deepEqual(driftedFields(desired, live), []);
  const changed = structuredClone(live);
  (changed.spec as { containers: Array<{ image: string }> }).containers[2]!.image = 'app:2';
  assert.deepEqual(driftedFields(desired, changed), ['spec.containers[name=app].image']);
  const removed = structuredClone(live);
  (removed.spec as { containers: unknown[] }).containers.splice(1, 1);
  assert.deepEqual(driftedFields(desired, removed), ['spec.containers[name=log]']);
});

test('lists of unnamed objects compare by position; lists of scalars must be equal', () => {
  const desired: KubeObject = { apiVersion: 'v1', kind: 'X', metadata: meta, spec: { rules: [{ host: 'a' }, { host: 'b' }], args: ['--a', '--b'] } };
  assert.deepEqual(driftedFields(desired, { ...desired, spec: { rules: [{ host: 'a', extra: 1 }, { host: 'b' }], args: ['--a', '--b'] } }), []);
  assert.deepEqual(driftedFields(desired, { ...desired, spec: { rules: [{ host: 'a' }, { host: 'c' }], args: ['--a'] } }), ['spec.rules[1].host', 'spec.args']);
});

test('int-or-string and quantity canonicalisation do not count as drift', () => {
  const desired: KubeObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { ...meta, annotations: { replicas: 3 as unknown as string } },
    spec: { ports: [{ name: 'http', port: 80, targetPort: '8080' }], resources: { cpu: '1000m', memory: '1024Mi', small: 0.5 } },
  };
  const live: KubeObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { ...meta, annotations: { replicas: '3' } },
    spec: { ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }], resources: { cpu: '1', memory: '1Gi', small: '500m' } },
  };
  assert.deepEqual(driftedFields(desired, live), []);
  assert.deepEqual(driftedFields(desired, { ...live, spec: { ports: [{ name: 'http', port: 81, targetPort: 8080 }], resources: { cpu: '2', memory: '1Gi', small: '500m' } } }), [
    'spec.ports[name=http].port',
    'spec.resources.cpu',
  ]);
  // Plain decimals are not rewritten by the API: "1.10" and "1.1" differ.
  assert.deepEqual(driftedFields({ ...desired, spec: { version: '1.10' } }, { ...live, spec: { version: '1.1' } }), ['spec.version']);
});

test('null, empty maps and empty lists in the desired object match an absent field', () => {
  const desired: KubeObject = { apiVersion: 'v1', kind: 'X', metadata: { ...meta, labels: {} }, spec: { a: null, b: {}, c: [] } };
  assert.deepEqual(driftedFields(desired, { apiVersion: 'v1', kind: 'X', metadata: meta }), []);
});

test('Secret stringData is compared with the decoded data the API stores', () => {
  const desired: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: meta, stringData: { password: 'hunter2' } };
  const live: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: meta, data: { password: Buffer.from('hunter2').toString('base64') } };
  assert.deepEqual(driftedFields(desired, live), []);
  assert.deepEqual(driftedFields(desired, { ...live, data: { password: Buffer.from('other').toString('base64') } }), ['stringData.password']);
});

test('quantityValue reads decimal, binary and exponent forms', () => {
  assert.equal(quantityValue('500m'), 0.5);
  assert.equal(quantityValue('1Ki'), 1024);
  assert.equal(quantityValue('1e3'), 1000);
  assert.equal(quantityValue('2k'), 2000);
  assert.equal(quantityValue('abc'), undefined);
  assert.equal(quantityValue('1Xi'), undefined);
});
