import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyOrder, parseResources, placeObject, rejectDuplicates, type RenderedObject } from '../../../src/agent/apply/render.ts';
import { ApplySetKeys, type ResourceProblem } from '../../../src/agent/apply/types.ts';
import type { ResourceType } from '../../../src/runtime/kube/resource.ts';

const configMapType: ResourceType = { group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true };
const namespaceType: ResourceType = { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false };
const clusterRoleType: ResourceType = { group: 'rbac.authorization.k8s.io', version: 'v1', kind: 'ClusterRole', plural: 'clusterroles', namespaced: false };
const crdType: ResourceType = { group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition', plural: 'customresourcedefinitions', namespaced: false };
const ID = 'applyset-test-v1';

test('multi-document YAML gives one object per document, empty documents skipped', () => {
  const { objects, problems } = parseResources([
    { name: 'two.yaml', content: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n' },
  ]);
  assert.deepEqual(problems, []);
  assert.deepEqual(objects.map((o) => [o.manifest, o.object.metadata.name, o.index]), [['two.yaml', 'a', 0], ['two.yaml', 'b', 1]]);
});

test('JSON manifests and kind: List are read, the List flattened in order', () => {
  const list = JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'y' } },
    ],
  });
  const { objects, problems } = parseResources([{ name: 'list.json', content: list }]);
  assert.deepEqual(problems, []);
  assert.deepEqual(objects.map((o) => o.object.metadata.name), ['x', 'y']);
});

test('documents without apiVersion, kind or metadata.name, scalars and broken YAML are problems naming the manifest; the rest still parse', () => {
  const { objects, problems } = parseResources([
    { name: 'no-name.yaml', content: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n' },
    { name: 'no-kind.yaml', content: 'apiVersion: v1\nmetadata: {name: a}\n' },
    { name: 'scalar.yaml', content: '42\n' },
    { name: 'broken.yaml', content: 'apiVersion: v1\nkind: [unclosed\n' },
    { name: 'good.yaml', content: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n' },
  ]);
  assert.deepEqual(objects.map((o) => o.object.metadata.name), ['ok']);
  assert.deepEqual(problems.map((p) => p.manifest), ['no-name.yaml', 'no-kind.yaml', 'scalar.yaml', 'broken.yaml']);
  assert.match(problems[0]!.message, /metadata\.name/);
  assert.match(problems[1]!.message, /kind/);
  assert.match(problems[2]!.message, /not a Kubernetes object/);
  assert.match(problems[3]!.message, /invalid YAML/);
});

test('a namespaced kind without a namespace gets the default one; a declared namespace is kept', () => {
  const { objects } = parseResources([
    { name: 'a.yaml', content: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: mine}\n' },
  ]);
  const [a, b] = objects.map((o) => placeObject(o, configMapType, 'apps', ID));
  assert.equal(a!.object.metadata.namespace, 'apps');
  assert.equal(b!.object.metadata.namespace, 'mine');
  assert.deepEqual(a!.ref, { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'apps', name: 'a' });
});

test('a cluster-scoped kind loses any namespace it names', () => {
  const { objects } = parseResources([
    { name: 'r.yaml', content: 'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r, namespace: oops}\n' },
  ]);
  const placed = placeObject(objects[0]!, clusterRoleType, 'apps', ID);
  assert.equal(placed.object.metadata.namespace, undefined);
  assert.equal('namespace' in placed.object.metadata, false);
  assert.equal(placed.ref.namespace, undefined);
});

test('every member carries the part-of label next to its own labels; server-owned metadata is dropped; the input is untouched', () => {
  const { objects } = parseResources([
    {
      name: 'a.yaml',
      content: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, labels: {app: x}, resourceVersion: "12", uid: u, managedFields: []}\n',
    },
  ]);
  const placed = placeObject(objects[0]!, configMapType, 'default', ID);
  assert.deepEqual(placed.object.metadata.labels, { app: 'x', [ApplySetKeys.partOf]: ID });
  assert.equal(placed.object.metadata.resourceVersion, undefined);
  assert.equal(placed.object.metadata.uid, undefined);
  assert.equal(placed.object.metadata.managedFields, undefined);
  assert.deepEqual(objects[0]!.object.metadata.labels, { app: 'x' });
});

test('the same object defined twice (across manifests, or via the default namespace) is a problem on the later one', () => {
  const { objects } = parseResources([
    { name: 'first.yaml', content: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n' },
    { name: 'second.yaml', content: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: default}\n' },
    { name: 'third.yaml', content: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: other}\n' },
  ]);
  const problems: ResourceProblem[] = [];
  const kept = rejectDuplicates(objects.map((o) => placeObject(o, configMapType, 'default', ID)), problems);
  assert.deepEqual(kept.map((k) => k.manifest), ['first.yaml', 'third.yaml']);
  assert.equal(problems.length, 1);
  assert.equal(problems[0]!.manifest, 'second.yaml');
  assert.match(problems[0]!.message, /also defined in manifest first\.yaml/);
});

test('apply order: Namespaces, then CRDs, then the rest in manifest order', () => {
  const item = (type: ResourceType, index: number) => ({ type, index }) as Pick<RenderedObject, 'type' | 'index'>;
  const ordered = applyOrder([item(configMapType, 0), item(crdType, 1), item(clusterRoleType, 2), item(namespaceType, 3), item(configMapType, 4)]);
  assert.deepEqual(ordered.map((o) => `${o.type.kind}:${o.index}`), ['Namespace:3', 'CustomResourceDefinition:1', 'ConfigMap:0', 'ClusterRole:2', 'ConfigMap:4']);
});
