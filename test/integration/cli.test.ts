/**
 * The `flotilla` CLI as an operator meets it: help and version, mistakes
 * answered with one sentence and exit 2, and the runtime problems a
 * controller must survive rather than exit on (no CRDs, no RBAC, no API
 * server): it keeps running and retrying, /healthz stays 200, /readyz 500 (not ready),
 * and the log says once, in one sentence, what is wrong and what to do.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { startControlPlane, type ControlPlane } from '../../src/controlplane/harness.ts';
import { allocateFreePorts } from '../../src/controlplane/ports.ts';
import { controllerKubeconfig } from '../../src/controlplane/rbac.ts';
import { readKustomization } from '../../src/quickstart/manifests.ts';
import { REPO_ROOT, startFlotilla, type FlotillaProcess, type LogLine } from '../support/flotilla.ts';
import { applyManifests, loadKubeConfig } from '../support/kube.ts';
import { waitFor } from '../../src/util/wait.ts';
import { levelAtLeast } from '../../src/observability/logger.ts';

const CLI = join(REPO_ROOT, 'src/cli/main.ts');
const work = mkdtempSync(join(tmpdir(), 'flotilla-cli-'));
const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
let cp: ControlPlane;
const running: FlotillaProcess[] = [];

before(async () => {
  cp = await startControlPlane({ controllerManager: false });
});

after(async () => {
  await Promise.all(running.map((p) => p.stop({ graceMs: 5000 })));
  await cp?.stop();
  rmSync(work, { recursive: true, force: true });
});

function flotilla(args: string[]) {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: work },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A user-facing error: exactly one line, no stack trace. */
function assertOneSentence(stderr: string): void {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line:\n${stderr}`);
  assert.doesNotMatch(stderr, /^\s+at /m);
}

test('flotilla --help lists the commands, the environment and the exit codes', () => {
  const { code, stdout } = flotilla(['--help']);
  assert.equal(code, 0);
  for (const command of ['run', 'agent', 'cluster', 'apply', 'controlplane', 'bench', 'version']) assert.match(stdout, new RegExp(`^  ${command} +\\S`, 'm'));
  for (const variable of ['KUBECONFIG', 'FLOTILLA_CONFIG', 'FLOTILLA_LOG_LEVEL']) assert.match(stdout, new RegExp(`^  ${variable}`, 'm'));
  for (const exit of ['0', '1', '2', '70', '130']) assert.match(stdout, new RegExp(`^  ${exit} +\\S`, 'm'));
  assert.equal(flotilla(['help']).stdout, stdout);
});

test('every command has --help (exit 0, usage text)', () => {
  for (const command of ['run', 'agent', 'cluster', 'apply', 'controlplane', 'version']) {
    const { code, stdout } = flotilla([command, '--help']);
    assert.equal(code, 0, command);
    assert.match(stdout, new RegExp(`^Usage: flotilla ${command}`, 'm'), command);
  }
  const run = flotilla(['run', '-h']).stdout;
  for (const flag of ['--kubeconfig', '--context', '--config', '--log-level', '--log-format', '--local', '--no-local', '--dir']) assert.match(run, new RegExp(`^  ${flag}`, 'm'));
  assert.doesNotMatch(run, /--no-demo-agent/);
  // bench delegates to bench/run.ts when present, whose usage then names `flotilla bench`.
  const bench = flotilla(['bench', '--help']);
  assert.equal(bench.code, 0, bench.stderr);
  assert.match(bench.stdout, /^Usage: flotilla bench <scenario> \[options\]$/m);
  assert.doesNotMatch(bench.stdout, /npm run bench/);
});

test('flotilla version prints the package, Node and pinned Kubernetes versions', () => {
  const { code, stdout } = flotilla(['version']);
  assert.equal(code, 0);
  assert.match(stdout, new RegExp(`^flotilla ${pkg.version.replaceAll('.', '\\.')}$`, 'm'));
  assert.match(stdout, new RegExp(`^node ${process.versions.node.replaceAll('.', '\\.')} `, 'm'));
  assert.match(stdout, new RegExp(`Kubernetes ${cp.kubernetesVersion.replaceAll('.', '\\.')}, etcd ${cp.etcdVersion.replaceAll('.', '\\.')}`));
  const json = JSON.parse(flotilla(['version', '--json']).stdout) as Record<string, string>;
  assert.equal(json.flotilla, pkg.version);
  assert.equal(json.kubernetes, cp.kubernetesVersion);
});

test('unknown commands and flags are one sentence and exit 2', () => {
  const command = flotilla(['deploy']);
  assert.equal(command.code, 2);
  assertOneSentence(command.stderr);
  assert.match(command.stderr, /^Unknown command "deploy"; expected one of run, agent, cluster, apply, controlplane, bench, version/);
  const flag = flotilla(['run', '--kubeconfig', 'x', '--replicas', '3']);
  assert.equal(flag.code, 2);
  assertOneSentence(flag.stderr);
  assert.match(flag.stderr, /^Unknown option --replicas for `flotilla run`/);
  // The quick start runs real agents now; the demo agent and its flag are gone.
  const removed = flotilla(['run', '--no-demo-agent']);
  assert.equal(removed.code, 2);
  assertOneSentence(removed.stderr);
  assert.match(removed.stderr, /^Unknown option --no-demo-agent for `flotilla run`/);
  const apply = flotilla(['apply', 'web']);
  assert.equal(apply.code, 2);
  assertOneSentence(apply.stderr);
  assert.match(apply.stderr, /^`flotilla apply` needs a DIR of manifests or -f FILE/);
  const top = flotilla(['--frobnicate']);
  assert.equal(top.code, 2);
  assertOneSentence(top.stderr);
});

test('the agent without its required flags, or with an unreadable kubeconfig, is one sentence and exit 2', () => {
  const missing = flotilla(['agent', '--namespace', 'cluster-x']);
  assert.equal(missing.code, 2);
  assertOneSentence(missing.stderr);
  assert.match(missing.stderr, /^--upstream-kubeconfig FILE is required/);
  const unreadable = flotilla(['agent', '--upstream-kubeconfig', '/nonexistent/upstream', '--namespace', 'cluster-x', '--kubeconfig', '/nonexistent/down']);
  assert.equal(unreadable.code, 2);
  assertOneSentence(unreadable.stderr);
  assert.match(unreadable.stderr, /^Cannot read the kubeconfig \/nonexistent\/upstream \(--upstream-kubeconfig\): /);
});

test('a bad config file stops the start with exit 2, naming the field', () => {
  const config = join(work, 'bad.yaml');
  writeFileSync(config, 'concurrency:\n  maxConcurrentReconciles: 0\n');
  const { code, stderr } = flotilla(['run', '--kubeconfig', cp.adminKubeconfig, '--config', config]);
  assert.equal(code, 2);
  // Where it would connect comes first, naming the real server and the context.
  const context = loadKubeConfig(cp.adminKubeconfig).getCurrentContext();
  assert.equal(
    stderr.split('\n')[0],
    `Connecting to ${cp.apiServerUrl} (context "${context}" of ${cp.adminKubeconfig}): an existing cluster, not the local quick start. To use another, pass --context NAME for another context of that kubeconfig, --kubeconfig FILE for another file, or --local for the local quick start.`,
  );
  assert.match(stderr, /concurrency\.maxConcurrentReconciles/);
  assert.doesNotMatch(stderr, /^\s+at /m);
});

/** Fast reflector retries, so recovery is seen in seconds rather than after the 30 s cap. */
const quickRetries = { backoff: { reflector: { initialDelayMs: 200, maxDelayMs: 1000 } } };

async function startCli(name: string, kubeconfig: string): Promise<FlotillaProcess> {
  const proc = await startFlotilla({ name, kubeconfig, config: quickRetries });
  running.push(proc);
  return proc;
}

async function probe(proc: FlotillaProcess, path: '/healthz' | '/readyz'): Promise<number> {
  return (await fetch(`${proc.healthUrl}${path}`)).status;
}

const errorLines = (proc: FlotillaProcess, pattern: RegExp): LogLine[] =>
  proc.logs.filter((l) => levelAtLeast(l.level, 'error') && typeof l.msg === 'string' && pattern.test(l.msg));

async function waitForRetries(proc: FlotillaProcess, failedLists: number): Promise<void> {
  await waitFor(
    async () => {
      const m = await proc.metrics();
      const failed = m.sum('flotilla_reflector_lists_total', { result: 'error' });
      return failed >= failedLists ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 250, description: `${proc.name}: ${failedLists} failed LISTs` },
  );
}

test('missing CRDs: keeps running, not ready, says so once; installing them makes it ready without a restart', async () => {
  const kubeconfig = await controllerKubeconfig(cp);
  const proc = await startCli('no-crds', kubeconfig);
  const sentence = /^the Flotilla CRDs are not installed \(\w+\.flotilla\.dev not found on https:\/\/127\.0\.0\.1:\d+\); install them with kubectl apply --server-side -k config\/crd$/;
  await proc.waitForLog((l) => typeof l.msg === 'string' && sentence.test(l.msg), { timeoutMs: 60_000, description: 'the CRD sentence' });
  await waitForRetries(proc, 20);
  assert.ok(proc.isRunning());
  assert.equal(await probe(proc, '/healthz'), 200);
  assert.equal(await probe(proc, '/readyz'), 500); // not ready: 500, controller-runtime's healthz convention
  assert.equal(errorLines(proc, sentence).length, 1, 'said once across every reflector and retry, not per failure');

  await applyManifests(loadKubeConfig(cp.adminKubeconfig), await readKustomization(join(REPO_ROOT, 'config/crd')));
  await proc.waitForReady({ timeoutMs: 60_000 });
  await proc.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('resolved: the Flotilla CRDs are not installed'), {
    timeoutMs: 30_000,
    description: 'the "resolved" line',
  });
  assert.ok(proc.isRunning());
});

test('forbidden: a user without the RBAC is told what is denied and what to apply; no exit', async () => {
  const kubeconfig = await cp.userKubeconfig('flotilla-unbound');
  const proc = await startCli('forbidden', kubeconfig);
  const sentence = /^forbidden: User "flotilla-unbound" cannot (list|watch) resource "\w+"( in API group "[\w.]*")? at the cluster scope; grant the controller the shipped RBAC \(kubectl apply --server-side -k config\/rbac\)/;
  await proc.waitForLog((l) => typeof l.msg === 'string' && sentence.test(l.msg), { timeoutMs: 60_000, description: 'the forbidden sentence' });
  await waitForRetries(proc, 20);
  assert.ok(proc.isRunning());
  assert.equal(await probe(proc, '/healthz'), 200);
  assert.equal(await probe(proc, '/readyz'), 500); // not ready: 500, controller-runtime's healthz convention
  // One line per denied resource type, not per retry.
  const lines = errorLines(proc, sentence);
  const distinct = new Set(lines.map((l) => l.msg));
  assert.equal(lines.length, distinct.size, `no repeats:\n${lines.map((l) => l.msg).join('\n')}`);
});

test('unreachable API server: keeps running, /healthz 200, /readyz not ready, one sentence naming the address', async () => {
  // A loopback port nobody listens on: connection refused.
  const [port] = await allocateFreePorts(1);
  const kubeconfig = join(work, 'unreachable.kubeconfig');
  const doc = parseYaml(readFileSync(await controllerKubeconfig(cp), 'utf8')) as { clusters: Array<{ cluster: { server: string } }> };
  for (const c of doc.clusters) c.cluster.server = `https://127.0.0.1:${port}`;
  writeFileSync(kubeconfig, stringifyYaml(doc));
  const proc = await startCli('unreachable', kubeconfig);
  const sentence = new RegExp(
    `^cannot reach the API server at https://127\\.0\\.0\\.1:${port}: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}; check --kubeconfig \\(or KUBECONFIG\\) and that the cluster is running$`,
  );
  await proc.waitForLog((l) => typeof l.msg === 'string' && sentence.test(l.msg), { timeoutMs: 60_000, description: 'the unreachable sentence' });
  await waitForRetries(proc, 20);
  assert.ok(proc.isRunning());
  assert.equal(await probe(proc, '/healthz'), 200);
  assert.equal(await probe(proc, '/readyz'), 500); // not ready: 500, controller-runtime's healthz convention
  assert.equal(errorLines(proc, sentence).length, 1, 'said once across every reflector and retry');
});
