/**
 * The quick start's agents: each sample Cluster is registered the way
 * `flotilla cluster add` registers it (`registerCluster`: the Cluster, its
 * deployment namespace from the controller, the agent's identity and token
 * upstream), and its agent runs here as a separate `flotilla agent` process
 * against the local downstream API server, with the minted credentials. Its
 * JSON log goes to `agent-<cluster>.log` in the quick-start directory.
 *
 * The processes run in their own session, so a terminal's Ctrl-C reaches
 * only the quick start, which stops them (SIGTERM, awaited) before the
 * controller; they are still killed if the quick start dies.
 */
import { writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubeConfig } from '@kubernetes/client-node';
import { stringify as stringifyYaml } from 'yaml';
import type { FlotillaConfig } from '../config/schema.ts';
import { startProcess, type ManagedProcess } from '../controlplane/processes.ts';
import { registerCluster } from '../registration/cluster-add.ts';
import { DEFAULT_AGENT_NAMESPACE } from '../registration/names.ts';

export interface AgentSpec {
  cluster: string;
  labels: Record<string, string>;
  /** Admin kubeconfig of the cluster's downstream API server. */
  downstreamKubeconfig: string;
}

export interface QuickstartAgent {
  cluster: string;
  deploymentNamespace: string;
  logFile: string;
  process: ManagedProcess;
}

export interface AgentsOptions {
  dir: string;
  workspace: string;
  upstream: KubeConfig;
  config: FlotillaConfig;
  level: string;
  format: string;
  clusters: readonly AgentSpec[];
  log: (line: string) => void;
}

/** Bound on a stopping agent; then SIGKILL. Its own graceful shutdown takes well under a second here. */
const AGENT_STOP_GRACE_MS = 10_000;

// The running CLI's entry point: main.ts from source, main.js when built.
const CLI_MAIN = fileURLToPath(new URL(`../cli/main${extname(fileURLToPath(import.meta.url))}`, import.meta.url));

export class QuickstartAgents {
  readonly agents: QuickstartAgent[] = [];

  /** Registers every Cluster (in parallel) and starts its agent. On a failure the caller still calls stop(). */
  async start(opts: AgentsOptions): Promise<void> {
    const configFile = join(opts.dir, 'agent.yaml');
    await writeFile(configFile, stringifyYaml(agentConfig(opts.config)));
    await Promise.all(
      opts.clusters.map(async (spec) => {
        const registered = await registerCluster({
          name: spec.cluster,
          workspace: opts.workspace,
          upstream: opts.upstream,
          labels: spec.labels,
          agentNamespace: DEFAULT_AGENT_NAMESPACE,
          image: 'unused (the agent runs locally)',
          timeoutMs: 60_000,
          log: (line) => opts.log(`[${spec.cluster}] ${line}`),
        });
        const upstreamKubeconfig = join(opts.dir, `agent-${spec.cluster}.upstream.kubeconfig`);
        await writeFile(upstreamKubeconfig, registered.upstreamKubeconfig, { mode: 0o600 });
        const logFile = join(opts.dir, `agent-${spec.cluster}.log`);
        const process = await startProcess({
          name: `agent-${spec.cluster}`,
          binary: globalThis.process.execPath,
          args: [
            CLI_MAIN, 'agent',
            '--kubeconfig', spec.downstreamKubeconfig,
            '--upstream-kubeconfig', upstreamKubeconfig,
            '--namespace', registered.deploymentNamespace,
            '--config', configFile,
            '--log-level', opts.level,
            '--log-format', opts.format,
          ],
          logFile,
          detached: true,
        });
        this.agents.push({ cluster: spec.cluster, deploymentNamespace: registered.deploymentNamespace, logFile, process });
      }),
    );
  }

  /** The agents that exited while they should run. */
  exited(): QuickstartAgent[] {
    return this.agents.filter((a) => !a.process.isRunning());
  }

  /** SIGTERM to every agent, awaited (SIGKILL after a bound). */
  async stop(): Promise<void> {
    await Promise.all(this.agents.map((a) => a.process.stop({ signal: 'SIGTERM', graceMs: AGENT_STOP_GRACE_MS })));
  }
}

/**
 * The quick start's own config with what a local agent beside the
 * controller needs: one replica (no leader election), no metrics or health
 * servers (they would contend for the controller's ports).
 */
export function agentConfig(config: FlotillaConfig): FlotillaConfig {
  return {
    ...config,
    leaderElection: { ...config.leaderElection, enabled: false },
    metrics: { ...config.metrics, bindAddress: '0' },
    health: { ...config.health, bindAddress: '0' },
  };
}
