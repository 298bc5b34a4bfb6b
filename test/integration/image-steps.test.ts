/**
 * The container image's build and run steps, replayed without Docker (CI has
 * none): the Dockerfile's build stage (`npm ci`, `npm run build`), its
 * production-only install (`npm ci --omit=dev`) with `dist/` and the default
 * config copied next to it, and its ENTRYPOINT (the `flotilla` CLI,
 * `node dist/src/cli/main.js run --no-local`) run by the project's pinned
 * Node 24 (the image's own Node is the same major): `flotilla --help`, and a
 * short `run` against a real control plane with the shipped CRDs and RBAC.
 * The controller must sync its caches, and exit 0 on SIGTERM as PID 1 would.
 * Without a cluster the image's entrypoint must fail fast with exit 2.
 *
 * The test first checks that the Dockerfile still contains the commands it
 * replays, so the two cannot drift apart silently.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { stringify as stringifyYaml } from 'yaml';
import { startControlPlane, type ControlPlane } from '../../src/controlplane/harness.ts';
import { registerScratchDir, startProcess, unregisterScratchDir, type ManagedProcess } from '../../src/controlplane/processes.ts';
import { controllerKubeconfig } from '../../src/controlplane/rbac.ts';
import { testConfig } from '../support/flotilla.ts';
import { applyManifests, loadKubeConfig } from '../support/kube.ts';
import { waitFor } from '../../src/util/wait.ts';
import { CONFIG_DIR, renderKustomization, REPO_ROOT } from '../unit/manifests/kustomize.ts';
import { levelAtLeast } from '../../src/observability/logger.ts';

const PINNED_NODE = join(REPO_ROOT, 'node_modules/.bin/node');
const NPM_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund'];

const timings: Array<[string, number]> = [];
let cp: ControlPlane | undefined;
let controller: ManagedProcess | undefined;
const work = mkdtempSync(join(tmpdir(), 'flotilla-image-'));
if (process.env.FLOTILLA_KEEP_CONTROLPLANE !== '1') registerScratchDir(work);

after(async () => {
  await controller?.stop({ signal: 'SIGKILL', graceMs: 1000 });
  await cp?.stop();
  if (process.env.FLOTILLA_KEEP_CONTROLPLANE !== '1') {
    rmSync(work, { recursive: true, force: true });
    unregisterScratchDir(work);
  }
  console.log(`image steps:\n${timings.map(([step, ms]) => `  ${step.padEnd(48)} ${(ms / 1000).toFixed(2).padStart(7)} s`).join('\n')}`);
});

async function timed<T>(step: string, fn: () => Promise<T> | T): Promise<T> {
  const start = performance.now();
  try {
    return await fn();
  } finally {
    timings.push([step, performance.now() - start]);
  }
}

/** Runs a command to completion; throws with its output when it fails. */
function run(command: string, args: string[], cwd: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, NO_UPDATE_NOTIFIER: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(' ')} (in ${cwd}) failed with ${signal ?? `exit code ${code}`}:\n${output.slice(-4000)}`));
    });
  });
}

function copyInto(dest: string, paths: string[]): void {
  for (const path of paths) cpSync(join(REPO_ROOT, path), join(dest, path), { recursive: true });
}

test('the Dockerfile uses the pinned Node major and the steps this test replays', () => {
  const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string>; bin?: Record<string, string> };
  const major = pkg.devDependencies.node?.replace(/^[^\d]*/, '').split('.')[0];
  assert.ok(major, 'package.json pins node as a devDependency');
  assert.match(dockerfile, new RegExp(`^ARG NODE_IMAGE=node:${major}-slim$`, 'm'));
  const stages = dockerfile.split(/^FROM /m).slice(1);
  assert.equal(stages.length, 3, 'build, deps and final stages');
  assert.ok(stages.every((s) => s.startsWith('${NODE_IMAGE}')), 'every stage on the pinned Node image');
  const [build, deps, final] = stages as [string, string, string];
  assert.match(build, /^RUN npm ci --no-audit --no-fund$/m);
  assert.match(build, /^RUN npm run build$/m);
  for (const copied of ['package.json package-lock.json', 'tsconfig.json tsconfig.build.json', 'src', 'workers']) {
    assert.match(build, new RegExp(`^COPY ${copied} `, 'm'), `the build stage copies ${copied}`);
  }
  assert.match(deps, /^RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund/m);
  assert.match(final, /^COPY --from=deps .*\/app\/node_modules \.\/node_modules$/m);
  assert.match(final, /^COPY --from=build .*\/app\/dist \.\/dist$/m);
  assert.match(final, /^COPY .*config\/flotilla\.yaml \.\/config\/flotilla\.yaml$/m);
  assert.match(final, /^USER 65532:65532$/m);
  assert.ok(!/^RUN npm (ci|install)(?!.*--omit=dev)/m.test(final), 'no dev install in the final stage');
  // Exec form, so node itself is PID 1 and receives SIGTERM; the CLI's `run`.
  assert.match(final, /^ENTRYPOINT \["node", "dist\/src\/cli\/main\.js", "run", "--no-local"\]$/m);
  // The `flotilla` bin is a launcher: src/ in a checkout, else the file the ENTRYPOINT runs.
  assert.equal(pkg.bin?.flotilla, 'bin/flotilla.js');
  assert.match(readFileSync(join(REPO_ROOT, 'bin/flotilla.js'), 'utf8'), /new URL\('dist\/src\/cli\/main\.js', root\)/, 'the launcher runs dist/src/cli/main.js outside a checkout');

  // .dockerignore lets in exactly what the Dockerfile copies.
  const ignore = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
  assert.ok(ignore.includes('*'), '.dockerignore starts from nothing (no node_modules, dist, .git in the context)');
  for (const path of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src/', 'workers/', 'config/flotilla.yaml']) {
    assert.ok(ignore.includes(`!${path}`), `.dockerignore lets in ${path}`);
  }
});

test('build stage, production install and ENTRYPOINT run, sync caches and exit 0 on SIGTERM', { timeout: 5 * 60_000 }, async () => {
  const buildDir = join(work, 'build');
  const appDir = join(work, 'app');
  mkdirSync(buildDir);
  mkdirSync(appDir);

  // Build stage.
  copyInto(buildDir, ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src', 'workers']);
  await timed('build: npm ci', () => run('npm', ['ci', ...NPM_FLAGS], buildDir, 180_000));
  await timed('build: npm run build', () => run('npm', ['run', 'build'], buildDir, 180_000));
  assert.ok(existsSync(join(buildDir, 'dist/src/cli/main.js')), 'dist/src/cli/main.js');
  assert.ok(existsSync(join(buildDir, 'dist/workers/selector-worker.js')), 'dist/workers/selector-worker.js');

  // Production dependencies only, then the final stage's copies.
  copyInto(appDir, ['package.json', 'package-lock.json']);
  await timed('deps: npm ci --omit=dev', () => run('npm', ['ci', '--omit=dev', '--ignore-scripts', ...NPM_FLAGS], appDir, 180_000));
  cpSync(join(buildDir, 'dist'), join(appDir, 'dist'), { recursive: true });
  mkdirSync(join(appDir, 'config'));
  cpSync(join(CONFIG_DIR, 'flotilla.yaml'), join(appDir, 'config/flotilla.yaml'));
  const installed = readdirSync(join(appDir, 'node_modules'));
  for (const devOnly of ['node', 'typescript']) assert.ok(!installed.includes(devOnly), `${devOnly} (a devDependency) is not installed`);
  assert.ok(!existsSync(join(appDir, 'node_modules/.bin/tsc')), 'no tsc in the production install');
  assert.ok(!existsSync(join(appDir, 'node_modules/.bin/node')), 'no node binary from npm in the production install');

  // The image's environment: only what a container would have.
  const imageEnv = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: work, NODE_ENV: 'production' };
  const cli = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(PINNED_NODE, ['dist/src/cli/main.js', ...args], { cwd: appDir, env: imageEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  const help = await timed('run: flotilla --help', () => cli(['--help']));
  assert.equal(help.code, 0, `flotilla --help: ${help.stderr}`);
  assert.match(help.stdout, /^Usage: flotilla <command>/m);
  for (const command of ['run', 'controlplane', 'bench', 'version']) assert.match(help.stdout, new RegExp(`^  ${command} `, 'm'));
  const runHelp = await cli(['run', '--no-local', '--help']);
  assert.equal(runHelp.code, 0);
  assert.match(runHelp.stdout, /^Usage: flotilla run/m);
  const version = await cli(['version']);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^flotilla \d+\.\d+\.\d+/m);
  assert.match(version.stdout, /local control plane: not in this installation/, 'the image has no control-plane Go module');
  // No kubeconfig, not in a pod: the entrypoint fails fast with one sentence instead of looking for a local cluster.
  const noCluster = await cli(['run', '--no-local']);
  assert.equal(noCluster.code, 2, noCluster.stderr);
  assert.match(noCluster.stderr, /^No cluster configured: pass --kubeconfig FILE, set KUBECONFIG, or run inside a pod/);
  assert.equal(noCluster.stderr.trim().split('\n').length, 1, `one line, no stack trace:\n${noCluster.stderr}`);
  // Without --no-local the same: the installation has no local control plane.
  const noLocal = await cli(['run']);
  assert.equal(noLocal.code, 2, noLocal.stderr);
  assert.match(noLocal.stderr, /no local control plane/);
  const controlplaneUp = await cli(['controlplane', 'up', '--dir', join(work, 'cp-in-image')]);
  assert.equal(controlplaneUp.code, 2, controlplaneUp.stderr);
  assert.match(controlplaneUp.stderr, /needs a source checkout/);

  // A cluster with the shipped CRDs and RBAC; the controller runs as its user.
  cp = await timed('control plane: start', () => startControlPlane({ controllerManager: false }));
  const kubeconfig = await timed('control plane: CRDs and RBAC', async () => {
    await applyManifests(loadKubeConfig(cp!.adminKubeconfig), renderKustomization(join(CONFIG_DIR, 'crd')));
    return controllerKubeconfig(cp!);
  });
  const configPath = join(work, 'flotilla.yaml');
  writeFileSync(configPath, stringifyYaml(testConfig({ leaderElection: { enabled: false }, metrics: { bindAddress: '127.0.0.1:0' }, health: { bindAddress: '127.0.0.1:0' } })));

  // ENTRYPOINT ["node", "dist/src/cli/main.js", "run", "--no-local"] in WORKDIR /app, with the Deployment's --config.
  const logFile = join(work, 'controller.log');
  // `cd` to the image's WORKDIR, then `exec`: node replaces the shell and is
  // the process that gets SIGTERM, as with the exec-form ENTRYPOINT.
  controller = await startProcess({
    name: 'flotilla-image',
    binary: '/bin/sh',
    args: ['-c', 'cd "$0" && exec "$1" dist/src/cli/main.js run --no-local --kubeconfig "$2" --config "$3"', appDir, PINNED_NODE, kubeconfig, configPath],
    logFile,
    // Only what a container would have; no npm_* or NODE_OPTIONS from the test runner.
    env: imageEnv,
  });
  const logLines = () =>
    readFileSync(logFile, 'utf8')
      .split('\n')
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
  const tail = () => readFileSync(logFile, 'utf8').split('\n').slice(-40).join('\n');
  await timed('run: start to "caches synced"', () =>
    waitFor(
      () => {
        if (logLines().some((l) => l.msg === 'caches synced')) return true;
        if (!controller!.isRunning()) throw new Error(`the controller exited before syncing its caches:\n${tail()}`);
        return undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100, description: `"caches synced" from dist/src/cli/main.js run (log: ${logFile})` },
    ),
  );

  const health = logLines().find((l) => l.msg === 'serving' && Array.isArray(l.paths) && (l.paths as string[]).includes('/readyz'));
  assert.ok(health, `a "serving" log line for /readyz:\n${tail()}`);
  await waitFor(
    async () => {
      const res = await fetch(`${String(health.url)}/readyz`).catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    },
    { timeoutMs: 30_000, description: '/readyz to answer 200' },
  );

  const status = await timed('run: SIGTERM to exit', async () => {
    controller!.signal('SIGTERM');
    return controller!.exited;
  });
  assert.deepEqual(status, { code: 0, signal: null }, `exit status after SIGTERM:\n${tail()}`);
  // e.g. a worker file dist/ lacks would be logged, not fatal: nothing may be logged at error level.
  const errors = logLines().filter((l) => levelAtLeast(l.level, 'error'));
  assert.deepEqual(errors, [], `error log lines from the built controller:\n${tail()}`);
});
