/**
 * `--context` for run, agent and cluster add|remove (one loader,
 * src/cli/kubeconfig.ts), and the line `run` prints before anything else,
 * through the real `flotilla` process (kept out of the unit suite, which
 * must stay fast: each process loads the whole CLI).
 * No API server is needed: every run here stops at an invalid config file
 * (exit 2) after choosing its cluster, or earlier at a bad context.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAddArgs } from '../../src/cli/cluster-commands.ts';
import { findKubeconfig, loadKubeconfig } from '../../src/cli/kubeconfig.ts';
import { packagePath } from '../../src/cli/paths.ts';
import { connectingLine } from '../../src/run.ts';
import { writeTwoContextKubeconfig } from '../support/cli.ts';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'flotilla-context-'));
const emptyHome = join(work, 'home');
mkdirSync(emptyHome);

const twoContexts = writeTwoContextKubeconfig;

const kubeconfig = twoContexts(join(work, 'two.kubeconfig'));
const badConfig = join(work, 'bad.yaml');
writeFileSync(badConfig, 'concurrency:\n  maxConcurrentReconciles: 0\n');

function flotilla(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: emptyHome, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, firstLine: result.stderr.split('\n')[0] ?? '' };
}

test('run: the first stderr line names the server and context, says it is not the quick start, and how to choose another', () => {
  const beta = flotilla(['run', '--kubeconfig', kubeconfig, '--context', 'beta', '--config', badConfig]);
  assert.equal(beta.code, 2, beta.stderr);
  assert.equal(
    beta.firstLine,
    `Connecting to https://beta.example:6443 (context "beta" of ${kubeconfig}): an existing cluster, not the local quick start. To use another, pass --context NAME for another context of that kubeconfig, --kubeconfig FILE for another file, or --local for the local quick start.`,
  );
  assert.match(beta.stderr, /concurrency\.maxConcurrentReconciles/, 'then the config error');

  // `npm start` on a machine with a ~/.kube/config: that file, said first.
  const home = join(work, 'home-default');
  mkdirSync(join(home, '.kube'), { recursive: true });
  twoContexts(join(home, '.kube', 'config'));
  const fromHome = flotilla(['run', '--config', badConfig], { HOME: home });
  assert.equal(fromHome.code, 2);
  assert.match(fromHome.firstLine, /^Connecting to https:\/\/alpha\.example:6443 \(context "alpha" of ~\/\.kube\/config\): an existing cluster, not the local quick start\./);

  const fromEnv = flotilla(['run', '--config', badConfig], { KUBECONFIG: kubeconfig });
  assert.match(fromEnv.firstLine, new RegExp(`^Connecting to https://alpha\\.example:6443 \\(context "alpha" of ${kubeconfig.replaceAll('.', '\\.')}, from \\$KUBECONFIG\\)`));

  // No cluster at all: the quick start, said first, with how to use a real cluster.
  const none = flotilla(['run', '--config', badConfig]);
  assert.equal(none.code, 2);
  assert.match(none.firstLine, /^No cluster configured \(no --kubeconfig, \$KUBECONFIG or ~\/\.kube\/config\): running the local quick start\. For a real cluster pass --kubeconfig FILE \[--context NAME\]/);
});

test('run: a kubeconfig the quick start wrote is named as its local management cluster; in a pod, the pod\'s cluster', () => {
  const loaded = loadKubeconfig({ path: kubeconfig, from: '$KUBECONFIG' }, undefined);
  const quickstart = { ...loaded, path: packagePath('.cache/quickstart/admin.kubeconfig') };
  assert.match(connectingLine(quickstart), /^Connecting to https:\/\/alpha\.example:6443 \(context "alpha" of .*\.cache\/quickstart\/admin\.kubeconfig, from \$KUBECONFIG\): the quick start's local management cluster\. To use another, pass --kubeconfig FILE \[--context NAME\] for a real cluster\.$/);
  const inCluster = { ...loaded, path: undefined, from: 'in-cluster', context: undefined };
  assert.equal(connectingLine(inCluster), "Connecting to https://alpha.example:6443 (in-cluster: the pod's service account): the cluster this pod runs in. To use another, pass --kubeconfig FILE for another cluster.");
});

test('run: an unknown context is one sentence, exit 2, before anything starts', () => {
  const { code, stderr } = flotilla(['run', '--kubeconfig', kubeconfig, '--context', 'gamma']);
  assert.equal(code, 2);
  assert.equal(stderr, `Context "gamma" (--context) is not in the kubeconfig ${kubeconfig} (--kubeconfig); it has: alpha, beta.\n`);
  const local = flotilla(['run', '--local', '--context', 'beta']);
  assert.equal(local.code, 2);
  assert.match(local.stderr, /^--local starts its own cluster and cannot be combined with --context/);
});

test('run: --log-format and FLOTILLA_LOG_FORMAT are checked', () => {
  const flag = flotilla(['run', '--log-format', 'yaml', '--kubeconfig', kubeconfig]);
  assert.equal(flag.code, 2);
  assert.equal(flag.stderr, '--log-format must be one of json, text, not "yaml".\n');
  const env = flotilla(['run', '--kubeconfig', kubeconfig, '--no-local'], { FLOTILLA_LOG_FORMAT: 'pretty' });
  assert.equal(env.code, 2);
  assert.match(env.stderr, /FLOTILLA_LOG_FORMAT must be one of json, text, not "pretty"\./);
});

test('agent: --context and --upstream-context pick the downstream and upstream contexts, named in its first line', () => {
  const ok = flotilla(['agent', '--upstream-kubeconfig', kubeconfig, '--upstream-context', 'beta', '--kubeconfig', kubeconfig, '--namespace', 'cluster-x', '--config', badConfig]);
  assert.equal(ok.code, 2, ok.stderr);
  assert.equal(
    ok.firstLine,
    `Agent of deployment namespace cluster-x: upstream https://beta.example:6443 (context "beta" of ${kubeconfig}), downstream https://alpha.example:6443 (context "alpha" of ${kubeconfig}).`,
  );
  const bad = flotilla(['agent', '--upstream-kubeconfig', kubeconfig, '--kubeconfig', kubeconfig, '--context', 'gamma', '--namespace', 'cluster-x']);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, `Context "gamma" (--context) is not in the kubeconfig ${kubeconfig} (--kubeconfig); it has: alpha, beta.\n`);
  const badUp = flotilla(['agent', '--upstream-kubeconfig', kubeconfig, '--upstream-context', 'gamma', '--kubeconfig', kubeconfig, '--namespace', 'cluster-x']);
  assert.equal(badUp.code, 2);
  assert.match(badUp.stderr, /^Context "gamma" \(--upstream-context\) is not in the kubeconfig .* \(--upstream-kubeconfig\); it has: alpha, beta\.\n$/);
});

test('cluster add/remove: --upstream-context and --context, checked before anything is written', () => {
  const args = parseAddArgs(['c1', '-n', 'ws', '--print', '--upstream-kubeconfig', kubeconfig, '--upstream-context', 'beta'], { HOME: emptyHome });
  assert.equal(args.upstream.getCurrentCluster()?.server, 'https://beta.example:6443');
  assert.match(args.upstreamConnection, /^https:\/\/beta\.example:6443 \(context "beta" of /);
  const withDownstream = parseAddArgs(['c1', '-n', 'ws', '--upstream-kubeconfig', kubeconfig, '--kubeconfig', kubeconfig, '--context', 'beta'], { HOME: emptyHome });
  assert.equal(withDownstream.downstreamContext, 'beta');
  assert.throws(
    () => parseAddArgs(['c1', '-n', 'ws', '--print', '--upstream-kubeconfig', kubeconfig, '--upstream-context', 'gamma'], { HOME: emptyHome }),
    /Context "gamma" \(--upstream-context\) is not in the kubeconfig .*; it has: alpha, beta\./,
  );
  assert.throws(
    () => parseAddArgs(['c1', '-n', 'ws', '--upstream-kubeconfig', kubeconfig, '--kubeconfig', kubeconfig, '--context', 'gamma'], { HOME: emptyHome }),
    /Context "gamma" \(--context\) is not in the kubeconfig .* \(--kubeconfig\); it has: alpha, beta\./,
  );
  assert.throws(
    () => parseAddArgs(['c1', '-n', 'ws', '--print', '--upstream-kubeconfig', kubeconfig, '--context', 'beta'], { HOME: emptyHome }),
    /--context names a context of the downstream kubeconfig: pass --kubeconfig DOWNSTREAM with it\./,
  );
  const remove = flotilla(['cluster', 'remove', 'c1', '-n', 'ws', '--upstream-kubeconfig', kubeconfig, '--upstream-context', 'gamma']);
  assert.equal(remove.code, 2);
  assert.match(remove.stderr, /^Context "gamma" \(--upstream-context\) is not in the kubeconfig/);
});

test('flotilla bench --help is usage under its own name, not npm run bench', () => {
  const { code, stdout } = flotilla(['bench', '--help']);
  assert.equal(code, 0);
  assert.match(stdout, /^Usage: flotilla bench <scenario> \[options\]\n/);
  assert.doesNotMatch(stdout, /npm run bench/);
  assert.match(stdout, /^Scenarios:$/m);
});
