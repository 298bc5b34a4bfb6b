/**
 * The quick start as a new user meets it: `flotilla run` (what `npm start`
 * runs) on a machine with no kubeconfig starts the local management control
 * plane and two downstream ones, installs the CRDs and RBAC, creates the
 * demo workspace from config/samples, runs the controller, registers both
 * sample Clusters as `flotilla cluster add` does and runs their agents as
 * separate processes; the agents really apply the demo Bundles to the
 * downstream API servers. It reports convergence with the KUBECONFIGs to
 * inspect each cluster, and on Ctrl-C (SIGINT) shuts everything down and
 * exits 0, leaving no process behind.
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
import type { ResourceType } from '../../src/runtime/kube/resource.ts';
import { waitFor } from '../../src/util/wait.ts';
import { conditionOf, listAll, readWorld, REPO_ROOT, testConfig } from '../support/flotilla.ts';
import { loadKubeConfig } from '../support/kube.ts';
import { desiredPlacements, diffPlacements } from '../support/oracle.ts';
import { levelAtLeast } from '../../src/observability/logger.ts';

const work = mkdtempSync(join(tmpdir(), 'flotilla-quickstart-'));
if (process.env.FLOTILLA_KEEP_CONTROLPLANE !== '1') registerScratchDir(work);
let child: ManagedProcess | undefined;
let admin: KubeClient | undefined;
const downstreamClients: KubeClient[] = [];

after(async () => {
  await admin?.close();
  await Promise.all(downstreamClients.map((c) => c.close()));
  await child?.stop({ signal: 'SIGKILL', graceMs: 1000 });
  if (process.env.FLOTILLA_KEEP_CONTROLPLANE !== '1') {
    rmSync(work, { recursive: true, force: true });
    unregisterScratchDir(work);
  }
});

test('flotilla run with no cluster configured deploys the demo to two local clusters with real agents, and Ctrl-C stops it all', { timeout: 10 * 60_000 }, async () => {
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
      const match = /^Converged in ([\d.]+) s: (\d+)\/(\d+) BundleDeployments applied by the agents of (\d+) Clusters \((.*)\)\.$/m.exec(text);
      if (match) return { text, seconds: Number(match[1]), applied: Number(match[2]), bundleDeployments: Number(match[3]), clusters: Number(match[4]), readiness: match[5] };
      if (!child!.isRunning()) throw new Error(`the quick start exited before converging:\n${text}`);
      return undefined;
    },
    { timeoutMs: 5 * 60_000, intervalMs: 200, description: `"Converged" in the quick start's output (${outFile})` },
  );
  console.log(`quick start: converged ${((performance.now() - started) / 1000).toFixed(1)} s after launch (${converged.seconds} s after the agents started)`);
  assert.match(converged.text, /^Flotilla quick start: no cluster configured/m);
  // Progress lines came before convergence, in the documented shape.
  assert.match(converged.text, /^prod-eu-1: \d+\/\d+ ready, agent (?:connected|not connected yet) · staging-eu-1: \d+\/\d+ ready, agent (?:connected|not connected yet) · BundleDeployments \d+\/\d+ applied · [\d.]+ reconciles\/s$/m);
  assert.equal(converged.clusters, 2);
  assert.equal(converged.applied, converged.bundleDeployments);
  assert.equal(converged.bundleDeployments, 4, 'web on both clusters, monitoring on prod-eu-1, debug-tools on staging-eu-1');
  // prod-eu-1: web (Namespace, ConfigMap, Deployment, Service) + monitoring (Namespace, CRD, 2 ScrapeTargets, ConfigMap);
  // staging-eu-1: web + debug-tools (Namespace, ConfigMap, Service). All but the Deployments are ready.
  assert.equal(converged.readiness, 'prod-eu-1: 8/9 resources ready, staging-eu-1: 6/7 resources ready');
  assert.match(converged.text, /^Deployment web\/nginx stays not ready on prod-eu-1 and staging-eu-1 \(the agent reports "[^"]+"\): the local downstream clusters have no nodes/m);

  // The management cluster, through the printed KUBECONFIG, as the output tells the user.
  const kubeconfig = /^ {2}export KUBECONFIG=(\S+)$/m.exec(converged.text)?.[1];
  assert.ok(kubeconfig, `a KUBECONFIG line in:\n${converged.text}`);
  admin = new KubeClient({ kubeConfig: loadKubeConfig(kubeconfig), registry: createRegistry({ defaultMetrics: false }) });
  const world = await readWorld(admin);
  const desired = desiredPlacements(world);
  const bds = await listAll(admin, KindResources.BundleDeployment);
  assert.deepEqual(diffPlacements(desired, bds), { missing: [], unexpected: [], duplicates: [], malformed: [] });
  assert.equal(bds.length, converged.bundleDeployments, 'the reported count is the real one');
  for (const bd of bds) {
    const status = bd.status as { appliedDeploymentID?: string; nonReadyResources?: Array<{ kind: string; namespace?: string; name: string; message?: string }> };
    const where = `${bd.metadata.namespace}/${bd.metadata.name}`;
    assert.equal(status.appliedDeploymentID, (bd.spec as { deploymentID: string }).deploymentID, `${where} applied`);
    assert.equal(conditionOf(bd, 'Applied')?.status, 'True', `${where} Applied`);
    if (bd.metadata.labels?.['flotilla.dev/bundle-name'] === 'web') {
      const ready = conditionOf(bd, 'Ready');
      assert.equal(ready?.status, 'False', `${where} Ready`);
      assert.equal(ready?.reason, 'NotReady');
      assert.match(ready?.message ?? '', /Deployment web\/nginx/);
      const deployment = status.nonReadyResources?.find((r) => r.kind === 'Deployment');
      assert.equal(`${deployment?.namespace}/${deployment?.name}`, 'web/nginx', `${where} lists the Deployment as not ready`);
      assert.ok(deployment?.message, 'with the reason');
    } else {
      assert.equal(conditionOf(bd, 'Ready')?.status, 'True', `${where} Ready`);
    }
  }
  const clusters = await listAll(admin, KindResources.Cluster, { namespace: 'demo' });
  assert.deepEqual(clusters.map((c) => c.metadata.name).sort(), ['prod-eu-1', 'staging-eu-1']);
  for (const cluster of clusters) assert.equal(conditionOf(cluster, 'AgentConnected')?.status, 'True', `${cluster.metadata.name} AgentConnected`);

  // Each downstream cluster, through its printed KUBECONFIG: what its agent really applied.
  const downstreamKubeconfigs = new Map(
    [...converged.text.matchAll(/^ {2}export KUBECONFIG=(\S+\/downstream-([\w-]+)\/admin\.kubeconfig); kubectl get /gm)].map((m) => [m[2]!, m[1]!]),
  );
  assert.deepEqual([...downstreamKubeconfigs.keys()].sort(), ['prod-eu-1', 'staging-eu-1']);
  const expected: Record<string, Array<[ResourceType, string, string | undefined]>> = {
    'prod-eu-1': [...WEB, [CRD, 'scrapetargets.monitoring.demo.flotilla.dev', undefined], [SCRAPE_TARGET, 'web', 'monitoring'], [SCRAPE_TARGET, 'apiserver', 'monitoring'], [CONFIG_MAP, 'scrape-config', 'monitoring']],
    'staging-eu-1': [...WEB, [CONFIG_MAP, 'debug-scripts', 'debug'], [SERVICE, 'echo', 'debug']],
  };
  const absent: Record<string, Array<[ResourceType, string, string | undefined]>> = {
    'prod-eu-1': [[CONFIG_MAP, 'debug-scripts', 'debug']],
    'staging-eu-1': [[CRD, 'scrapetargets.monitoring.demo.flotilla.dev', undefined]],
  };
  for (const [cluster, path] of downstreamKubeconfigs) {
    const client = new KubeClient({ kubeConfig: loadKubeConfig(path), registry: createRegistry({ defaultMetrics: false }) });
    downstreamClients.push(client);
    for (const [type, name, namespace] of expected[cluster]!) {
      const object = await client.get(type, name, namespace);
      assert.ok(object.metadata.labels?.['applyset.kubernetes.io/part-of'], `${cluster}: ${type.kind} ${namespace ?? ''}/${name} is an ApplySet member`);
    }
    for (const [type, name, namespace] of absent[cluster]!) {
      await assert.rejects(client.get(type, name, namespace), (error: unknown) => /404|not found/i.test(String(error)), `${cluster}: no ${type.kind} ${name} (not targeted)`);
    }
  }

  // The processes, to check they are gone afterwards: 3 components upstream, 2 per downstream, 2 agents.
  const state = readFileSync(join(dir, 'quickstart.pid'), 'utf8').trim();
  assert.equal(Number(state), child.pid);
  const componentPids = childPidsOf(child.pid, /\/(etcd|kube-apiserver|kube-controller-manager)$/);
  assert.equal(componentPids.length, 7, 'etcd, kube-apiserver and kube-controller-manager upstream, etcd and kube-apiserver per downstream, as children of the quick start');
  const agentPids = childPidsOf(child.pid, /^agent$/, 2);
  assert.equal(agentPids.length, 2, 'one agent process per downstream cluster');
  const all = [...componentPids, ...agentPids];
  assert.ok(all.every(isPidAlive), 'they run while the quick start does');

  const stopping = performance.now();
  child.signal('SIGINT');
  const status = await child.exited;
  console.log(`quick start: SIGINT to exit ${((performance.now() - stopping) / 1000).toFixed(1)} s`);
  assert.deepEqual(status, { code: 0, signal: null }, `exit status after SIGINT:\n${output().slice(-3000)}`);
  assert.match(output(), /^Stopped\. Logs are kept in /m);
  await waitFor(() => (all.some(isPidAlive) ? undefined : true), { timeoutMs: 10_000, description: 'the control planes and agents to be gone' });

  // The controller's and the agents' logs: a graceful, complete shutdown and no errors.
  for (const file of ['flotilla.log', 'agent-prod-eu-1.log', 'agent-staging-eu-1.log']) {
    const log = readFileSync(join(dir, file), 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: string; msg: string; exitCode?: number });
    assert.deepEqual(log.filter((l) => levelAtLeast(l.level, 'error')).map((l) => l.msg), [], file);
    assert.equal(log.find((l) => l.msg === 'shutdown complete')?.exitCode, 0, `${file}: shutdown complete`);
  }
});

const CONFIG_MAP: ResourceType = { group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true };
const SERVICE: ResourceType = { group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true };
const DEPLOYMENT: ResourceType = { group: 'apps', version: 'v1', kind: 'Deployment', plural: 'deployments', namespaced: true };
const CRD: ResourceType = { group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition', plural: 'customresourcedefinitions', namespaced: false };
const SCRAPE_TARGET: ResourceType = { group: 'monitoring.demo.flotilla.dev', version: 'v1', kind: 'ScrapeTarget', plural: 'scrapetargets', namespaced: true };
const WEB: Array<[ResourceType, string, string | undefined]> = [[CONFIG_MAP, 'nginx-config', 'web'], [SERVICE, 'nginx', 'web'], [DEPLOYMENT, 'nginx', 'web']];

/**
 * This quick start's own child processes (from /proc): a control-plane
 * component by its binary's path, an agent by its CLI command
 * (`node …/main.ts agent …`: argument `argIndex` of its command line).
 */
function childPidsOf(parent: number, pattern: RegExp, argIndex = 0): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .filter((pid) => {
      const stat = safeRead(`/proc/${pid}/stat`);
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const arg = safeRead(`/proc/${pid}/cmdline`).split('\0')[argIndex] ?? '';
      return ppid === parent && pattern.test(arg);
    });
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
