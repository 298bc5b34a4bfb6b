/**
 * Test tooling: one management control plane running the controller (as its
 * RBAC-bound user) and N downstream control planes, with Clusters
 * registered the way `flotilla cluster add` registers them and agents
 * started as separate `flotilla agent` processes with the credentials the
 * registration minted. Nothing is simulated: the agents apply to real API
 * servers and report to the real management cluster.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlPlane, type ControlPlane } from '../../src/controlplane/harness.ts';
import { registerScratchDir } from '../../src/controlplane/processes.ts';
import { createRegistry } from '../../src/observability/metrics.ts';
import { registerCluster } from '../../src/registration/cluster-add.ts';
import { DEFAULT_AGENT_NAMESPACE } from '../../src/registration/names.ts';
import { KubeClient } from '../../src/runtime/kube/client.ts';
import { createWorkspace, startFlotilla, startPlacementEnv, type ConfigOverrides, type FlotillaProcess, type PlacementEnv } from './flotilla.ts';
import { loadKubeConfig } from './kube.ts';

export interface Downstream {
  cp: ControlPlane;
  /** Admin client of the downstream API server. */
  client: KubeClient;
  kubeconfig: string;
}

export interface RegisteredAgent {
  cluster: string;
  namespace: string;
  upstreamKubeconfig: string;
  downstream: Downstream;
  process?: FlotillaProcess;
}

export interface AgentWorld {
  env: PlacementEnv;
  controller: FlotillaProcess;
  downstreams: Downstream[];
  workspace: string;
  /** Registers Cluster `name` for downstream `index`, as `cluster add` does (upstream identity, token). */
  addCluster(name: string, index: number, labels?: Record<string, string>): Promise<RegisteredAgent>;
  /** Starts (or restarts) the agent process of a registered Cluster. */
  startAgent(agent: RegisteredAgent, config?: ConfigOverrides): Promise<FlotillaProcess>;
  stop(): Promise<void>;
}

/** Agents beat fast in tests, so connection changes show within seconds. */
export const TEST_AGENT_CONFIG: ConfigOverrides = { agent: { heartbeatIntervalSeconds: 1, heartbeatLeaseDurationSeconds: 4 } };

export async function startAgentWorld(opts: { downstreams: number; workspace?: string; controller?: ConfigOverrides }): Promise<AgentWorld> {
  const workspace = opts.workspace ?? 'fleet';
  // kube-controller-manager upstream: the token controller fills the agents' token Secrets.
  const env = await startPlacementEnv({ controllerManager: true });
  const downstreams: Downstream[] = [];
  const agents: FlotillaProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'agent-world-'));
  registerScratchDir(dir);
  try {
    const started = await Promise.allSettled(
      Array.from({ length: opts.downstreams }, () => startControlPlane({ controllerManager: false })),
    );
    for (const s of started) {
      if (s.status === 'rejected') throw s.reason;
      const cp = s.value;
      downstreams.push({
        cp,
        kubeconfig: cp.adminKubeconfig,
        client: new KubeClient({ kubeConfig: loadKubeConfig(cp.adminKubeconfig), registry: createRegistry({ defaultMetrics: false }), userAgent: 'flotilla-test' }),
      });
    }
    const controller = await env.startFlotilla({ config: opts.controller ?? {} });
    await controller.waitForReady();
    await createWorkspace(env.admin, workspace);
    return {
      env,
      controller,
      downstreams,
      workspace,
      async addCluster(name, index, labels = {}) {
        const downstream = downstreams[index];
        if (!downstream) throw new Error(`no downstream ${index}`);
        const registered = await registerCluster({
          name,
          workspace,
          upstream: env.adminKubeConfig,
          labels,
          agentNamespace: DEFAULT_AGENT_NAMESPACE,
          image: 'flotilla:test',
          timeoutMs: 60_000,
          log: () => {},
        });
        const upstreamKubeconfig = join(dir, `${name}.upstream.kubeconfig`);
        writeFileSync(upstreamKubeconfig, registered.upstreamKubeconfig, { mode: 0o600 });
        return { cluster: name, namespace: registered.deploymentNamespace, upstreamKubeconfig, downstream };
      },
      async startAgent(agent, config = {}) {
        const proc = await startFlotilla({
          command: 'agent',
          name: `agent-${agent.cluster}`,
          kubeconfig: agent.downstream.kubeconfig,
          args: ['--upstream-kubeconfig', agent.upstreamKubeconfig, '--namespace', agent.namespace],
          config: { ...TEST_AGENT_CONFIG, ...config },
        });
        agents.push(proc);
        agent.process = proc;
        return proc;
      },
      async stop() {
        for (const proc of agents) if (proc.isRunning()) await proc.stop({ graceMs: 10_000 }).catch(() => undefined);
        await Promise.allSettled(downstreams.map(async (d) => {
          await d.client.close();
          await d.cp.stop();
        }));
        await env.stop();
      },
    };
  } catch (error) {
    await Promise.allSettled(downstreams.map((d) => d.cp.stop()));
    await env.stop();
    throw error;
  }
}
