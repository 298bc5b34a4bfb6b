import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import {
  buildParent,
  computeApplySetId,
  contentOf,
  formatGroupKind,
  parentUpToDate,
  parseGroupKind,
  readParent,
  unionContent,
} from '../../../src/agent/apply/applyset.ts';
import { ApplySetKeys } from '../../../src/agent/apply/types.ts';

test('applySetId reproduces kubectl\'s published example (Secret my-set in namespace test)', () => {
  // kubectl's apply tests (pkg/cmd/apply/apply_test.go) expect this id for
  // an ApplySet whose parent is the Secret `my-set` in namespace `test`.
  assert.equal(computeApplySetId('my-set', 'test', 'Secret', ''), 'applyset-0eFHV8ySqp7XoShsGvyWFQD3s96yqwHmzc4e0HR1dsY-v1');
});

test('applySetId of a ConfigMap parent: base64url, unpadded sha256 of name.namespace.ConfigMap.', () => {
  const expected = `applyset-${createHash('sha256').update('bd-web.flotilla-system.ConfigMap.').digest('base64url')}-v1`;
  const id = computeApplySetId('bd-web', 'flotilla-system');
  assert.equal(id, expected);
  assert.match(id, /^applyset-[A-Za-z0-9_-]{43}-v1$/);
});

test('group-kinds: core kinds bare, others Kind.group, and back', () => {
  assert.equal(formatGroupKind({ group: '', kind: 'ConfigMap' }), 'ConfigMap');
  assert.equal(formatGroupKind({ group: 'apps', kind: 'Deployment' }), 'Deployment.apps');
  assert.deepEqual(parseGroupKind('CustomResourceDefinition.apiextensions.k8s.io'), { kind: 'CustomResourceDefinition', group: 'apiextensions.k8s.io' });
  assert.deepEqual(parseGroupKind('Service'), { kind: 'Service', group: '' });
});

test('parent content is sorted and de-duplicated, the parent\'s own namespace left out, and reads back the same', () => {
  const content = contentOf(['Service', 'Deployment.apps', 'Service'], ['b', 'flotilla-system', 'a', 'b', ''], 'flotilla-system', 'd1');
  assert.deepEqual(content, { groupKinds: ['Deployment.apps', 'Service'], namespaces: ['a', 'b'], deploymentID: 'd1' });
  const parent = buildParent({ bundleDeployment: 'web', namespace: 'flotilla-system', applySetId: 'applyset-x-v1', tooling: 'flotilla/0.1.0', keepResources: false }, content);
  assert.deepEqual(parent.metadata.labels, { [ApplySetKeys.id]: 'applyset-x-v1', [ApplySetKeys.bundleDeployment]: 'web' });
  assert.deepEqual(parent.metadata.annotations, {
    [ApplySetKeys.tooling]: 'flotilla/0.1.0',
    [ApplySetKeys.containsGroupKinds]: 'Deployment.apps,Service',
    [ApplySetKeys.additionalNamespaces]: 'a,b',
    [ApplySetKeys.deploymentID]: 'd1',
  });
  assert.deepEqual(readParent(parent), content);
});

test('no additional namespaces: the annotation is omitted', () => {
  const parent = buildParent(
    { bundleDeployment: 'web', namespace: 'ns', applySetId: 'id', tooling: 't', keepResources: false },
    contentOf(['ConfigMap'], ['ns'], 'ns', undefined),
  );
  assert.equal(parent.metadata.annotations?.[ApplySetKeys.additionalNamespaces], undefined);
  assert.equal(parent.metadata.annotations?.[ApplySetKeys.deploymentID], undefined);
});

test('union keeps both sides; up-to-date detection ignores keys we do not own', () => {
  const union = unionContent(
    { groupKinds: ['Service'], namespaces: ['a'], deploymentID: 'old' },
    { groupKinds: ['ConfigMap'], namespaces: ['b'], deploymentID: undefined },
    'old',
  );
  assert.deepEqual(union, { groupKinds: ['ConfigMap', 'Service'], namespaces: ['a', 'b'], deploymentID: 'old' });
  const identity = { bundleDeployment: 'web', namespace: 'ns', applySetId: 'id', tooling: 't', keepResources: false };
  const desired = buildParent(identity, union);
  const live = { ...desired, metadata: { ...desired.metadata, resourceVersion: '7', annotations: { ...desired.metadata.annotations, other: 'x' } } };
  assert.equal(parentUpToDate(live, desired), true);
  assert.equal(parentUpToDate(live, buildParent(identity, { ...union, deploymentID: 'new' })), false);
  assert.equal(parentUpToDate(undefined, desired), false);
  const kept = buildParent({ ...identity, keepResources: true }, union);
  assert.equal(kept.metadata.annotations?.['flotilla.dev/keep-resources'], 'true');
  assert.equal(parentUpToDate(live, kept), false, 'keepResources is recorded, so a change of it is written');
});
