/**
 * The kubeconfig loader behind every `--kubeconfig`/`--context` pair
 * (src/cli/kubeconfig.ts). The commands' use of it, as processes, is in
 * test/integration/cli-contexts.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../../src/cli/args.ts';
import { findKubeconfig, loadKubeconfig } from '../../../src/cli/kubeconfig.ts';
import { writeTwoContextKubeconfig } from '../../support/cli.ts';

const work = mkdtempSync(join(tmpdir(), 'flotilla-context-'));
const emptyHome = join(work, 'home');
mkdirSync(emptyHome);

const twoContexts = writeTwoContextKubeconfig;

const kubeconfig = twoContexts(join(work, 'two.kubeconfig'));
test('loadKubeconfig selects the named context, or the current one', () => {
  const current = loadKubeconfig({ path: kubeconfig, from: '--kubeconfig' }, undefined);
  assert.equal(current.context, 'alpha');
  assert.equal(current.server, 'https://alpha.example:6443');
  const beta = loadKubeconfig({ path: kubeconfig, from: '--kubeconfig' }, 'beta');
  assert.equal(beta.context, 'beta');
  assert.equal(beta.server, 'https://beta.example:6443');
  assert.equal(beta.kubeConfig.getCurrentCluster()?.server, 'https://beta.example:6443', 'the KubeConfig the command uses points at it');
});

test('a context that is not there names it, the file, the flag and the contexts there are', () => {
  assert.throws(
    () => loadKubeconfig({ path: kubeconfig, from: '--upstream-kubeconfig' }, 'gamma', '--upstream-context'),
    (error: unknown) =>
      error instanceof UsageError &&
      error.message === `Context "gamma" (--upstream-context) is not in the kubeconfig ${kubeconfig} (--upstream-kubeconfig); it has: alpha, beta.`,
  );
  const noCurrent = twoContexts(join(work, 'no-current.kubeconfig'), '""');
  assert.throws(
    () => loadKubeconfig({ path: noCurrent, from: '$KUBECONFIG' }, undefined),
    /^UsageError: Cannot use the kubeconfig .*no-current\.kubeconfig \(\$KUBECONFIG\): it has no current context; pass --context NAME \(it has: alpha, beta\)/,
  );
});

test('findKubeconfig: the flag, then the first entry of $KUBECONFIG, then ~/.kube/config', () => {
  const home = join(work, 'home-with-kube');
  mkdirSync(join(home, '.kube'), { recursive: true });
  twoContexts(join(home, '.kube', 'config'));
  assert.deepEqual(findKubeconfig('x', '--kubeconfig', { HOME: home, KUBECONFIG: 'y' }), { path: 'x', from: '--kubeconfig' });
  assert.deepEqual(findKubeconfig(undefined, '--kubeconfig', { HOME: home, KUBECONFIG: ':a:b' }), { path: 'a', from: '$KUBECONFIG' });
  assert.deepEqual(findKubeconfig(undefined, '--kubeconfig', { HOME: home }), { path: join(home, '.kube', 'config'), from: '~/.kube/config' });
  assert.equal(findKubeconfig(undefined, '--kubeconfig', { HOME: emptyHome }), undefined);
});
