/**
 * The downstream half of `label-flip --agents`: one more local control plane
 * (the `flip` cluster's own API server, no kube-controller-manager), the
 * Cluster registered the way `flotilla cluster add` does it (upstream
 * ServiceAccount, token from the management plane's token controller, its
 * kubeconfig written to a file), a config file for a real `flotilla agent`
 * process, the benchmark's own label-selected view of what was applied
 * downstream, and write counts read from each API server's own
 * `apiserver_request_total`.
 *
 * Written for the benchmark (it does not import test/): the same steps as
 * test/support/agent-world.ts, in the benchmark's terms.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { startControlPlane, type ControlPlane } from '../../src/controlplane/harness.ts';
import { loadKubeConfig } from '../../src/controlplane/manifests.ts';
import { registerScratchDir } from '../../src/controlplane/processes.ts';
import { createRegistry } from '../../src/observability/metrics.ts';
import { registerCluster } from '../../src/registration/cluster-add.ts';
import { DEFAULT_AGENT_NAMESPACE } from '../../src/registration/names.ts';
import { ApplySetKeys } from '../../src/agent/apply/types.ts';
import { ApiError } from '../../src/runtime/errors.ts';
import { KubeClient } from '../../src/runtime/kube/client.ts';
import { BENCH_TOOL_TRANSPORT } from './api-transport.ts';
import { Reflector } from '../../src/runtime/informer/reflector.ts';
import { Store } from '../../src/runtime/informer/store.ts';
import { builtinTypes, type KubeObject } from '../../src/runtime/kube/resource.ts';
import { launchSystem, type SystemProcess } from './launch.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const AGENT_NAMESPACE = DEFAULT_AGENT_NAMESPACE;
/** Where the Bundles' ConfigMaps land downstream (they name no namespace). */
export const MEMBER_NAMESPACE = 'default';

/** The agent settings of the run: what the benchmark puts in the agent's config file. */
export interface AgentSettings {
  /** `agent.downstreamQps` (0 = unlimited) and burst. */
  downstreamQps: number;
  downstreamBurst: number;
  /** `api.qps` (upstream; 0 = unlimited) and burst. */
  upstreamQps: number;
  upstreamBurst: number;
  /** `concurrency.maxConcurrentReconciles` of the agent. */
  concurrency: number;
}

export interface Downstream {
  cp: ControlPlane;
  admin: KubeClient;
  adminKubeConfig: KubeConfig;
  kubeconfigPath: string;
  stop(): Promise<void>;
}

export async function startDownstream(log: (line: string) => void): Promise<Downstream> {
  log('starting the flip cluster\'s downstream control plane (etcd + kube-apiserver)');
  const cp = await startControlPlane({ controllerManager: false });
  const kc = loadKubeConfig(cp.adminKubeconfig);
  const admin = new KubeClient({ kubeConfig: kc, registry: createRegistry({ defaultMetrics: false }), userAgent: 'flotilla-bench', transport: BENCH_TOOL_TRANSPORT });
  return {
    cp,
    admin,
    adminKubeConfig: kc,
    kubeconfigPath: cp.adminKubeconfig,
    async stop() {
      await admin.close();
      await cp.stop();
    },
  };
}

/** `flotilla cluster add` minus the downstream install: returns the agent's upstream kubeconfig file and deployment namespace. */
export async function registerFlipCluster(upstream: KubeConfig, workspace: string, cluster: string, labels: Record<string, string>): Promise<{ upstreamKubeconfig: string; deploymentNamespace: string; dir: string }> {
  const registered = await registerCluster({
    name: cluster,
    workspace,
    upstream,
    labels,
    agentNamespace: AGENT_NAMESPACE,
    image: 'flotilla:bench',
    timeoutMs: 120_000,
    log: () => {},
  });
  const dir = mkdtempSync(join(tmpdir(), 'bench-agent-'));
  if (process.env.FLOTILLA_KEEP_CONTROLPLANE !== '1') registerScratchDir(dir);
  const upstreamKubeconfig = join(dir, `${cluster}.upstream.kubeconfig`);
  writeFileSync(upstreamKubeconfig, registered.upstreamKubeconfig, { mode: 0o600 });
  return { upstreamKubeconfig, deploymentNamespace: registered.deploymentNamespace, dir };
}

/** The shipped config/flotilla.yaml with loopback ports, no leader election, and the run's agent settings. */
export function agentConfigYaml(settings: AgentSettings): string {
  const config = parseYaml(readFileSync(join(ROOT, 'config/flotilla.yaml'), 'utf8')) as Record<string, Record<string, unknown>>;
  config.leaderElection = { ...config.leaderElection, enabled: false };
  // Loopback plain HTTP: the benchmark scrapes without a token.
  config.metrics = { ...config.metrics, bindAddress: '127.0.0.1:0', secure: false };
  config.health = { ...config.health, bindAddress: '127.0.0.1:0' };
  config.api = { ...config.api, qps: settings.upstreamQps, burst: settings.upstreamBurst };
  config.concurrency = { ...config.concurrency, maxConcurrentReconciles: settings.concurrency };
  config.agent = { ...config.agent, downstreamQps: settings.downstreamQps, downstreamBurst: settings.downstreamBurst };
  return stringifyYaml(config);
}

/** `node src/cli/main.ts agent ...` as a measured process (the `serving` line gives its /metrics). */
export async function startFlotillaAgent(options: { downstreamKubeconfig: string; upstreamKubeconfig: string; namespace: string; settings: AgentSettings }): Promise<SystemProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-flotilla-agent-'));
  const configPath = join(dir, 'agent.yaml');
  writeFileSync(configPath, agentConfigYaml(options.settings));
  return launchSystem({
    name: 'flotilla-agent',
    dir,
    command: {
      binary: process.execPath,
      args: [
        join(ROOT, 'src/cli/main.ts'), 'agent',
        '--kubeconfig', options.downstreamKubeconfig,
        '--upstream-kubeconfig', options.upstreamKubeconfig,
        '--namespace', options.namespace,
        '--config', configPath,
      ],
    },
  });
}

/** The direct baseline's downstream applier (bench/baselines/direct-agent.ts). */
export async function startDirectAgent(options: { downstreamKubeconfig: string; upstreamKubeconfig: string; namespace: string; concurrency: number }): Promise<SystemProcess> {
  return launchSystem({
    name: 'direct-agent',
    command: {
      binary: process.execPath,
      args: [
        join(ROOT, 'bench/baselines/direct-agent.ts'),
        '--kubeconfig', options.downstreamKubeconfig,
        '--upstream-kubeconfig', options.upstreamKubeconfig,
        '--namespace', options.namespace,
        '--agent-namespace', AGENT_NAMESPACE,
        '--concurrency', String(options.concurrency),
      ],
    },
  });
}

export async function ensureNamespace(client: KubeClient, name: string): Promise<void> {
  try {
    await client.create(builtinTypes.namespace, { metadata: { name } });
  } catch (err) {
    if (!(err instanceof ApiError && err.statusCode === 409)) throw err;
  }
}

/**
 * The benchmark's view of the downstream cluster: ConfigMaps carrying the
 * ApplySet part-of label (the members) in the member namespace, with the
 * time each first appeared.
 */
export class DownstreamView {
  readonly store = new Store<KubeObject>();
  readonly #reflector: Reflector<KubeObject>;
  #firstSeen = new Map<string, number>();

  constructor(admin: KubeClient) {
    this.store.addHandler({
      onAdd: (obj) => {
        const name = obj.metadata.name ?? '';
        if (!this.#firstSeen.has(name)) this.#firstSeen.set(name, performance.now());
      },
    });
    this.#reflector = new Reflector<KubeObject>({
      client: admin,
      registry: createRegistry({ defaultMetrics: false }),
      type: builtinTypes.configMap,
      store: this.store,
      namespace: MEMBER_NAMESPACE,
      labelSelector: ApplySetKeys.partOf,
      minWatchTimeoutSeconds: 1800,
    });
  }

  async start(): Promise<void> {
    this.#reflector.start();
    await this.#reflector.synced;
  }

  stop(): Promise<void> {
    return this.#reflector.stop();
  }

  get size(): number {
    return this.store.size;
  }

  /** Forget appearance times (a new measurement). */
  resetTimes(): void {
    this.#firstSeen = new Map();
  }

  /** When each member (by name) appeared since the last reset, ms on the performance clock. */
  firstSeen(): ReadonlyMap<string, number> {
    return this.#firstSeen;
  }
}

/** Deletes every member and every ApplySet parent downstream (between systems). */
export async function clearDownstream(admin: KubeClient): Promise<void> {
  const deleteCollection = (namespace: string, labelSelector: string) =>
    admin.request({
      verb: 'delete',
      method: 'DELETE',
      path: `/api/v1/namespaces/${namespace}/configmaps`,
      resource: 'configmaps',
      query: { labelSelector },
    });
  await deleteCollection(MEMBER_NAMESPACE, ApplySetKeys.partOf);
  await deleteCollection(AGENT_NAMESPACE, ApplySetKeys.id);
}

// ---------------------------------------------------------------------------
// Writes counted at the API server.

/** `apiserver_request_total` summed by "VERB resource[/subresource]" (all codes). */
export type RequestCounts = Map<string, number>;

export const APISERVER_WRITE_VERBS = new Set(['POST', 'PUT', 'PATCH', 'APPLY', 'DELETE', 'DELETECOLLECTION']);

/** Scrapes the API server's /metrics with the kubeconfig's credentials (admin: system:masters may read it). */
export async function scrapeApiServerRequests(kc: KubeConfig): Promise<RequestCounts> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig without a cluster');
  const url = new URL('/metrics', cluster.server);
  const options: RequestOptions = {};
  await kc.applyToHTTPSOptions(options);
  const text = await new Promise<string>((resolve, reject) => {
    const req = httpsRequest(url, { ...options, method: 'GET', timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks).toString('utf8')) : reject(new Error(`GET ${url.href}: ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url.href}: timeout`)));
    req.on('error', reject);
    req.end();
  });
  const counts: RequestCounts = new Map();
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const close = line.lastIndexOf('}');
    const labels = Object.fromEntries([...line.slice('apiserver_request_total{'.length, close).matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    const value = Number(line.slice(close + 1).trim());
    const key = `${labels.verb} ${labels.resource}${labels.subresource ? `/${labels.subresource}` : ''}`;
    counts.set(key, (counts.get(key) ?? 0) + value);
  }
  return counts;
}

/** Write requests in `after − before`, by "VERB resource[/subresource]". */
export function writeDelta(before: RequestCounts, after: RequestCounts): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, n] of after) {
    if (!APISERVER_WRITE_VERBS.has(key.slice(0, key.indexOf(' ')))) continue;
    const d = n - (before.get(key) ?? 0);
    if (d > 0) out[key] = d;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}
