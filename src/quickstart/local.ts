/**
 * The quick start (`flotilla run --local`, or `npm start` with no cluster
 * configured): a local management control plane and one local downstream
 * control plane per sample Cluster (downstreams.ts), the CRDs, the shipped
 * RBAC, the demo workspace from config/samples, the controller running in
 * this process as the RBAC-bound user (exactly as `run` runs it against a
 * real cluster), and per Cluster a real agent, registered as `flotilla
 * cluster add` registers it and run as a separate process (agents.ts). A
 * live progress line shows the demo converging (progress.ts).
 *
 * Ctrl-C (SIGINT) or SIGTERM: the progress line stops, the agents get
 * SIGTERM and are awaited, the controller shuts down gracefully (the same
 * Lifecycle as in production), then the control planes are stopped and the
 * process exits 0. A second signal exits at once (the children die with the
 * process either way: exit hook, or the harness's reaper). A failure while
 * starting stops whatever was started.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { API_VERSION, Kind } from '../api/constants.ts';
import { createLogger, type LogFormat } from '../observability/logger.ts';
import type { FlotillaConfig } from '../config/schema.ts';
import { applyManifests, loadKubeConfig } from '../controlplane/manifests.ts';
import { controllerKubeconfig } from '../controlplane/rbac.ts';
import { isPidAlive } from '../controlplane/lock.ts';
import { packagePath } from '../cli/paths.ts';
import { UsageError } from '../cli/args.ts';
import { startController, type RunningController } from '../start-controller.ts';
import { QuickstartAgents } from './agents.ts';
import { convergedMessage } from './converged.ts';
import { startClusters, type QuickstartClusters } from './downstreams.ts';
import { quickstartLogSink } from './log-sink.ts';
import { readKustomization } from './manifests.ts';
import { ProgressDisplay } from './progress.ts';

export interface QuickstartOptions {
  config: FlotillaConfig;
  configPath: string;
  level: FlotillaConfig['log']['level'];
  /** The log files' format (the controller's and the agents'). */
  format?: LogFormat;
  /** Working directory for the control planes, kubeconfigs and logs. */
  dir?: string | undefined;
  out?: NodeJS.WriteStream;
}

const PID_FILE = 'quickstart.pid';

export async function runQuickstart(opts: QuickstartOptions): Promise<number> {
  const out = opts.out ?? process.stdout;
  const tty = out.isTTY === true;
  const print = (line: string) => out.write(`${line}\n`);
  const dir = resolve(opts.dir ?? packagePath('.cache/quickstart'));
  await claimDir(dir);
  const samples = await readKustomization(packagePath('config/samples'));
  const sampleClusters = samples.filter((o) => o.apiVersion === API_VERSION && o.kind === Kind.Cluster);
  const workspace = sampleClusters[0]?.metadata?.namespace ?? 'demo';
  const names = sampleClusters.map((c) => c.metadata?.name ?? '');

  let clusters: QuickstartClusters | undefined;
  let running: RunningController | undefined;
  const agents = new QuickstartAgents();
  try {
    print(`Flotilla quick start: no cluster configured, so starting local ones (working directory ${dir}):`);
    print(`a management cluster, and a downstream cluster for each of the Clusters ${names.join(' and ')}, each with its agent.`);
    print('The first run builds kube-apiserver, kube-controller-manager and etcd with Go (about 8 minutes on 2 cores); later runs start in seconds.');
    clusters = await startClusters(dir, names, (line) => print(`  ${line}`));
    const local = clusters;
    const admin = loadKubeConfig(local.management.adminKubeconfig);
    print('Installing the CRDs (config/crd) and the controller\'s RBAC (config/rbac) …');
    await applyManifests(admin, await readKustomization(packagePath('config/crd')));
    const controllerKubeconfigPath = await controllerKubeconfig(local.management);
    print(`Creating the demo workspace from config/samples (namespace ${workspace}: ${describe(samples)}) …`);
    await applyManifests(admin, samples);

    const logFile = join(dir, 'flotilla.log');
    let progress: ProgressDisplay | undefined;
    const echo = (line: string) => (progress ? progress.say(line) : print(line));
    const logger = createLogger({ level: opts.level, destination: quickstartLogSink(logFile, echo, opts.format) });
    running = await startController({
      config: opts.config,
      configPath: opts.configPath,
      kubeConfig: loadKubeConfig(controllerKubeconfigPath),
      logger,
      stepsBefore: [
        ['stop progress display', () => {
          progress?.stop();
          print('Shutting down: stopping the agents, then the controller gracefully, then the local clusters …');
        }],
        ['stop agents', () => agents.stop()],
      ],
      stepsAfter: [
        ['stop local control planes', async () => {
          await local.stop();
          await rm(join(dir, PID_FILE), { force: true });
          print(`Stopped. Logs are kept in ${dir}.`);
        }],
      ],
    });
    const controller = running;
    const urls = running.manager.addresses.map((a) => a.url);
    print(`Controller running as user flotilla-controller (the shipped RBAC); log: ${logFile}${urls.length ? `; serving ${urls.join(', ')}` : ''}.`);

    print('Registering the Clusters as `flotilla cluster add` does, and starting their agents …');
    await agents.start({
      dir,
      workspace,
      upstream: admin,
      config: opts.config,
      level: opts.level,
      format: opts.format ?? 'json',
      clusters: sampleClusters.map((c) => ({
        cluster: c.metadata?.name ?? '',
        labels: c.metadata?.labels ?? {},
        downstreamKubeconfig: local.downstreams.get(c.metadata?.name ?? '')!.adminKubeconfig,
      })),
      log: (line) => print(`  ${line}`),
    });
    for (const agent of agents.agents) {
      print(`Agent of ${agent.cluster} running (pid ${agent.process.pid}, deployment namespace ${agent.deploymentNamespace}); log: ${agent.logFile}.`);
      void agent.process.exited.then((status) => {
        if (!controller.lifecycle.shuttingDown) echo(`error: the agent of ${agent.cluster} exited (${status.signal ?? `code ${status.code}`}); see ${agent.logFile}.`);
      });
    }

    progress = new ProgressDisplay({
      placement: running.placement,
      registry: running.manager.registry,
      write: (text) => out.write(text),
      tty,
      onConverged: (s, ms) =>
        convergedMessage(s, ms, {
          managementKubeconfig: local.management.adminKubeconfig,
          downstreamKubeconfigs: new Map([...local.downstreams].map(([name, cp]) => [name, cp.adminKubeconfig])),
          workspace,
          logs: { controller: logFile, agents: agents.agents.map((a) => a.logFile).sort() },
        }),
    });
    progress.start();
    return 0;
  } catch (error) {
    if (running) {
      // The controller's Lifecycle stops the agents, the controller and the control planes, then exits 1.
      print(`error: the quick start failed: ${error instanceof Error ? error.message : String(error)}`);
      await running.lifecycle.shutdown('quick start failed', { exitCode: 1 });
      return 1;
    }
    await agents.stop();
    await clusters?.stop();
    await rm(join(dir, PID_FILE), { force: true });
    throw error;
  }
}

/** "2 Clusters, 1 ClusterGroup, 3 Bundles" */
function describe(objects: readonly KubernetesObject[]): string {
  const counts = new Map<string, number>();
  for (const o of objects) if (o.apiVersion === API_VERSION && o.kind) counts.set(o.kind, (counts.get(o.kind) ?? 0) + 1);
  return [...counts].map(([kind, n]) => `${n} ${kind}${n === 1 ? '' : 's'}`).join(', ');
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
