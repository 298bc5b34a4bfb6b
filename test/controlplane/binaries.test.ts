import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flotillaCacheDir, formatDuration, pinnedVersions, planBuild } from '../../src/controlplane/binaries.ts';

test('pinned versions come from the tools go.mod', () => {
  const goMod = `module x\n\nrequire (\n\tgo.etcd.io/etcd/server/v3 v3.6.8\n\tk8s.io/kubernetes v1.36.3 // indirect\n)\n\nreplace k8s.io/api => k8s.io/api v0.36.3\n`;
  assert.deepEqual(pinnedVersions(goMod), { kubernetesVersion: 'v1.36.3', etcdVersion: 'v3.6.8' });
  assert.throws(() => pinnedVersions('module x\n'), /k8s\.io\/kubernetes/);
});

test('the cache lives outside the repository, honouring FLOTILLA_CACHE_DIR then XDG_CACHE_HOME', () => {
  assert.equal(flotillaCacheDir({ FLOTILLA_CACHE_DIR: '/c', XDG_CACHE_HOME: '/x', HOME: '/h' }), '/c');
  assert.equal(flotillaCacheDir({ XDG_CACHE_HOME: '/x' }), '/x/flotilla');
  assert.match(flotillaCacheDir({}), /\/\.cache\/flotilla$/);
});

test('the build plan stamps the pinned version and keys the cache by its inputs', async () => {
  const plan = await planBuild({ FLOTILLA_CACHE_DIR: '/cache' });
  const ldflags = plan.buildArgs[plan.buildArgs.indexOf('-ldflags') + 1] ?? '';
  assert.match(ldflags, new RegExp(`gitVersion=${plan.kubernetesVersion.replaceAll('.', '\\.')}( |$)`));
  assert.match(plan.key, /^[0-9a-f]{16}$/);
  assert.equal(plan.binDir, `/cache/controlplane/${plan.key}/bin`);
  assert.equal(plan.env.CGO_ENABLED, '0');
  for (const pkg of ['cmd/kube-apiserver', 'cmd/kube-controller-manager', 'cmd/kubectl', 'cmd/kube-scheduler', 'cmd/kubelet']) {
    assert.ok(plan.buildArgs.includes(`k8s.io/kubernetes/${pkg}`), `the build includes ${pkg}, from the same pinned module`);
  }
  assert.ok(plan.buildArgs.includes('./pause'), 'the node\'s sandbox binary is built from tools/pause');
  assert.equal((await planBuild({ FLOTILLA_CACHE_DIR: '/elsewhere' })).key, plan.key, 'the key depends on inputs, not on where the cache is');
});

test('durations print as seconds, then minutes', () => {
  assert.equal(formatDuration(4_400), '4s');
  assert.equal(formatDuration(451_000), '7m31s');
});
