import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { UsageError } from '../../../src/cli/args.ts';
import { loadCommandKubeconfig } from '../../../src/cli/kubeconfig.ts';
import { makeTree } from '../apply/fixture.ts';

function kubeconfig(current: string, contexts: Array<{ name: string; cluster: string; namespace?: string }>): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': current,
    clusters: [...new Set(contexts.map((c) => c.cluster))].map((name) => ({ name, cluster: { server: `https://${name}.example:6443` } })),
    users: [{ name: 'admin', user: { token: 't' } }],
    contexts: contexts.map((c) => ({ name: c.name, context: { cluster: c.cluster, user: 'admin', ...(c.namespace ? { namespace: c.namespace } : {}) } })),
  });
}

describe('loadCommandKubeconfig (one cluster, as kubectl finds it)', () => {
  const files = {
    'a.yaml': kubeconfig('prod', [
      { name: 'prod', cluster: 'prod', namespace: 'team-a' },
      { name: 'staging', cluster: 'staging' },
    ]),
    'b.yaml': kubeconfig('other', [
      { name: 'prod', cluster: 'elsewhere', namespace: 'ignored' },
      { name: 'other', cluster: 'other', namespace: 'team-b' },
    ]),
  };

  it('uses the current context, its cluster and namespace', (t) => {
    const tree = makeTree(files);
    t.after(tree.cleanup);
    const loaded = loadCommandKubeconfig(join(tree.dir, 'a.yaml'), undefined, {});
    assert.equal(loaded.kubeConfig.getCurrentCluster()?.server, 'https://prod.example:6443');
    assert.equal(loaded.namespace, 'team-a');
    assert.equal(loaded.path, join(tree.dir, 'a.yaml'));
    assert.equal(loaded.from, '--kubeconfig');
  });

  it('--context picks another context; an unknown one lists the known', (t) => {
    const tree = makeTree(files);
    t.after(tree.cleanup);
    const staging = loadCommandKubeconfig(join(tree.dir, 'a.yaml'), 'staging', {});
    assert.equal(staging.kubeConfig.getCurrentCluster()?.server, 'https://staging.example:6443');
    assert.equal(staging.namespace, undefined);
    assert.throws(
      () => loadCommandKubeconfig(join(tree.dir, 'a.yaml'), 'dev', {}),
      (error: unknown) =>
        error instanceof UsageError && error.message === `Context "dev" (--context) is not in the kubeconfig ${join(tree.dir, 'a.yaml')} (--kubeconfig); it has: prod, staging.`,
    );
  });

  it('merges a KUBECONFIG list as kubectl does: the first file to name a thing wins', (t) => {
    const tree = makeTree(files);
    t.after(tree.cleanup);
    const KUBECONFIG = [join(tree.dir, 'missing.yaml'), join(tree.dir, 'a.yaml'), join(tree.dir, 'b.yaml')].join(':');
    const merged = loadCommandKubeconfig(undefined, undefined, { KUBECONFIG });
    assert.equal(merged.kubeConfig.currentContext, 'prod');
    assert.equal(merged.kubeConfig.getCurrentCluster()?.server, 'https://prod.example:6443');
    assert.equal(merged.namespace, 'team-a');
    const other = loadCommandKubeconfig(undefined, 'other', { KUBECONFIG });
    assert.equal(other.kubeConfig.getCurrentCluster()?.server, 'https://other.example:6443');
    assert.equal(other.namespace, 'team-b');
  });

  it('falls back to ~/.kube/config, and says what to do when there is no cluster at all', (t) => {
    const tree = makeTree({ 'home/.kube/config': files['a.yaml'] });
    t.after(tree.cleanup);
    assert.equal(loadCommandKubeconfig(undefined, undefined, { HOME: join(tree.dir, 'home') }).namespace, 'team-a');
    assert.throws(
      () => loadCommandKubeconfig(undefined, undefined, { HOME: join(tree.dir, 'nowhere') }),
      (error: unknown) => error instanceof UsageError && /^No cluster configured: pass --kubeconfig FILE, set KUBECONFIG/.test(error.message),
    );
    assert.throws(() => loadCommandKubeconfig(join(tree.dir, 'none.yaml'), undefined, {}), /Cannot read the kubeconfig .*none\.yaml \(--kubeconfig\)/);
  });
});
