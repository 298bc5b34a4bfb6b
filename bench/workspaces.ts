/**
 * Workspace benchmark (docs/architecture.md#workspaces): onboarding latency, controller memory by
 * workspace count, and cluster-wide vs per-namespace watches.
 *
 *   node_modules/.bin/node bench/workspaces.ts [--namespaces 100] [--workspaces 500] [--json FILE]
 *
 * One control plane (src/controlplane harness, CRDs installed, controller
 * RBAC from config/rbac) and the real controller as a child process
 * (test/support/flotilla.ts). Phases, in this order so that the world grows
 * monotonically and no namespace has to be deleted:
 *
 *  A. 1 workspace (`ws-0000`: 1 Cluster + 2 Bundles). Fresh controller,
 *     converge, read its RSS (/proc/<pid>/status VmRSS) and heap
 *     (`nodejs_heap_size_used_bytes`).
 *  B. Watch strategies at 1 workspace, in this process with the runtime's own
 *     Reflector/Store: (a) cluster-wide, one reflector per type (6);
 *     (b) per-namespace, Cluster/ClusterGroup/Bundle reflectors in every
 *     workspace plus a BundleDeployment reflector in every Cluster's
 *     deployment namespace (that is where BundleDeployments live), plus the
 *     two cluster-scoped types (Namespace, Content), which cannot be
 *     namespaced: 4·N + 2 reflectors.
 *  C. Onboarding latency: `--namespaces` unlabelled namespaces each with
 *     1 Cluster + 1 Bundle (`clusterSelector: {}`) are created while the
 *     controller runs; a WATCH on BundleDeployments (all namespaces) is
 *     opened, then the namespaces are labelled `flotilla.dev/workspace=true`
 *     ONE AT A TIME, each waiting for its BundleDeployment before the next,
 *     so each sample is an unloaded controller's latency.
 *  D. Grow to `--workspaces` workspaces (a second Bundle in the namespaces of
 *     C, new labelled namespaces for the rest), converge, read the running
 *     controller's memory, then restart it and read a fresh one's.
 *  E. Watch strategies again at `--workspaces`.
 *
 * Reflectors use the controller's RBAC-bound user (so API Priority and
 * Fairness applies as in production). The KubeClient's HTTPS agent has
 * `maxSockets: 256` and WATCH streams are HTTP/1.1 (one socket each), so the
 * per-namespace strategy shards its reflectors over clients of at most
 * REFLECTORS_PER_CLIENT reflectors (see README: a real per-namespace
 * controller would need that too, or HTTP/2).
 *
 * Timings are reported, never asserted.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Registry } from 'prom-client';
import { Label, WORKSPACE_LABEL_VALUE } from '../src/api/constants.ts';
import { createRegistry } from '../src/observability/metrics.ts';
import { KubeClient, PatchType, type WatchEvent } from '../src/runtime/kube/client.ts';
import { BENCH_TOOL_TRANSPORT } from './lib/api-transport.ts';
import { builtinTypes, type KubeObject, type ResourceType } from '../src/runtime/kube/resource.ts';
import { Reflector } from '../src/runtime/informer/reflector.ts';
import { Store } from '../src/runtime/informer/store.ts';
import { deploymentNamespaceFor } from '../src/placement/deployment-namespace.ts';
import { loadKubeConfig } from '../test/support/kube.ts';
import {
  T,
  bundleObject,
  clusterObject,
  countObjects,
  mapConcurrent,
  startPlacementEnv,
  type FlotillaProcess,
  type PlacementEnv,
} from '../test/support/flotilla.ts';

const { values: args } = parseArgs({
  options: {
    namespaces: { type: 'string', default: '100' },
    workspaces: { type: 'string', default: '500' },
    json: { type: 'string', default: 'bench/results/workspaces.json' },
  },
});
const LATENCY_NAMESPACES = Number(args.namespaces);
const MANY = Number(args.workspaces);
const jsonPath = resolve(args.json);
if (!(LATENCY_NAMESPACES >= 1) || !(MANY > LATENCY_NAMESPACES)) {
  throw new Error(`--namespaces must be ≥ 1 and --workspaces greater than --namespaces (got ${LATENCY_NAMESPACES}, ${MANY})`);
}
const REFLECTORS_PER_CLIENT = 200;
const WRITE_CONCURRENCY = 16;
const started = Date.now();
const log = (msg: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${msg}`);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
function settledHeap(): { heapUsed: number; rss: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, rss: m.rss };
}

const wsName = (i: number) => `ws-${String(i).padStart(4, '0')}`;
const ON = { [Label.Workspace]: WORKSPACE_LABEL_VALUE };
const TARGET_ALL = [{ clusterSelector: {} }];
const MiB = 1024 * 1024;

// ---------------------------------------------------------------------------

async function populate(admin: KubeClient, names: string[], opts: { labelled: boolean; bundles: string[] }): Promise<void> {
  await mapConcurrent(names, WRITE_CONCURRENCY, async (ns) => {
    await admin.create(builtinTypes.namespace, { metadata: { name: ns, ...(opts.labelled ? { labels: ON } : {}) } });
    await admin.create(T.Cluster, clusterObject(ns, 'c1'));
    for (const b of opts.bundles) await admin.create(T.Bundle, bundleObject(ns, b, TARGET_ALL));
  });
}

function vmRssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

interface ControllerMemory {
  workspaces: number;
  note: string;
  bundleDeployments: number;
  convergeSeconds: number;
  vmRssMiB: number;
  processResidentMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
}

async function converge(env: PlacementEnv, flotilla: FlotillaProcess, expectedBds: number, t0: number): Promise<number> {
  for (;;) {
    const n = await countObjects(env.admin, T.BundleDeployment);
    if (n >= expectedBds) break;
    if (!flotilla.isRunning()) throw new Error(`controller exited:\n${flotilla.logTail(40)}`);
    if (performance.now() - t0 > 240_000) throw new Error(`only ${n}/${expectedBds} BundleDeployments after 240 s`);
    await sleep(250);
  }
  const seconds = (performance.now() - t0) / 1000;
  await flotilla.waitForIdle({ stableMs: 2000, timeoutMs: 240_000 });
  return seconds;
}

async function controllerMemory(flotilla: FlotillaProcess, env: PlacementEnv, workspaces: number, note: string, convergeSeconds: number): Promise<ControllerMemory> {
  await sleep(2000); // let the event loop and GC settle after idle
  const m = await flotilla.metrics();
  return {
    workspaces,
    note,
    bundleDeployments: await countObjects(env.admin, T.BundleDeployment),
    convergeSeconds: round(convergeSeconds, 2),
    vmRssMiB: round(vmRssBytes(flotilla.pid) / MiB, 1),
    processResidentMiB: round(m.sum('process_resident_memory_bytes') / MiB, 1),
    heapUsedMiB: round(m.sum('nodejs_heap_size_used_bytes') / MiB, 1),
    heapTotalMiB: round(m.sum('nodejs_heap_size_total_bytes') / MiB, 1),
  };
}

// ---------------------------------------------------------------------------
// Watch strategies with the runtime's Reflector/Store.

interface ReflectorSpec {
  type: ResourceType;
  namespace?: string;
}

interface StrategyResult {
  strategy: 'cluster-wide' | 'per-namespace';
  workspaces: number;
  reflectors: number;
  clients: number;
  /** WATCH requests made until all synced (restarts included). */
  watchRequests: number;
  /** WATCH streams open at the end (`flotilla_api_requests_in_flight{verb="watch"}`). */
  watchesOpen: number;
  /** Non-200 WATCH responses and client errors, by code. */
  watchFailures: Record<string, number>;
  /** `flotilla_reflector_watch_restarts_total` by reason. */
  watchRestarts: Record<string, number>;
  listRequests: number;
  cachedObjects: number;
  syncMs: number;
  heapDeltaMiB: number;
  rssDeltaMiB: number;
  onboardMs: number;
  onboardNote: string;
}

const CLUSTER_WIDE_TYPES: ResourceType[] = [builtinTypes.namespace, T.Cluster, T.ClusterGroup, T.Bundle, T.BundleDeployment, T.Content];
const WORKSPACE_TYPES: ResourceType[] = [T.Cluster, T.ClusterGroup, T.Bundle];

function perNamespaceSpecs(workspace: string): ReflectorSpec[] {
  return [...WORKSPACE_TYPES.map((type) => ({ type, namespace: workspace })), { type: T.BundleDeployment, namespace: deploymentNamespaceFor(workspace, 'c1') }];
}

class ReflectorSet {
  readonly reflectors: Reflector<KubeObject>[] = [];
  readonly clients: KubeClient[] = [];
  readonly registries: Registry[] = [];
  readonly #kubeconfig: string;

  constructor(kubeconfig: string) {
    this.#kubeconfig = kubeconfig;
  }

  #client(): { client: KubeClient; registry: Registry } {
    const i = Math.floor(this.reflectors.length / REFLECTORS_PER_CLIENT);
    if (!this.clients[i]) {
      const registry = createRegistry({ defaultMetrics: false });
      this.registries[i] = registry;
      this.clients[i] = new KubeClient({ kubeConfig: loadKubeConfig(this.#kubeconfig), registry, userAgent: 'flotilla-bench', transport: BENCH_TOOL_TRANSPORT });
    }
    return { client: this.clients[i] as KubeClient, registry: this.registries[i] as Registry };
  }

  add(spec: ReflectorSpec): Reflector<KubeObject> {
    const { client, registry } = this.#client();
    const reflector = new Reflector<KubeObject>({
      client,
      registry,
      type: spec.type,
      store: new Store<KubeObject>(),
      ...(spec.namespace ? { namespace: spec.namespace } : {}),
    });
    this.reflectors.push(reflector);
    reflector.start();
    return reflector;
  }

  async requests(verb: string): Promise<number> {
    return sumValues(await this.byLabel('flotilla_api_requests_total', { verb }, 'verb'));
  }

  /** Sum of `name` over every client's registry, grouped by the value of label `by`, for series matching `filter`. */
  async byLabel(name: string, filter: Record<string, string>, by: string): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const registry of this.registries) {
      const text = await registry.metrics();
      for (const line of text.split('\n')) {
        if (!line.startsWith(`${name}{`)) continue;
        if (!Object.entries(filter).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
        const key = new RegExp(`${by}="([^"]*)"`).exec(line)?.[1] ?? '';
        out[key] = (out[key] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
      }
    }
    return out;
  }

  cachedObjects(): number {
    return this.reflectors.reduce((n, r) => n + r.store.size, 0);
  }

  async stop(): Promise<void> {
    await Promise.all(this.reflectors.map((r) => r.stop()));
    await Promise.all(this.clients.map((c) => c.close()));
  }
}

async function measureStrategy(
  env: PlacementEnv,
  strategy: StrategyResult['strategy'],
  workspaces: string[],
  extra: string,
): Promise<StrategyResult> {
  const specs: ReflectorSpec[] =
    strategy === 'cluster-wide'
      ? CLUSTER_WIDE_TYPES.map((type) => ({ type }))
      : [{ type: builtinTypes.namespace }, { type: T.Content }, ...workspaces.flatMap(perNamespaceSpecs)];
  const before = settledHeap();
  const set = new ReflectorSet(env.controllerKubeconfig);
  const t0 = performance.now();
  for (const spec of specs) set.add(spec);
  await Promise.all(set.reflectors.map((r) => r.synced));
  const syncMs = performance.now() - t0;
  // A reflector counts its WATCH once the response headers arrive; give the
  // last ones a moment after the final LIST.
  const deadline = Date.now() + 15_000;
  while ((await set.requests('watch')) < specs.length && Date.now() < deadline) await sleep(100);
  const watchRequests = await set.requests('watch');
  const watchesOpen = sumValues(await set.byLabel('flotilla_api_requests_in_flight', { verb: 'watch' }, 'verb'));
  const watchFailures = Object.fromEntries(Object.entries(await set.byLabel('flotilla_api_requests_total', { verb: 'watch' }, 'code')).filter(([code]) => code !== '200'));
  const watchRestarts = await set.byLabel('flotilla_reflector_watch_restarts_total', {}, 'reason');
  const listRequests = await set.requests('list');
  const after = settledHeap();

  // Onboard one more namespace (pre-created unlabelled with 1 Cluster + 2 Bundles).
  let onboardMs: number;
  let onboardNote: string;
  if (strategy === 'cluster-wide') {
    const nsReflector = set.reflectors[0] as Reflector<KubeObject>;
    const clusters = set.reflectors[1] as Reflector<KubeObject>;
    const t1 = performance.now();
    await env.admin.patch(builtinTypes.namespace, extra, undefined, { metadata: { labels: ON } }, { contentType: PatchType.merge });
    while (nsReflector.store.getByName(undefined, extra)?.metadata.labels?.[Label.Workspace] !== WORKSPACE_LABEL_VALUE) await sleep(1);
    onboardMs = performance.now() - t1;
    onboardNote = `label patch → Namespace event in cache (its Cluster already cached: ${clusters.store.getByName(extra, 'c1') !== undefined})`;
    await env.admin.patch(builtinTypes.namespace, extra, undefined, { metadata: { labels: { [Label.Workspace]: null } } }, { contentType: PatchType.merge });
  } else {
    const t1 = performance.now();
    const added = perNamespaceSpecs(extra).map((spec) => set.add(spec));
    await Promise.all(added.map((r) => r.synced));
    onboardMs = performance.now() - t1;
    onboardNote = `start ${added.length} reflectors (${added.reduce((n, r) => n + r.store.size, 0)} objects) and wait for sync; the namespace label is not even needed to see it, but RBAC in it is`;
  }
  const result: StrategyResult = {
    strategy,
    workspaces: workspaces.length,
    reflectors: specs.length,
    clients: set.clients.length,
    watchRequests,
    watchesOpen,
    watchFailures,
    watchRestarts,
    listRequests,
    cachedObjects: set.cachedObjects(),
    syncMs: round(syncMs, 1),
    heapDeltaMiB: round((after.heapUsed - before.heapUsed) / MiB, 2),
    rssDeltaMiB: round((after.rss - before.rss) / MiB, 1),
    onboardMs: round(onboardMs, 1),
    onboardNote,
  };
  await set.stop();
  settledHeap();
  return result;
}

async function prepareExtra(env: PlacementEnv, name: string): Promise<void> {
  await populate(env.admin, [name], { labelled: false, bundles: ['b1', 'b2'] });
  // Its deployment namespace, so the per-namespace BundleDeployment reflector has somewhere to watch.
  await env.admin.create(builtinTypes.namespace, { metadata: { name: deploymentNamespaceFor(name, 'c1') } });
}

// ---------------------------------------------------------------------------
// Onboarding latency.

interface LatencyResult {
  namespaces: number;
  mode: string;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  minMs: number;
  meanMs: number;
  timeouts: number;
}

async function onboardingLatency(env: PlacementEnv, names: string[]): Promise<{ result: LatencyResult; samplesMs: number[] }> {
  const seen = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  const abort = new AbortController();
  const initial = await env.admin.list(T.BundleDeployment, { limit: 1 });
  let rv = initial.metadata.resourceVersion ?? '';
  const watching = (async () => {
    while (!abort.signal.aborted) {
      try {
        await env.admin.watch<KubeObject>(T.BundleDeployment, { resourceVersion: rv, timeoutSeconds: 600, signal: abort.signal }, (ev: WatchEvent<KubeObject>) => {
          if (ev.object.metadata.resourceVersion) rv = ev.object.metadata.resourceVersion;
          if (ev.type !== 'ADDED') return;
          const ns = ev.object.metadata.labels?.[Label.BundleNamespace];
          if (ns === undefined || seen.has(ns)) return;
          seen.set(ns, performance.now());
          waiters.get(ns)?.();
        });
      } catch (error) {
        if (!abort.signal.aborted) log(`BundleDeployment watch ended: ${(error as Error).message}; resuming`);
      }
    }
  })();
  await sleep(500); // the watch is established before the first label

  const samples: number[] = [];
  let timeouts = 0;
  for (const ns of names) {
    const arrived = new Promise<void>((res) => waiters.set(ns, res));
    const t0 = performance.now();
    await env.admin.patch(builtinTypes.namespace, ns, undefined, { metadata: { labels: ON } }, { contentType: PatchType.merge });
    const ok = await Promise.race([arrived.then(() => true), sleep(15_000).then(() => false)]);
    if (ok) samples.push((seen.get(ns) as number) - t0);
    else timeouts++;
  }
  abort.abort();
  await watching;
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    samplesMs: samples.map((s) => round(s, 1)),
    result: {
      namespaces: names.length,
      mode: 'one at a time (label, wait for the first BundleDeployment via WATCH, next)',
      p50Ms: round(quantile(sorted, 0.5), 1),
      p90Ms: round(quantile(sorted, 0.9), 1),
      p99Ms: round(quantile(sorted, 0.99), 1),
      maxMs: round(sorted.at(-1) ?? NaN, 1),
      minMs: round(sorted[0] ?? NaN, 1),
      meanMs: round(sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length), 1),
      timeouts,
    },
  };
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
}

function diffGroups(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, v]) => v !== 0));
}

function sumValues(record: Record<string, number>): number {
  return Object.values(record).reduce((a, b) => a + b, 0);
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

// ---------------------------------------------------------------------------

async function main(): Promise<void> {
  log('starting control plane (CRDs, controller RBAC)');
  const env = await startPlacementEnv({ controllerManager: false });
  const memory: ControllerMemory[] = [];
  const strategies: StrategyResult[] = [];
  let latency: Awaited<ReturnType<typeof onboardingLatency>> | undefined;
  let latencyController: Record<string, Record<string, number>> | undefined;
  try {
    // A. one workspace
    await populate(env.admin, [wsName(0)], { labelled: true, bundles: ['b1', 'b2'] });
    let t0 = performance.now();
    let flotilla = await env.startFlotilla({ name: 'flotilla-1ws' });
    await flotilla.waitForReady();
    let secs = await converge(env, flotilla, 2, t0);
    memory.push(await controllerMemory(flotilla, env, 1, 'fresh controller', secs));
    log(`1 workspace: converged in ${secs.toFixed(1)} s, RSS ${memory[0]?.vmRssMiB} MiB`);

    // B. watch strategies at 1 workspace
    await prepareExtra(env, 'extra-1');
    for (const s of ['cluster-wide', 'per-namespace'] as const) {
      strategies.push(await measureStrategy(env, s, [wsName(0)], 'extra-1'));
      log(`strategy ${s} @1: ${JSON.stringify(strategies.at(-1))}`);
    }

    // C. onboarding latency
    const latencyNames = Array.from({ length: LATENCY_NAMESPACES }, (_, i) => wsName(i + 1));
    log(`creating ${latencyNames.length} unlabelled namespaces (1 Cluster + 1 Bundle each)`);
    await populate(env.admin, latencyNames, { labelled: false, bundles: ['b1'] });
    await flotilla.waitForIdle({ stableMs: 2000 });
    log('labelling one at a time');
    const beforeLatency = await flotilla.metrics();
    latency = await onboardingLatency(env, latencyNames);
    const afterLatency = await flotilla.metrics();
    latencyController = {
      retriesByController: diffGroups(afterLatency.groupBy('workqueue_retries_total', ['controller']), beforeLatency.groupBy('workqueue_retries_total', ['controller'])),
      reconcilesByResult: diffGroups(afterLatency.groupBy('controller_runtime_reconcile_total', ['controller', 'result']), beforeLatency.groupBy('controller_runtime_reconcile_total', ['controller', 'result'])),
    };
    log(`controller during the latency run: ${JSON.stringify(latencyController)}`);
    log(`onboarding latency: ${JSON.stringify(latency.result)}`);

    // D. grow to MANY workspaces
    log(`growing to ${MANY} workspaces`);
    t0 = performance.now();
    await mapConcurrent(latencyNames, WRITE_CONCURRENCY, (ns) => env.admin.create(T.Bundle, bundleObject(ns, 'b2', TARGET_ALL)));
    const rest = Array.from({ length: MANY - 1 - LATENCY_NAMESPACES }, (_, i) => wsName(i + 1 + LATENCY_NAMESPACES));
    await populate(env.admin, rest, { labelled: true, bundles: ['b1', 'b2'] });
    log(`created in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    // extra-1 was labelled and unlabelled in B (offboard: retain), so 2·MANY is the floor.
    secs = await converge(env, flotilla, 2 * MANY, t0);
    memory.push(await controllerMemory(flotilla, env, MANY, 'same controller, grown from 1 (after the latency run)', secs));
    log(`${MANY} workspaces: converged ${secs.toFixed(1)} s after the writes started; RSS ${memory.at(-1)?.vmRssMiB} MiB`);
    await flotilla.stop({ graceMs: 20_000 });
    t0 = performance.now();
    flotilla = await env.startFlotilla({ name: `flotilla-${MANY}ws` });
    await flotilla.waitForReady();
    secs = (performance.now() - t0) / 1000;
    await flotilla.waitForIdle({ stableMs: 2000, timeoutMs: 240_000 });
    memory.push(await controllerMemory(flotilla, env, MANY, 'fresh controller (restart, converged world)', secs));
    log(`${MANY} workspaces fresh: ready in ${secs.toFixed(1)} s, RSS ${memory.at(-1)?.vmRssMiB} MiB`);
    const reconciles = (await flotilla.metrics()).sum('controller_runtime_reconcile_total');
    log(`fresh controller reconciles at idle: ${reconciles}`);
    await flotilla.stop({ graceMs: 20_000 });

    // E. watch strategies at MANY workspaces (controller stopped: this process alone)
    await prepareExtra(env, `extra-${MANY}`);
    const all = Array.from({ length: MANY }, (_, i) => wsName(i));
    for (const s of ['cluster-wide', 'per-namespace'] as const) {
      strategies.push(await measureStrategy(env, s, all, `extra-${MANY}`));
      log(`strategy ${s} @${MANY}: ${JSON.stringify(strategies.at(-1))}`);
    }
  } finally {
    await env.stop();
  }

  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? '',
    memoryGiB: round(totalmem() / 1024 ** 3, 1),
    kubernetesVersion: env.cp.kubernetesVersion,
    etcdVersion: env.cp.etcdVersion,
    args: { namespaces: LATENCY_NAMESPACES, workspaces: MANY },
    totalSeconds: round((Date.now() - started) / 1000, 1),
  };

  console.log(`\nworkspaces benchmark — ${meta.cpus} cores (${meta.cpuModel}), Node ${meta.node}, Kubernetes ${meta.kubernetesVersion}\n`);
  if (latency) {
    const l = latency.result;
    console.log(`1. Label a namespace → its first BundleDeployment (${l.namespaces} namespaces, ${l.mode})`);
    console.table([{ p50_ms: l.p50Ms, p90_ms: l.p90Ms, p99_ms: l.p99Ms, min_ms: l.minMs, max_ms: l.maxMs, mean_ms: l.meanMs, timeouts: l.timeouts, 'goal p99 < 1000 ms': l.p99Ms < 1000 ? 'met' : 'missed' }]);
  }
  console.log('2. Controller memory after convergence (1 Cluster + 2 Bundles per workspace)');
  console.table(memory.map((m) => ({ workspaces: m.workspaces, note: m.note, BDs: m.bundleDeployments, 'converge s': m.convergeSeconds, 'VmRSS MiB': m.vmRssMiB, 'heap used MiB': m.heapUsedMiB, 'heap total MiB': m.heapTotalMiB })));
  console.log('3. Watch strategies (Reflector/Store in this process, controller user)');
  console.table(strategies.map((s) => ({ strategy: s.strategy, workspaces: s.workspaces, reflectors: s.reflectors, clients: s.clients, 'watch reqs': s.watchRequests, 'watches open': s.watchesOpen, lists: s.listRequests, objects: s.cachedObjects, 'sync ms': s.syncMs, 'heap Δ MiB': s.heapDeltaMiB, 'RSS Δ MiB': s.rssDeltaMiB, 'onboard ms': s.onboardMs })));

  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, `${JSON.stringify({ meta, latency: latency?.result, latencySamplesMs: latency?.samplesMs, latencyController, memory, strategies }, null, 2)}\n`);
  console.log(`\nwrote ${jsonPath} (${meta.totalSeconds} s)`);
}

await main();
