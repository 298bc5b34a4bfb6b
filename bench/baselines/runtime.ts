/**
 * What both benchmark baselines (`direct.ts`, `naive.ts`) need to run as a
 * controller process the benchmark can measure exactly like Flotilla:
 *
 * - a KubeClient (the project's own HTTP client, so request counting and
 *   connection handling are identical) with the given QPS/burst, as the
 *   kubeconfig's user (the benchmark passes the RBAC-bound controller user);
 * - informers (the runtime's Reflector + Store) for the types they read;
 * - the metric names the benchmark scrapes from Flotilla:
 *   `flotilla_api_requests_total`, `workqueue_depth`,
 *   `controller_runtime_active_workers`, `controller_runtime_reconcile_total`,
 *   plus Node's default process metrics;
 * - `/metrics`, `/readyz` (200 once the informers synced) and `/healthz` on a
 *   loopback port announced with the same `serving` log line Flotilla writes;
 * - SIGTERM: stop, log `process.resourceUsage()`, exit 0.
 */
import { parseArgs } from 'node:util';
import { Counter, Gauge, type Registry } from 'prom-client';
import { KindResources } from '../../src/api/kinds.ts';
import { createRegistry } from '../../src/observability/metrics.ts';
import { KubeClient } from '../../src/runtime/kube/client.ts';
import { BASELINE_TRANSPORT } from '../lib/api-transport.ts';
import { builtinTypes, type KubeObject, type ResourceType } from '../../src/runtime/kube/resource.ts';
import { Reflector } from '../../src/runtime/informer/reflector.ts';
import { Store } from '../../src/runtime/informer/store.ts';
import { loadKubeConfig } from '../../src/controlplane/manifests.ts';
import { serveBaselineEndpoints, stopRequested } from '../lib/baseline-server.ts';

export const T = KindResources;

export interface BaselineArgs {
  kubeconfig: string;
  concurrency: number;
  qps: number;
  burst: number;
  /** direct, label-flip --agents: write each new BundleDeployment's summaries once, when an agent has reported it ready. */
  awaitReady: boolean;
}

export function parseBaselineArgs(defaults: { concurrency: number; qps: number; burst: number }): BaselineArgs {
  const { values } = parseArgs({
    options: {
      kubeconfig: { type: 'string' },
      concurrency: { type: 'string', default: String(defaults.concurrency) },
      qps: { type: 'string', default: String(defaults.qps) },
      burst: { type: 'string', default: String(defaults.burst) },
      'await-ready': { type: 'boolean', default: false },
    },
  });
  if (!values.kubeconfig) throw new Error('--kubeconfig is required');
  return { kubeconfig: values.kubeconfig, concurrency: Number(values.concurrency), qps: Number(values.qps), burst: Number(values.burst), awaitReady: values['await-ready'] === true };
}

/** One JSON log line on stdout (Flotilla's shape: level by name, time, msg). */
export function log(msg: string, fields: Record<string, unknown> = {}, level: 'info' | 'error' = 'info'): void {
  process.stdout.write(`${JSON.stringify({ level, time: Date.now(), ...fields, msg })}\n`);
}

export interface BaselineRuntime {
  client: KubeClient;
  registry: Registry;
  stores: {
    namespaces: Store<KubeObject>;
    clusters: Store<KubeObject>;
    bundles: Store<KubeObject>;
    bundleDeployments: Store<KubeObject>;
    contents: Store<KubeObject>;
  };
  metrics: {
    depth: Gauge<'name'>;
    activeWorkers: Gauge<'controller'>;
    reconciles: Counter<'controller' | 'result'>;
  };
  /** Starts every informer and resolves once all have synced; `/readyz` turns 200 then. */
  startInformers(): Promise<void>;
  /** Resolves on SIGTERM/SIGINT. */
  stopping: Promise<void>;
  /** Stops informers and the server, logs resource usage, exits 0. */
  exit(): Promise<never>;
}

export async function startBaselineRuntime(name: string, args: BaselineArgs): Promise<BaselineRuntime> {
  const registry = createRegistry({ defaultMetrics: true });
  const client = new KubeClient({ kubeConfig: loadKubeConfig(args.kubeconfig), registry, qps: args.qps, burst: args.burst, userAgent: `bench-${name}`, fieldManager: `bench-${name}`, transport: BASELINE_TRANSPORT });
  const stores = {
    namespaces: new Store<KubeObject>(),
    clusters: new Store<KubeObject>(),
    bundles: new Store<KubeObject>(),
    bundleDeployments: new Store<KubeObject>(),
    contents: new Store<KubeObject>(),
  };
  const types: Array<[ResourceType, Store<KubeObject>]> = [
    [builtinTypes.namespace, stores.namespaces],
    [T.Cluster, stores.clusters],
    [T.Bundle, stores.bundles],
    [T.BundleDeployment, stores.bundleDeployments],
    [T.Content, stores.contents],
  ];
  const reflectors = types.map(([type, store]) => new Reflector<KubeObject>({ client, registry, type, store }));
  const metrics = {
    depth: new Gauge({ name: 'workqueue_depth', help: 'Current depth of the work queue.', labelNames: ['name'], registers: [registry] }),
    activeWorkers: new Gauge({ name: 'controller_runtime_active_workers', help: 'Reconciles running.', labelNames: ['controller'], registers: [registry] }),
    reconciles: new Counter({ name: 'controller_runtime_reconcile_total', help: 'Reconciles by result.', labelNames: ['controller', 'result'], registers: [registry] }),
  };
  let synced = false;
  const server = await serveBaselineEndpoints(registry, () => synced, log);
  const stopping = stopRequested();

  return {
    client,
    registry,
    stores,
    metrics,
    async startInformers() {
      for (const r of reflectors) r.start();
      await Promise.all(reflectors.map((r) => r.synced));
      synced = true;
      log('informers synced', Object.fromEntries(types.map(([type, store]) => [type.plural, store.size])));
    },
    stopping,
    async exit(): Promise<never> {
      await Promise.all(reflectors.map((r) => r.stop()));
      await client.close();
      server.close();
      log('exiting', { resourceUsage: process.resourceUsage() });
      process.exit(0);
    },
  };
}

/** Runs at most `limit` tasks at once; `run` resolves with the task's result. */
export class Limiter {
  #running = 0;
  readonly #waiting: Array<() => void> = [];
  readonly #limit: number;

  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }

  get running(): number {
    return this.#running;
  }

  async run<R>(task: () => Promise<R>): Promise<R> {
    if (this.#running >= this.#limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#running++;
    try {
      return await task();
    } finally {
      this.#running--;
      this.#waiting.shift()?.();
    }
  }
}
