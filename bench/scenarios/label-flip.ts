/**
 * label-flip (Fleet #3163): one workspace, `bundles` Bundles (10 per
 * "repo") all targeting `env=prod`, `clusters` Clusters already labelled
 * `env=prod` and converged, plus one Cluster `flip` labelled `env=staging`.
 * The change: label `flip` `env=prod`. Measured per system: time until all
 * its BundleDeployments exist, time until every Bundle's summary shows the
 * new count (`status.summary.desiredReady`), p50/p99 of each
 * BundleDeployment's appearance after the flip, and the window's figures.
 *
 * Starting state for every system (restored between systems): the seeded
 * world converged by Flotilla, `flip` labelled `env=staging`, no
 * BundleDeployments in its deployment namespace, Bundle and Cluster statuses
 * as Flotilla left them.
 *
 * `--agents`: `flip` also gets a real cluster (a downstream control plane),
 * registered as `flotilla cluster add` registers it, and an agent per system
 * (flotilla: `flotilla agent`; direct: bench/baselines/direct-agent.ts),
 * started before the flip and idle. Measured on top: until every Bundle's
 * ConfigMap exists downstream (the benchmark's watch, label selector
 * `applyset.kubernetes.io/part-of`), until every summary counts `flip`
 * ready, and the writes both API servers counted (`apiserver_request_total`)
 * against the minimum. Between systems the agent is stopped and the
 * downstream members and ApplySet parents are deleted. The seeded Clusters
 * have no agent: their BundleDeployments carry no status, so a Bundle's
 * summary goes from desiredReady N, ready 0 to desiredReady N+1, ready 1.
 */
import { performance } from 'node:perf_hooks';
import { deploymentNamespaceFor } from '../../src/placement/deployment-namespace.ts';
import { PatchType } from '../../src/runtime/kube/client.ts';
import type { KubeObject } from '../../src/runtime/kube/resource.ts';
import { KindResources as T } from '../../src/api/kinds.ts';
import { Window, type SystemFigures } from '../lib/measure.ts';
import { memoryFigures, memoryNote } from '../lib/memory.ts';
import { MiB, percentile, progress, round, table } from '../lib/report.ts';
import {
  AGENT_NAMESPACE,
  clearDownstream,
  DownstreamView,
  ensureNamespace,
  registerFlipCluster,
  scrapeApiServerRequests,
  startDirectAgent,
  startDownstream,
  startFlotillaAgent,
  writeDelta,
  type AgentSettings,
  type Downstream,
} from '../lib/agents.ts';
import type { SystemProcess } from '../lib/launch.ts';
import { createBundles, createClusters, createWorkspace, deleteBundleDeploymentsIn, mapConcurrent, mergePatchStatus, SEED_CONCURRENCY } from '../lib/world.ts';
import { systemSpec } from '../systems/index.ts';
import { convergeWithFlotilla, deadlineFor, notConvergedNote, until, type ScenarioContext, type ScenarioResult } from './common.ts';

const WS = 'bench-flip';
const FLIP = 'flip';
const PROD = { env: 'prod' };
const BUNDLES_PER_REPO = 10;

const desiredReady = (b: KubeObject | undefined): number | undefined => ((b?.status as { summary?: { desiredReady?: number } } | undefined)?.summary?.desiredReady);
const readyCount = (b: KubeObject | undefined): number => ((b?.status as { summary?: { ready?: number } } | undefined)?.summary?.ready ?? 0);
const latency = (ms: number[]) => ({ p50: round(percentile(ms, 50), 1), p99: round(percentile(ms, 99), 1), max: round(ms.length > 0 ? Math.max(...ms) : Number.NaN, 1), count: ms.length });

export async function labelFlip(ctx: ScenarioContext): Promise<ScenarioResult> {
  const { admin } = ctx.env;
  const { observer } = ctx;
  const B = ctx.options.bundles;
  const N = ctx.options.clusters;
  const flipNs = deploymentNamespaceFor(WS, FLIP);
  const bundleNames = Array.from({ length: B }, (_, i) => `r${String(Math.floor(i / BUNDLES_PER_REPO)).padStart(4, '0')}-b${i % BUNDLES_PER_REPO}`);

  progress(`seeding: workspace ${WS}, ${N} clusters env=prod + 1 env=staging, ${B} bundles targeting env=prod`);
  await createWorkspace(admin, WS);
  await createClusters(admin, WS, [
    ...Array.from({ length: N }, (_, i) => ({ name: `c-${String(i).padStart(4, '0')}`, labels: PROD })),
    { name: FLIP, labels: { env: 'staging' } },
  ]);
  // An existing cluster (--kubeconfig) may hold an earlier run's flip.
  await admin.patch(T.Cluster, FLIP, WS, { metadata: { labels: { env: 'staging' } } }, { contentType: PatchType.merge });
  await createBundles(admin, WS, bundleNames.map((name) => ({ name, targets: [{ clusterSelector: { matchLabels: PROD } }] })));

  const bundlesIn = () => observer.stores.Bundle.byIndex('namespace', WS);
  const bdCount = (ns?: string) => (ns ? observer.stores.BundleDeployment.byIndex('namespace', ns).length : observer.stores.BundleDeployment.size);
  const summariesAt = (n: number) => bundlesIn().filter((b) => desiredReady(b) === n).length;
  await convergeWithFlotilla(ctx, `${N * B} BundleDeployments and ${B} summaries`, () => ({ done: Math.min(bdCount(), N * B) + summariesAt(N), total: N * B + B }));

  // The starting state, to restore between systems.
  const bundleStatus = new Map(bundlesIn().map((b) => [b.metadata.name ?? '', structuredClone(b.status)]));
  const readyBefore = new Map(bundlesIn().map((b) => [b.metadata.name ?? '', readyCount(b)]));
  const flipCluster = observer.stores.Cluster.getByName(WS, FLIP);
  const flipStatus = structuredClone(flipCluster?.status);

  // --agents: the flip cluster's own API server, registered as `cluster add` does.
  let downstream: Downstream | undefined;
  let view: DownstreamView | undefined;
  let upstreamKubeconfig = '';
  const agentSettings: AgentSettings | undefined = ctx.agents
    ? { ...ctx.agents, upstreamQps: ctx.run.qps, upstreamBurst: ctx.run.burst, concurrency: ctx.run.concurrency }
    : undefined;
  // A Bundle's summary counts flip: desiredReady N+1 (and, with agents, one more ready than before).
  const flipCounted = (b: KubeObject) => desiredReady(b) === N + 1 && (!ctx.agents || readyCount(b) === (readyBefore.get(b.metadata.name ?? '') ?? 0) + 1);

  const result: ScenarioResult = {
    parameters: {
      workspace: WS,
      bundles: B,
      clusters: N,
      bundlesPerRepo: BUNDLES_PER_REPO,
      seededBundleDeployments: N * B,
      newBundleDeployments: B,
      ...(agentSettings ? { agents: { ...agentSettings, note: 'agent config: shipped config/flotilla.yaml with these overrides, leader election off, metrics (plain HTTP)/health on 127.0.0.1:0' } } : {}),
    },
    results: {},
    extra: {},
    notes: [],
  };

  try {
    if (ctx.agents) {
      downstream = await startDownstream(progress);
      await ensureNamespace(downstream.admin, AGENT_NAMESPACE);
      progress(`registering ${WS}/${FLIP} as flotilla cluster add does (upstream ServiceAccount, token, kubeconfig)`);
      const reg = await registerFlipCluster(ctx.env.adminKubeConfig, WS, FLIP, { env: 'staging' });
      if (reg.deploymentNamespace !== flipNs) throw new Error(`registration gave deployment namespace ${reg.deploymentNamespace}, expected ${flipNs}`);
      upstreamKubeconfig = reg.upstreamKubeconfig;
      view = new DownstreamView(downstream.admin);
      await view.start();
    }

    const reset = async (): Promise<void> => {
      progress('resetting the world to the starting state');
      await admin.patch(T.Cluster, FLIP, WS, { metadata: { labels: { env: 'staging' } } }, { contentType: PatchType.merge });
      await deleteBundleDeploymentsIn(admin, flipNs);
      const changed = bundlesIn().filter((b) => JSON.stringify(b.status) !== JSON.stringify(bundleStatus.get(b.metadata.name ?? '')));
      await mapConcurrent(changed, SEED_CONCURRENCY, (b) => mergePatchStatus(admin, 'Bundle', b, bundleStatus.get(b.metadata.name ?? '')));
      const cluster = observer.stores.Cluster.getByName(WS, FLIP);
      if (cluster) await mergePatchStatus(admin, 'Cluster', cluster, flipStatus);
      if (downstream) await clearDownstream(downstream.admin);
      await until('reset', () => ({ done: (bdCount(flipNs) === 0 ? 1 : 0) + (view && view.size > 0 ? 0 : 1) + summariesAt(N), total: 2 + B }), { since: performance.now(), timeoutMs: 300_000 });
    };

    let first = true;
    for (const name of ctx.systems) {
      if (!first) await reset();
      first = false;
      const spec = systemSpec(name, ctx.run);
      progress(`${name}: starting (${JSON.stringify(spec.settings)})`);
      const proc = await spec.start({ kubeconfig: ctx.env.systemKubeconfig, ...(spec.kind === 'flotilla' && ctx.wrap ? { wrap: ctx.wrap } : {}) });
      let agent: SystemProcess | undefined;
      try {
        const t0 = performance.now();
        await proc.waitForReady();
        progress(`${name}: ready after ${((performance.now() - t0) / 1000).toFixed(1)} s; waiting until idle before the flip`);
        await proc.waitForIdle({ stableMs: 2000, timeoutMs: deadlineFor(ctx, name) + 600_000 });
        if (downstream && agentSettings) {
          const opts = { downstreamKubeconfig: downstream.kubeconfigPath, upstreamKubeconfig, namespace: flipNs };
          agent = spec.kind === 'flotilla' ? await startFlotillaAgent({ ...opts, settings: agentSettings }) : await startDirectAgent({ ...opts, concurrency: ctx.run.concurrency });
          await agent.waitForReady();
          await agent.waitForIdle({ stableMs: 2000, timeoutMs: 120_000 });
          progress(`${name}: its agent (${agent.name}, pid ${agent.pid}) is ready and idle`);
        }

        const bdSeen: number[] = [];
        const summarySeen = new Map<string, number>();
        const apiBefore = downstream ? await Promise.all([scrapeApiServerRequests(ctx.env.adminKubeConfig), scrapeApiServerRequests(downstream.adminKubeConfig)]) : undefined;
        const agentBefore = agent?.sample();
        view?.resetTimes();
        const window = await Window.open(spec, proc, observer, { controlPlane: ctx.env.controlPlane });
        const flipAt = performance.now();
        const unsubscribe = observer.on((e) => {
          if (e.kind === 'BundleDeployment' && e.type === 'ADDED' && e.obj.metadata.namespace === flipNs) bdSeen.push(e.at - flipAt);
          if (e.kind === 'Bundle' && e.type === 'MODIFIED' && e.obj.metadata.namespace === WS && !summarySeen.has(e.obj.metadata.name ?? '') && flipCounted(e.obj)) {
            summarySeen.set(e.obj.metadata.name ?? '', e.at - flipAt);
          }
        });
        await admin.patch(T.Cluster, FLIP, WS, { metadata: { labels: PROD } }, { contentType: PatchType.merge });
        window.ownWrites = 1;
        progress(`${name}: flipped ${WS}/${FLIP} to env=prod`);
        const timeoutMs = deadlineFor(ctx, name);
        const watched = agent ? [proc, agent] : [proc];
        const waitAll = async (what: string, check: () => { done: number; total: number }) => {
          let r = { ok: true, seconds: 0, fraction: 1 };
          for (const system of watched) {
            r = await until(what, check, { since: flipAt, timeoutMs, system });
            if (!r.ok) break;
          }
          return r;
        };
        const bds = await waitAll(`${name} BundleDeployments`, () => ({ done: bdCount(flipNs), total: B }));
        const down = bds.ok && view ? await waitAll(`${name} resources downstream`, () => ({ done: view?.size ?? 0, total: B })) : { ok: bds.ok, seconds: bds.seconds, fraction: view ? 0 : 1 };
        const sums = bds.ok && down.ok
          ? await waitAll(`${name} summaries`, () => ({ done: bundlesIn().filter(flipCounted).length, total: B }))
          : { ok: false, seconds: bds.seconds, fraction: 0 };
        unsubscribe();
        const converged = bds.ok && down.ok && sums.ok;
        const fraction = (bds.fraction + down.fraction + sums.fraction) / 3;
        if (converged) {
          await proc.waitForIdle({ stableMs: 2000, timeoutMs: 300_000 });
          if (agent) await agent.waitForIdle({ stableMs: 2000, timeoutMs: 300_000 });
        }
        const downSeen = view ? [...view.firstSeen().values()].map((t) => t - flipAt) : [];
        const sumsSeen = [...summarySeen.values()];
        const endToEnd = ctx.agents ? Math.max(...downSeen, ...sumsSeen, 0) / 1000 : sums.seconds;
        const figures = await window.close({ converged, seconds: converged ? endToEnd : null, ...(converged ? {} : { note: notConvergedNote(bds.seconds, fraction).note }) });
        Object.assign(figures, {
          bundleDeploymentsSeconds: bds.ok ? round((Math.max(...bdSeen, 0)) / 1000, 3) : null,
          summariesSeconds: sums.ok ? round(ctx.agents ? Math.max(...sumsSeen, 0) / 1000 : sums.seconds, 3) : null,
          bundleDeploymentLatencyMs: latency(bdSeen),
          ...(converged ? {} : notConvergedNote(bds.ok ? sums.seconds : bds.seconds, fraction)),
        });
        if (downstream && apiBefore && agent) {
          const apiAfter = await Promise.all([scrapeApiServerRequests(ctx.env.adminKubeConfig), scrapeApiServerRequests(downstream.adminKubeConfig)]);
          const agentAfter = agent.sample();
          figures.agents = agentFigures({
            B,
            agentName: agent.name,
            downstreamSeconds: down.ok ? round(Math.max(...downSeen, 0) / 1000, 3) : null,
            downstreamLatencyMs: latency(downSeen),
            summaryLatencyMs: latency(sumsSeen),
            upstreamWrites: writeDelta(apiBefore[0], apiAfter[0]),
            downstreamWrites: writeDelta(apiBefore[1], apiAfter[1]),
            ownUpstreamWrites: { 'PATCH clusters': 1 },
            agentCpuSeconds: round((agentAfter?.cpuSeconds ?? Number.NaN) - (agentBefore?.cpuSeconds ?? Number.NaN), 3),
            agentRequests: await agentRequests(agent),
          });
        }
        if (spec.kind === 'flotilla') figures.memory = await memoryFigures(proc, observer, ctx.baseline);
        result.results[name] = figures;
        progress(`${name}: ${converged ? `converged in ${figures.seconds} s` : String(figures.note)}; writes ${JSON.stringify(figures.writes)}, no-op ${figures.noopWrites}`);
      } finally {
        if (agent) {
          const { last } = await agent.stop();
          const a = result.results[name]?.agents as AgentFigures | undefined;
          if (a && last) {
            a.agentMaxRssBytes = last.maxRssBytes;
            a.agentMaxRssBytesPer1000 = Math.round((last.maxRssBytes / B) * 1000);
          }
        }
        const { last } = await proc.stop();
        const r = result.results[name];
        if (r && last) r.maxRssBytes = last.maxRssBytes;
      }
    }
  } finally {
    await view?.stop().catch(() => undefined);
    await downstream?.stop().catch(() => undefined);
  }
  const memory = result.results.flotilla?.memory as Record<string, number | null> | undefined;
  if (memory) result.notes.push(memoryNote(memory));
  if (ctx.agents) result.notes.push(...agentNotes(result, B, agentSettings));
  return result;
}

// ---------------------------------------------------------------------------
// --agents: the chain's figures and what they are compared with.

interface AgentFigures {
  agent: string;
  downstreamSeconds: number | null;
  downstreamLatencyMs: ReturnType<typeof latency>;
  summaryLatencyMs: ReturnType<typeof latency>;
  /** Write requests each API server counted in the window, by "VERB resource[/subresource]" (leases listed but kept apart). */
  apiServerWrites: { upstream: Record<string, number>; downstream: Record<string, number> };
  /** Leases (heartbeats, the API servers' own identity leases): periodic, not part of deploying. */
  backgroundWrites: { upstream: number; downstream: number };
  /** Events (the controller's and agent's reports to operators): counted apart, not part of deploying. */
  eventWrites: { upstream: number; downstream: number };
  necessaryWrites: { upstream: number; downstream: number; definition: string };
  observedWrites: { upstream: number; downstream: number };
  needlessWrites: { upstream: number; downstream: number };
  agentCpuSeconds: number;
  agentCpuSecondsPer1000: number;
  agentMaxRssBytes?: number;
  agentMaxRssBytesPer1000?: number;
  agentRequests: Record<string, number>;
}

function agentFigures(i: {
  B: number;
  agentName: string;
  downstreamSeconds: number | null;
  downstreamLatencyMs: ReturnType<typeof latency>;
  summaryLatencyMs: ReturnType<typeof latency>;
  upstreamWrites: Record<string, number>;
  downstreamWrites: Record<string, number>;
  ownUpstreamWrites: Record<string, number>;
  agentCpuSeconds: number;
  agentRequests: Record<string, number>;
}): AgentFigures & { downstreamSeconds: number | null } {
  const isLease = (key: string) => / leases$/.test(key);
  const isEvent = (key: string) => / events$/.test(key);
  const isWork = (key: string) => !isLease(key) && !isEvent(key);
  const sum = (w: Record<string, number>, pred: (k: string) => boolean) => Object.entries(w).filter(([k]) => pred(k)).reduce((a, [, n]) => a + n, 0);
  const own = sum(i.ownUpstreamWrites, () => true);
  const observed = {
    upstream: sum(i.upstreamWrites, isWork) - own,
    downstream: sum(i.downstreamWrites, isWork),
  };
  const necessary = { upstream: 3 * i.B, downstream: 2 * i.B };
  return {
    agent: i.agentName,
    downstreamSeconds: i.downstreamSeconds,
    downstreamLatencyMs: i.downstreamLatencyMs,
    summaryLatencyMs: i.summaryLatencyMs,
    apiServerWrites: { upstream: i.upstreamWrites, downstream: i.downstreamWrites },
    backgroundWrites: { upstream: sum(i.upstreamWrites, isLease), downstream: sum(i.downstreamWrites, isLease) },
    eventWrites: { upstream: sum(i.upstreamWrites, isEvent), downstream: sum(i.downstreamWrites, isEvent) },
    necessaryWrites: {
      ...necessary,
      definition: 'upstream: B BundleDeployment creates + B BundleDeployment status writes + B Bundle status writes; downstream: B resource applies + B ApplySet parent writes',
    },
    observedWrites: observed,
    needlessWrites: { upstream: observed.upstream - necessary.upstream, downstream: observed.downstream - necessary.downstream },
    agentCpuSeconds: i.agentCpuSeconds,
    agentCpuSecondsPer1000: round((i.agentCpuSeconds / i.B) * 1000, 3),
    agentRequests: i.agentRequests,
  };
}

/** The agent's own requests in its life, by verb and resource (from its flotilla_api_requests_total). */
async function agentRequests(agent: SystemProcess): Promise<Record<string, number>> {
  const m = await agent.metrics();
  const by = m.groupBy('flotilla_api_requests_total', ['verb', 'resource']);
  return Object.fromEntries(Object.entries(by).filter(([, n]) => n > 0).sort(([a], [b]) => a.localeCompare(b)));
}

function agentNotes(result: ScenarioResult, B: number, settings: AgentSettings | undefined): string[] {
  const rows = (Object.values(result.results) as SystemFigures[]).flatMap((f) => {
    const a = f.agents as AgentFigures | undefined;
    if (!a) return [];
    const direct = result.results.direct;
    return [{
      system: f.system,
      agent: a.agent,
      'end to end s': f.seconds ?? undefined,
      'vs direct': f.seconds !== null && direct?.seconds ? `${(f.seconds / direct.seconds).toFixed(2)}×` : undefined,
      'BDs exist s': f.bundleDeploymentsSeconds as number | null,
      'downstream s': a.downstreamSeconds,
      'summaries s': f.summariesSeconds as number | null,
      'BD p50/p99 s': `${fmtS(f.bundleDeploymentLatencyMs)}`,
      'downstream p50/p99 s': fmtS(a.downstreamLatencyMs),
      'summary p50/p99 s': fmtS(a.summaryLatencyMs),
      'writes up (need)': `${a.observedWrites.upstream} (${a.necessaryWrites.upstream})`,
      'writes down (need)': `${a.observedWrites.downstream} (${a.necessaryWrites.downstream})`,
      'needless up/down': `${a.needlessWrites.upstream} / ${a.needlessWrites.downstream}`,
      'agent CPU s': a.agentCpuSeconds,
      'agent CPU s/1k BD': a.agentCpuSecondsPer1000,
      'agent RSS MiB': a.agentMaxRssBytes === undefined ? undefined : round(a.agentMaxRssBytes / MiB, 1),
    }];
  });
  const detail = (Object.values(result.results) as SystemFigures[]).flatMap((f) => {
    const a = f.agents as AgentFigures | undefined;
    return a ? [`${f.system}: upstream ${JSON.stringify(a.apiServerWrites.upstream)}; downstream ${JSON.stringify(a.apiServerWrites.downstream)}`] : [];
  });
  return [
    `End to end with agents (${B} BundleDeployments; agent settings ${JSON.stringify(settings)}; direct's agent: bench/baselines/direct-agent.ts, unlimited, same durable ApplySet inventory):`,
    table(rows),
    'Writes counted by the API servers (apiserver_request_total) in the window; "need" = the minimum (upstream 3 per BundleDeployment: create, its status, its Bundle\'s status; downstream 2: the resource and its ApplySet parent); leases (heartbeats, the API servers\' own) and Events are left out (listed as backgroundWrites and eventWrites); the benchmark\'s label PATCH is subtracted.',
    ...detail,
  ];
}

function fmtS(l: unknown): string {
  const x = l as { p50?: number; p99?: number } | undefined;
  return x && Number.isFinite(x.p50) ? `${((x.p50 ?? 0) / 1000).toFixed(1)} / ${((x.p99 ?? 0) / 1000).toFixed(1)}` : '–';
}
