import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { UsageError } from '../../../src/cli/args.ts';
import { parseAddArgs, parseLabels } from '../../../src/cli/cluster-commands.ts';
import { prepareLocalRun } from '../../../src/cli/cluster-local.ts';
import { parseDuration } from '../../../src/cli/duration.ts';

const dir = mkdtempSync(join(tmpdir(), 'flotilla-cluster-args-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const kubeconfig = join(dir, 'kubeconfig');
writeFileSync(kubeconfig, JSON.stringify({
  apiVersion: 'v1', kind: 'Config', clusters: [{ name: 'c', cluster: { server: 'https://127.0.0.1:1' } }],
  users: [{ name: 'u', user: { token: 't' } }], contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }], 'current-context': 'x',
}));
const env = { KUBECONFIG: kubeconfig, HOME: dir };

test('parseDuration: Go-style durations and bare seconds', () => {
  assert.equal(parseDuration('90s', '--timeout'), 90_000);
  assert.equal(parseDuration('1m30s', '--timeout'), 90_000);
  assert.equal(parseDuration('500ms', '--timeout'), 500);
  assert.equal(parseDuration('2', '--timeout'), 2000);
  for (const bad of ['', 'soon', '10 s', '0s', '5d']) assert.throws(() => parseDuration(bad, '--timeout'), UsageError, bad);
});

test('parseLabels: k=v pairs', () => {
  assert.deepEqual(parseLabels('env=prod,flotilla.dev/region=eu-1'), { env: 'prod', 'flotilla.dev/region': 'eu-1' });
  assert.deepEqual(parseLabels(undefined), {});
  assert.throws(() => parseLabels('env'), UsageError);
  assert.throws(() => parseLabels('env=a b'), UsageError);
});

test('cluster add: defaults (upstream from KUBECONFIG, agent namespace, image from the package version, 60 s, install mode)', () => {
  const args = parseAddArgs(['c1', '-n', 'ws', '--kubeconfig', kubeconfig], env);
  assert.equal(args.name, 'c1');
  assert.equal(args.workspace, 'ws');
  assert.equal(args.agentNamespace, 'flotilla-system');
  assert.equal(args.timeoutMs, 60_000);
  assert.equal(args.mode, 'install');
  assert.match(args.image, /^flotilla:\d+\.\d+\.\d+/);
  assert.equal(args.upstream.getCurrentCluster()?.server, 'https://127.0.0.1:1');
  assert.equal(args.dir, join('.cache', 'agents', 'ws-c1'));
});

test('cluster add: mistakes are usage errors', () => {
  const cases: Array<[string[], RegExp]> = [
    [['-n', 'ws', '--kubeconfig', kubeconfig], /exactly one cluster NAME/],
    [['c1', '--kubeconfig', kubeconfig], /-n WORKSPACE/],
    [['c1', '-n', 'ws'], /--kubeconfig DOWNSTREAM/],
    [['C_1', '-n', 'ws', '--print'], /DNS label/],
    [['c1', '-n', 'ws', '--print', '--run-local', '--kubeconfig', kubeconfig], /exclude each other/],
    [['c1', '-n', 'ws', '--kubeconfig', kubeconfig, '--dir', dir], /only for --run-local/],
    [['c1', '-n', 'ws', '--kubeconfig', join(dir, 'missing')], /file not found/],
    [['c1', '-n', 'ws', '--print', '--upstream-kubeconfig', join(dir, 'missing')], /Cannot read the kubeconfig/],
    [['c1', '-n', 'ws', '--print', '--upstream-server', 'mgmt:6443'], /--upstream-server must be a URL/],
    [['c1', '-n', 'ws', '--print', '--bogus'], /Unknown option --bogus/],
  ];
  for (const [argv, message] of cases) assert.throws(() => parseAddArgs(argv, env), (e: unknown) => e instanceof UsageError && message.test(e.message), argv.join(' '));
  assert.throws(() => parseAddArgs(['c1', '-n', 'ws', '--print'], { HOME: dir }), /No management cluster/);
});

test('--run-local preparation: the kubeconfig in DIR with mode 0600, the argv for the agent', async () => {
  const plan = await prepareLocalRun({ dir: join(dir, 'agent'), upstreamKubeconfig: 'kc: 1\n', deploymentNamespace: 'flotilla-ws-c1-1', downstreamKubeconfig: kubeconfig, agentNamespace: 'flotilla-system' });
  assert.equal(plan.kubeconfigPath, join(dir, 'agent', 'upstream.kubeconfig'));
  assert.equal(readFileSync(plan.kubeconfigPath, 'utf8'), 'kc: 1\n');
  assert.equal(statSync(plan.kubeconfigPath).mode & 0o777, 0o600);
  assert.deepEqual(plan.argv, ['--upstream-kubeconfig', plan.kubeconfigPath, '--namespace', 'flotilla-ws-c1-1', '--kubeconfig', kubeconfig, '--agent-namespace', 'flotilla-system']);
});
