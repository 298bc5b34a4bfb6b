/**
 * The quick start (`flotilla run --local`, or `npm start` with no cluster
 * configured): a local control plane, the CRDs, the shipped RBAC, the demo
 * workspace from config/samples, and the controller running in this
 * process as the RBAC-bound user, exactly as `run` runs it against a real
 * cluster. A live progress line shows the demo converging.
 *
 * Ctrl-C (SIGINT) or SIGTERM: the controller shuts down gracefully (the
 * same Lifecycle as in production), then the control plane is stopped and
 * the process exits 0. A second signal exits at once (the control plane
 * dies with the process either way: exit hook, or the harness's reaper).
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createRegistry } from '../observability/metrics.ts';
import { createLogger } from '../observability/logger.ts';
import type { FlotillaConfig } from '../config/schema.ts';
import { startControlPlane, type ControlPlane } from '../controlplane/harness.ts';
import { applyManifests, loadKubeConfig } from '../controlplane/manifests.ts';
import { controllerKubeconfig } from '../controlplane/rbac.ts';
import { isPidAlive } from '../controlplane/lock.ts';
import { KubeClient } from '../runtime/kube/client.ts';
import { packagePath } from '../cli/paths.ts';
import { UsageError } from '../cli/args.ts';
import { startController } from '../start-controller.ts';
import { DemoAgent } from './demo-agent.ts';
import { quickstartLogSink } from './log-sink.ts';
import { readKustomization } from './manifests.ts';
import { ProgressDisplay, type Snapshot } from './progress.ts';

export interface QuickstartOptions {
  config: FlotillaConfig;
  configPath: string;
  level: FlotillaConfig['log']['level'];
  /** Working directory for the control plane, kubeconfigs and logs. */
  dir?: string | undefined;
  /** Run the demo agent that reports BundleDeployments as applied. */
  demoAgent: boolean;
  out?: NodeJS.WriteStream;
}

const PID_FILE = 'quickstart.pid';

export async function runQuickstart(opts: QuickstartOptions): Promise<number> {
  const out = opts.out ?? process.stdout;
  const tty = out.isTTY === true;
  const print = (line: string) => out.write(`${line}\n`);
  const dir = resolve(opts.dir ?? packagePath('.cache/quickstart'));
  await claimDir(dir);

  let cp: ControlPlane | undefined;
  try {
    print(`Flotilla quick start: no cluster configured, so starting a local one (working directory ${dir}).`);
    print('The first run builds kube-apiserver, kube-controller-manager and etcd with Go (about 8 minutes on 2 cores); later runs start in seconds.');
    cp = await startControlPlane({ dir, ownSession: true, log: (line) => print(`  [controlplane] ${line}`) });
    const admin = loadKubeConfig(cp.adminKubeconfig);
    print('Installing the CRDs (config/crd) and the controller\'s RBAC (config/rbac) …');
    await applyManifests(admin, await readKustomization(packagePath('config/crd')));
    const controllerKubeconfigPath = await controllerKubeconfig(cp);
    print('Creating the demo workspace from config/samples (namespace demo: 4 Clusters, 1 ClusterGroup, 3 Bundles) …');
    await applyManifests(admin, await readKustomization(packagePath('config/samples')));

    const logFile = join(dir, 'flotilla.log');
    let progress: ProgressDisplay | undefined;
    const echo = (line: string) => (progress ? progress.say(line) : print(line));
    const logger = createLogger({ level: opts.level, destination: quickstartLogSink(logFile, echo) });

    // The demo agent is a separate client with the admin's credentials:
    // agents are not the controller and do not share its RBAC or metrics.
    const agentClient = new KubeClient({ kubeConfig: admin, registry: createRegistry({ defaultMetrics: false }), logger: logger.child({ component: 'demo-agent' }) });
    let agent: DemoAgent | undefined;
    const controlPlane = cp;
    const running = await startController({
      config: opts.config,
      configPath: opts.configPath,
      kubeConfig: loadKubeConfig(controllerKubeconfigPath),
      logger,
      stepsBefore: [
        ['stop progress display', () => {
          progress?.stop();
          print('Shutting down: stopping the controller gracefully, then the local control plane …');
        }],
        ['stop demo agent', async () => {
          await agent?.stop();
          await agentClient.close();
        }],
      ],
      stepsAfter: [
        ['stop local control plane', async () => {
          await controlPlane.stop();
          await rm(join(dir, PID_FILE), { force: true });
          print(`Stopped. Logs are kept in ${dir}.`);
        }],
      ],
    });

    const urls = running.manager.addresses.map((a) => a.url);
    print(`Controller running as user flotilla-controller (the shipped RBAC); log: ${logFile}${urls.length ? `; serving ${urls.join(', ')}` : ''}.`);
    if (opts.demoAgent) {
      agent = new DemoAgent({ client: agentClient, store: running.placement.bundleDeployments.store, logger: logger.child({ component: 'demo-agent' }) });
      agent.start();
      print('A demo agent reports each BundleDeployment as applied and ready (there are no downstream clusters; nothing is deployed anywhere).');
    }
    progress = new ProgressDisplay({
      placement: running.placement,
      registry: running.manager.registry,
      write: (text) => out.write(text),
      tty,
      expectReady: opts.demoAgent,
      onConverged: (s, ms) => convergedMessage(s, ms, controlPlane.adminKubeconfig),
    });
    progress.start();
    return 0;
  } catch (error) {
    await cp?.stop();
    await rm(join(dir, PID_FILE), { force: true });
    throw error;
  }
}

function convergedMessage(s: Snapshot, elapsedMs: number, kubeconfig: string): string {
  return [
    `Converged in ${(elapsedMs / 1000).toFixed(1)} s: ${s.bundlesReady}/${s.bundles} Bundles ready, ${s.bundleDeployments} BundleDeployments.`,
    'Inspect it (kubectl):',
    `  export KUBECONFIG=${kubeconfig}`,
    '  kubectl get bundles,clusters,clustergroups -n demo',
    '  kubectl get bundledeployments -A',
    'Change a Cluster\'s labels (e.g. kubectl label cluster -n demo staging-eu-1 env=prod --overwrite) and watch it converge again.',
    'Press Ctrl-C to stop: the controller shuts down gracefully, then the control plane.',
  ].join('\n');
}

/** One quick start per directory: a second would fight over its kubeconfigs and logs. */
async function claimDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const pidFile = join(dir, PID_FILE);
  if (existsSync(pidFile)) {
    const pid = Number.parseInt(readFileSync(pidFile, 'utf8'), 10);
    if (Number.isInteger(pid) && pid !== process.pid && isPidAlive(pid)) {
      throw new UsageError(`Another quick start (pid ${pid}) is running in ${dir}; stop it first, or pass --dir DIR for a separate one.`);
    }
  }
  await writeFile(pidFile, `${process.pid}\n`);
}
