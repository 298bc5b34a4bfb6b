import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { impersonatingKubeConfig, serviceAccountUser } from '../../../src/runtime/kube/impersonation.ts';

function baseConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', skipTLSVerify: false }],
    users: [{ name: 'agent', token: 'secret-token' }, { name: 'other', token: 'x' }],
    contexts: [{ name: 'ctx', cluster: 'c', user: 'agent' }],
    currentContext: 'ctx',
  });
  return kc;
}

test('the impersonating config sends Impersonate-User with the base credentials, and leaves the base config alone', async () => {
  const base = baseConfig();
  const user = serviceAccountUser('apps', 'deployer');
  assert.equal(user, 'system:serviceaccount:apps:deployer');
  const kc = impersonatingKubeConfig(base, user);
  const opts: { headers: Record<string, string> } = { headers: {} };
  await kc.applyToHTTPSOptions(opts);
  assert.equal(opts.headers['Impersonate-User'], user);
  assert.equal(opts.headers.Authorization, 'Bearer secret-token');
  const baseOpts: { headers: Record<string, string> } = { headers: {} };
  await base.applyToHTTPSOptions(baseOpts);
  assert.equal(baseOpts.headers['Impersonate-User'], undefined);
  assert.equal(kc.getCurrentCluster()?.server, 'https://127.0.0.1:6443');
});
