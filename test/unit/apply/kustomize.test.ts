import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { findKubectl, renderedResourceName, splitRendered } from '../../../src/apply/kustomize.ts';
import { InputError } from '../../../src/apply/problems.ts';
import { makeTree } from './fixture.ts';

describe('findKubectl', () => {
  it('prefers --kubectl, then FLOTILLA_KUBECTL, then an executable kubectl on PATH', (t) => {
    const tree = makeTree({ 'empty/.keep': '', 'bin/kubectl': '#!/bin/sh\n', 'notexec/kubectl': 'x' });
    t.after(tree.cleanup);
    chmodSync(join(tree.dir, 'bin/kubectl'), 0o755);
    chmodSync(join(tree.dir, 'notexec/kubectl'), 0o644);
    const PATH = [join(tree.dir, 'empty'), join(tree.dir, 'notexec'), join(tree.dir, 'bin')].join(':');
    assert.deepEqual(findKubectl('/opt/kubectl', { PATH, FLOTILLA_KUBECTL: '/env/kubectl' }), { path: '/opt/kubectl', via: '--kubectl' });
    assert.deepEqual(findKubectl(undefined, { PATH, FLOTILLA_KUBECTL: '/env/kubectl' }), { path: '/env/kubectl', via: 'FLOTILLA_KUBECTL' });
    assert.deepEqual(findKubectl(undefined, { PATH }), { path: join(tree.dir, 'bin/kubectl'), via: 'PATH' });
    assert.equal(findKubectl(undefined, { PATH: join(tree.dir, 'notexec') }), undefined);
    assert.equal(findKubectl(undefined, {}), undefined);
  });
});

describe('rendered kustomize output', () => {
  it('names each object [NAMESPACE/]KIND[.GROUP]/NAME.yaml, made safe for a resource name', () => {
    assert.equal(renderedResourceName({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'web', name: 'nginx' }), 'web/deployment.apps/nginx.yaml');
    assert.equal(renderedResourceName({ apiVersion: 'v1', kind: 'Namespace', namespace: undefined, name: 'web' }), 'namespace/web.yaml');
    assert.equal(
      renderedResourceName({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', namespace: undefined, name: 'system:aggregate-to-view' }),
      'clusterrole.rbac.authorization.k8s.io/system-aggregate-to-view.yaml',
    );
    const long = renderedResourceName({ apiVersion: 'example.com/v1', kind: 'Thing', namespace: 'ns', name: 'n'.repeat(253) });
    assert.ok(long.length <= 253 && /^[A-Za-z0-9]/.test(long), long);
  });

  it('splits the stream into one resource per object, each a YAML document of its own', () => {
    const sources = splitRendered(
      'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: web\ndata:\n  a: "1"\n',
      'kubectl kustomize dir',
    );
    assert.deepEqual(
      sources.map((s) => [s.name, s.file]),
      [
        ['namespace/web.yaml', 'kubectl kustomize dir (document 1, Namespace web)'],
        ['web/configmap/cfg.yaml', 'kubectl kustomize dir (document 2, ConfigMap web/cfg)'],
      ],
    );
    assert.equal(sources[1]?.content, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: web\ndata:\n  a: "1"\n');
  });

  it('keeps names distinct when two objects reduce to the same one', () => {
    const sources = splitRendered(
      'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: "a:b", namespace: x}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: "a-b", namespace: x}\n',
      'k',
    );
    assert.deepEqual(sources.map((s) => s.name), ['x/serviceaccount/a-b.yaml', 'x/serviceaccount/a-b-2.yaml']);
  });

  it('reports an unusable rendered document with its position', () => {
    assert.throws(
      () => splitRendered('apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n', 'kubectl kustomize d'),
      (error: unknown) => error instanceof InputError && error.message === 'kubectl kustomize d:1: document 1: metadata.name is missing or not a non-empty string',
    );
  });
});
