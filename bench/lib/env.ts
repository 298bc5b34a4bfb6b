/**
 * Where a benchmark runs: its own local control plane (src/controlplane
 * harness, CRDs, the controller's RBAC from config/rbac), or an existing
 * cluster given by `--kubeconfig` (CRDs applied; every system then runs as
 * that kubeconfig's user, since client certificates cannot be minted for it).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRegistry } from '../../src/observability/metrics.ts';
import { KubeClient } from '../../src/runtime/kube/client.ts';
import { BENCH_TOOL_TRANSPORT } from './api-transport.ts';
import { applyManifests, loadKubeConfig } from '../../src/controlplane/manifests.ts';
import type { KubeConfig } from '@kubernetes/client-node';
import { REPO_ROOT, startPlacementEnv } from '../../test/support/flotilla.ts';
import type { ControlPlane } from '../../src/controlplane/harness.ts';
import { scrapeApiServerRequests, type RequestCounts } from './agents.ts';
import { cpuSnapshot, type CpuSnapshot } from './proc-stats.ts';

/**
 * What a system costs the shared control plane: the kube-apiserver's and
 * etcd's CPU (their /proc, when the benchmark started them) and the
 * requests the API server counted (its own `apiserver_request_total`, read
 * with the admin credentials).
 */
export interface ControlPlaneProbe {
  /** CPU of `kube-apiserver` and `etcd` now; empty with --kubeconfig (not our processes). */
  cpu(): CpuSnapshot;
  /** apiserver_request_total by "VERB resource[/subresource]"; undefined when /metrics cannot be read. */
  requests(): Promise<RequestCounts | undefined>;
}

function controlPlaneProbe(kc: KubeConfig, cp: ControlPlane | undefined): ControlPlaneProbe {
  return {
    cpu() {
      if (!cp) return {};
      // Read the pids each time: the harness can restart the API server.
      const pids = Object.fromEntries(cp.state().processes.filter((p) => p.name === 'kube-apiserver' || p.name === 'etcd').map((p) => [p.name, p.pid]));
      return cpuSnapshot({ 'kube-apiserver': pids['kube-apiserver'], etcd: pids.etcd });
    },
    requests: () => scrapeApiServerRequests(kc).catch(() => undefined),
  };
}

export interface BenchEnv {
  /** Admin client for seeding, resetting and observing. */
  admin: KubeClient;
  /** The admin credentials (registration, API server /metrics). */
  adminKubeConfig: KubeConfig;
  /** Kubeconfig every system under test runs with. */
  systemKubeconfig: string;
  systemUser: string;
  kubernetesVersion: string;
  etcdVersion: string;
  controlPlane: ControlPlaneProbe;
  stop(): Promise<void>;
}

/**
 * `tokenController`: run kube-controller-manager with only the service-account
 * token controller (label-flip --agents: registering a Cluster mints the
 * agent's token). Only that one: the garbage collector would watch every
 * object of the 30,000 seeded ones and compete for the 2 cores.
 */
export async function startBenchEnv(options: { kubeconfig?: string | undefined; log: (line: string) => void; tokenController?: boolean }): Promise<BenchEnv> {
  if (options.kubeconfig) {
    const kc = loadKubeConfig(options.kubeconfig);
    const crdDir = join(REPO_ROOT, 'config/crd/bases');
    const crds = readdirSync(crdDir).filter((f) => f.endsWith('.yaml')).sort().map((f) => readFileSync(join(crdDir, f), 'utf8')).join('\n---\n');
    await applyManifests(kc, crds);
    const admin = new KubeClient({ kubeConfig: kc, registry: createRegistry({ defaultMetrics: false }), userAgent: 'flotilla-bench', transport: BENCH_TOOL_TRANSPORT });
    const version = await admin.request<{ gitVersion?: string }>({ verb: 'get', method: 'GET', path: '/version', resource: 'version' });
    return {
      admin,
      adminKubeConfig: kc,
      systemKubeconfig: options.kubeconfig,
      systemUser: `${kc.getCurrentUser()?.name ?? '?'} (from --kubeconfig)`,
      kubernetesVersion: version.gitVersion ?? 'unknown',
      etcdVersion: 'unknown',
      controlPlane: controlPlaneProbe(kc, undefined),
      stop: () => admin.close(),
    };
  }
  options.log('starting the local control plane (etcd + kube-apiserver)');
  const env = await startPlacementEnv(options.tokenController ? { controllerManager: true, controllers: ['serviceaccount-token-controller'] } : {});
  return {
    admin: env.admin,
    adminKubeConfig: env.adminKubeConfig,
    systemKubeconfig: env.controllerKubeconfig,
    systemUser: 'flotilla-controller (config/rbac)',
    kubernetesVersion: env.cp.kubernetesVersion,
    etcdVersion: env.cp.etcdVersion,
    controlPlane: controlPlaneProbe(env.adminKubeConfig, env.cp),
    stop: () => env.stop(),
  };
}
