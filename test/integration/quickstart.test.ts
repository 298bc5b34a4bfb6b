/**
 * The quick start as a new user meets it: `flotilla run` (what `npm start`
 * runs) on a machine with no kubeconfig starts the local control plane,
 * installs the CRDs and RBAC, creates the demo workspace from
 * config/samples, runs the controller, reports convergence with a
 * KUBECONFIG to inspect it, and on Ctrl-C (SIGINT) shuts everything down
 * and exits 0, leaving no control-plane process behind.
 *
 * HOME is an empty directory so no ~/.kube/config is found; the binary
 * cache stays the real one (the build is not what is tested here).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { stringify as stringifyYaml } from 'yaml';
import { flotillaCacheDir } from '../../src/controlplane/binaries.ts';
import { isPidAlive } from '../../src/controlplane/lock.ts';
import { registerScratchDir, startProcess, unregisterScratchDir, type ManagedProcess } from '../../src/controlplane/processes.ts';
import { KindResources } from '../../src/api/kinds.ts';
import { createRegistry } from '../../src/observability/metrics.ts';
import { KubeClient } from '../../src/runtime/kube/client.ts';
import { waitFor } from '../../src/util/wait.ts';
import { conditionOf, listAll, readWorld, REPO_ROOT, testConfig } from '../support/flotilla.ts';
import { loadKubeConfig } from '../support/kube.ts';
import { desiredPlacements, diffPlacements } from '../support/oracle.ts';

const work = mkdtempSync(join(tmpdir(), 'flotilla-quickstart-'));
if (process.env.FLOTILLA_KEEP_CONTROLPLANE !== '1') registerScratchDir(work);
let child: ManagedProcess | undefined;
let admin: KubeClient | undefined;

after(async () => {
  await admin?.close();
  await child?.stop({ signal: 'SIGKILL', graceMs: 1000 });
  if (process.env.FLOTILLA_KEEP_CONTROLPLANE !== '1') {
    rmSync(work, { recursive: true, force: true });
    unregisterScratchDir(work);
  }
});

test('flotilla run with no cluster configured runs the demo to convergence and Ctrl-C stops it all', { timeout: 10 * 60_000 }, async () => {
  const home = join(work, 'home');
  const dir = join(work, 'quickstart');
  const configPath = join(work, 'flotilla.yaml');
  // The shipped config, on free loopback ports (other tests run alongside); leader election as shipped.
  writeFileSync(configPath, stringifyYaml(testConfig({ leaderElection: { enabled: true } })));
  const outFile = join(work, 'quickstart.out');
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '', HOME: home, FLOTILLA_CACHE_DIR: flotillaCacheDir() };

  const started = performance.now();
  child = await startProcess({
    name: 'quickstart',
    binary: process.execPath,
    args: [join(REPO_ROOT, 'src/cli/main.ts'), 'run', '--dir', dir, '--config', configPath],
    logFile: outFile,
    env,
  });
  const output = () => readFileSync(outFile, 'utf8');

  const converged = await waitFor(
    () => {
      const text = output();
      const match = /^Converged in ([\d.]+) s: (\d+)\/(\d+) Bundles ready, (\d+) BundleDeployments\.$/m.exec(text);
      if (match) return { text, seconds: Number(match[1]), ready: Number(match[2]), bundles: Number(match[3]), bundleDeployments: Number(match[4]) };
      if (!child!.isRunning()) throw new Error(`the quick start exited before converging:\n${text}`);
      return undefined;
    },
    { timeoutMs: 5 * 60_000, intervalMs: 200, description: `"Converged" in the quick start's output (${outFile})` },
  );
  console.log(`quick start: converged ${((performance.now() - started) / 1000).toFixed(1)} s after launch (${converged.seconds} s after the controller started)`);
  assert.match(converged.text, /^Flotilla quick start: no cluster configured/m);
  // Progress lines came before convergence, in the documented shape.
  assert.match(converged.text, /^Bundles ready \d+\/\d+ · BundleDeployments \d+\/\d+ \(\d+ ready\) · [\d.]+ reconciles\/s$/m);
  assert.equal(converged.ready, converged.bundles);
  assert.equal(converged.bundles, 3, 'the three sample Bundles');

  // Inspect through the printed KUBECONFIG, as the output tells the user to.
  const kubeconfig = /^ {2}export KUBECONFIG=(\S+)$/m.exec(converged.text)?.[1];
  assert.ok(kubeconfig, `a KUBECONFIG line in:\n${converged.text}`);
  admin = new KubeClient({ kubeConfig: loadKubeConfig(kubeconfig), registry: createRegistry({ defaultMetrics: false }) });
  const world = await readWorld(admin);
  const desired = desiredPlacements(world);
  const bds = await listAll(admin, KindResources.BundleDeployment);
  assert.deepEqual(diffPlacements(desired, bds), { missing: [], unexpected: [], duplicates: [], malformed: [] });
  assert.equal(bds.length, converged.bundleDeployments, 'the reported count is the real one');
  assert.equal(bds.length, 7, 'nginx on dev, staging and prod-eu; monitoring on both prod clusters; debug-tools on dev and staging');
  const bundles = await listAll(admin, KindResources.Bundle, { namespace: 'demo' });
  for (const bundle of bundles) assert.equal(conditionOf(bundle, 'Ready')?.status, 'True', `${bundle.metadata.name} Ready`);

  // The control plane's processes, to check they are gone afterwards.
  const state = readFileSync(join(dir, 'quickstart.pid'), 'utf8').trim();
  assert.equal(Number(state), child.pid);
  const componentPids = componentPidsOf(child.pid);
  assert.equal(componentPids.length, 3, 'etcd, kube-apiserver and kube-controller-manager run as children of the quick start');
  assert.ok(componentPids.every(isPidAlive), 'the control plane runs while the quick start does');

  const stopping = performance.now();
  child.signal('SIGINT');
  const status = await child.exited;
  console.log(`quick start: SIGINT to exit ${((performance.now() - stopping) / 1000).toFixed(1)} s`);
  assert.deepEqual(status, { code: 0, signal: null }, `exit status after SIGINT:\n${output().slice(-3000)}`);
  assert.match(output(), /^Stopped\. Logs are kept in /m);
  await waitFor(() => (componentPids.some(isPidAlive) ? undefined : true), { timeoutMs: 10_000, description: 'the control plane processes to be gone' });

  // The controller's log: a graceful, complete shutdown and no errors.
  const log = readFileSync(join(dir, 'flotilla.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: number; msg: string; exitCode?: number });
  assert.deepEqual(log.filter((l) => l.level >= 50).map((l) => l.msg), []);
  assert.equal(log.find((l) => l.msg === 'shutdown complete')?.exitCode, 0);
});

/** The control-plane components this quick start runs: its own children, by binary name (from /proc). */
function componentPidsOf(parent: number): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .filter((pid) => {
      const stat = safeRead(`/proc/${pid}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const binary = safeRead(`/proc/${pid}/cmdline`).split('\0')[0] ?? '';
      return ppid === parent && /\/(etcd|kube-apiserver|kube-controller-manager)$/.test(binary);
    });
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
