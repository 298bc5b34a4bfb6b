/**
 * wide: one workspace with many Clusters per Bundle (default 5,000 Clusters,
 * 40 Bundles each selecting about half of them → ~100,000
 * BundleDeployments), for the main thread's cost of one Bundle reconcile:
 * placement over every Cluster of the workspace, and the diff against the
 * Bundle's thousands of BundleDeployments (docs/architecture.md#worker-pool).
 *
 * Clusters are spread round-robin over 20 shards (`shard=s<k>`); each Bundle
 * selects `round(selectivity × 20)` shards (`shard In [...]`), a different
 * seeded subset per Bundle. Deployment namespaces are created by the seeder
 * (as buckets.ts does). The world is converged by Flotilla first (not timed).
 *
 * Per system, after it is ready and idle over the converged world:
 *  1. recompute: every Bundle's selector is rewritten to select the same
 *     Clusters (an `Exists` expression added or removed): one reconcile per
 *     Bundle recomputes the placement and diffs all its BundleDeployments
 *     and writes nothing but its status (observedGeneration). Timed until
 *     every Bundle's status shows its new generation.
 *  2. shift (the fan-out; the system's main row): every Bundle swaps one of
 *     its shards for one it did not select: per Bundle N/20 creates and N/20
 *     deletes. Timed until the BundleDeployments and summaries are right.
 *  Then the system itself shifts the Bundles back (not timed), which restores
 *  the starting state for the next system.
 *
 * Per phase: seconds, writes, CPU, main-thread ms per Bundle reconcile,
 * the placement step's mean main-thread ms, event-loop delay p99, reconciles
 * and pool tasks (bench/systems: Flotilla's extra figures). Only Flotilla
 * runs it (the baselines have no placement to measure); run it twice with
 * different `concurrency.poolPlacementThreshold` for inline vs pooled.
 */
import { performance } from 'node:perf_hooks';
import { KindResources as T } from '../../src/api/kinds.ts';
import { deploymentNamespaceFor } from '../../src/placement/deployment-namespace.ts';
import { PatchType } from '../../src/runtime/kube/client.ts';
import { builtinTypes, type KubeObject } from '../../src/runtime/kube/resource.ts';
import { seededRandom } from '../../test/support/random.ts';
import { deploymentNamespaceObject } from '../baselines/world.ts';
import { Window, type SystemFigures } from '../lib/measure.ts';
import { progress, table } from '../lib/report.ts';
import { createBundles, createClusters, createWorkspace, ignore409, mapConcurrent, SEED_CONCURRENCY } from '../lib/world.ts';
import { systemSpec } from '../systems/index.ts';
import { convergeWithFlotilla, deadlineFor, notConvergedNote, until, type ScenarioContext, type ScenarioResult } from './common.ts';

const WS = 'bench-wide';
export const SHARDS = 20;

export interface WideWorld {
  clusters: string[];
  bundles: string[];
  shardOf: (clusterIndex: number) => string;
  /** Each Bundle's selected shards, as seeded. */
  shards: string[][];
}

export function wideWorld(clusters: number, bundles: number, selectivity: number, seed: number): WideWorld {
  const perBundle = Math.min(SHARDS - 1, Math.max(1, Math.round(selectivity * SHARDS)));
  const random = seededRandom(seed);
  const all = Array.from({ length: SHARDS }, (_, k) => `s${k}`);
  const shards = Array.from({ length: bundles }, () => {
    const pool = [...all];
    const picked: string[] = [];
    while (picked.length < perBundle) picked.push(pool.splice(Math.floor(random() * pool.length), 1)[0] as string);
    return picked.sort();
  });
  return {
    clusters: Array.from({ length: clusters }, (_, i) => `c-${String(i).padStart(5, '0')}`),
    bundles: Array.from({ length: bundles }, (_, i) => `wide-${String(i).padStart(3, '0')}`),
    shardOf: (i) => `s${i % SHARDS}`,
    shards,
  };
}

/** The targets of a Bundle selecting `shards`; `exists` adds an expression that selects the same Clusters. */
export function wideTargets(shards: readonly string[], exists = false): unknown[] {
  const matchExpressions: unknown[] = [{ key: 'shard', operator: 'In', values: [...shards] }];
  if (exists) matchExpressions.push({ key: 'shard', operator: 'Exists' });
  return [{ clusterSelector: { matchExpressions } }];
}

/** `shards` with its first shard replaced by the lowest one it lacks. */
export function shifted(shards: readonly string[]): string[] {
  const missing = Array.from({ length: SHARDS }, (_, k) => `s${k}`).find((s) => !shards.includes(s));
  return missing === undefined ? [...shards] : [...shards.slice(1), missing].sort();
}

const generationObserved = (b: KubeObject | undefined) => b !== undefined && (b.status as { observedGeneration?: number } | undefined)?.observedGeneration === b.metadata.generation;
const desiredReady = (b: KubeObject | undefined) => (b?.status as { summary?: { desiredReady?: number } } | undefined)?.summary?.desiredReady;

export async function wide(ctx: ScenarioContext): Promise<ScenarioResult> {
  const { admin } = ctx.env;
  const { observer } = ctx;
  const w = wideWorld(ctx.options.clusters, ctx.options.bundles, ctx.options.selectivity, ctx.options.seed);
  const clustersInShard = new Map<string, string[]>();
  w.clusters.forEach((c, i) => clustersInShard.set(w.shardOf(i), [...(clustersInShard.get(w.shardOf(i)) ?? []), c]));
  const expectedFor = (shards: readonly string[]) => shards.reduce((n, s) => n + (clustersInShard.get(s)?.length ?? 0), 0);
  const expected = w.shards.reduce((n, s) => n + expectedFor(s), 0);

  progress(`seeding: workspace ${WS}, ${w.clusters.length} clusters in ${SHARDS} shards, ${w.bundles.length} bundles of ${w.shards[0]?.length ?? 0} shards each → ${expected} BundleDeployments`);
  await createWorkspace(admin, WS);
  await mapConcurrent(w.clusters, SEED_CONCURRENCY, (c) => ignore409(admin.create(builtinTypes.namespace, deploymentNamespaceObject(WS, c))));
  await createClusters(admin, WS, w.clusters.map((name, i) => ({ name, labels: { shard: w.shardOf(i) } })));
  await createBundles(admin, WS, w.bundles.map((name, i) => ({ name, targets: wideTargets(w.shards[i] ?? []) })));

  const namespaces = new Map(w.clusters.map((c) => [c, deploymentNamespaceFor(WS, c)]));
  /** Converged for `selection` (each Bundle's shards): exactly those BundleDeployments, and every summary's count. */
  const convergedFor = (selection: readonly (readonly string[])[]) => {
    const wanted = new Map<string, Set<string>>();
    w.bundles.forEach((b, i) => {
      for (const s of selection[i] ?? []) for (const c of clustersInShard.get(s) ?? []) {
        let set = wanted.get(c);
        if (!set) wanted.set(c, (set = new Set()));
        set.add(b);
      }
    });
    return () => convergence(wanted, selection);
  };
  const convergence = (wanted: ReadonlyMap<string, ReadonlySet<string>>, selection: readonly (readonly string[])[]) => {
    let done = 0;
    let total = 0;
    for (const c of w.clusters) {
      const want = wanted.get(c) ?? new Set<string>();
      const have = observer.stores.BundleDeployment.byIndex('namespace', namespaces.get(c) ?? '');
      const good = have.filter((bd) => want.has(bd.metadata.name ?? '') && !bd.metadata.deletionTimestamp).length;
      done += Math.max(0, good - (have.length - good));
      total += want.size;
    }
    w.bundles.forEach((b, i) => {
      total++;
      if (desiredReady(observer.stores.Bundle.getByName(WS, b)) === expectedFor(selection[i] ?? [])) done++;
    });
    return { done, total };
  };
  const patchAll = (targets: (i: number) => unknown[]) =>
    mapConcurrent(w.bundles, SEED_CONCURRENCY, (b, i) => admin.patch(T.Bundle, b, WS, { spec: { targets: targets(i) } }, { contentType: PatchType.merge }));

  const result: ScenarioResult = {
    parameters: { workspace: WS, clusters: w.clusters.length, bundles: w.bundles.length, selectivity: ctx.options.selectivity, shards: SHARDS, shardsPerBundle: w.shards[0]?.length ?? 0, seed: ctx.options.seed, seededBundleDeployments: expected },
    results: {},
    extra: {},
    notes: [],
  };
  // The baselines have no placement to measure; anything else is Flotilla (or a variant of it).
  const baselines: readonly string[] = ['direct', 'direct-go', 'naive'];
  const systems = ctx.systems.filter((s) => !baselines.includes(s));
  if (systems.length < ctx.systems.length) result.notes.push(`wide measures Flotilla's placement only; skipped: ${ctx.systems.filter((s) => baselines.includes(s)).join(', ')}`);
  if (systems.length === 0) return result;

  await convergeWithFlotilla(ctx, `${expected} BundleDeployments and ${w.bundles.length} summaries`, convergedFor(w.shards));

  const recompute: Record<string, SystemFigures> = {};
  let exists = false;
  for (const name of systems) {
    const spec = systemSpec(name, ctx.run);
    progress(`${name}: starting (${JSON.stringify(spec.settings)})`);
    const proc = await spec.start({ kubeconfig: ctx.env.systemKubeconfig, ...(ctx.wrap ? { wrap: ctx.wrap } : {}) });
    try {
      await proc.waitForReady();
      await proc.waitForIdle({ stableMs: 2000, timeoutMs: deadlineFor(ctx, name) + 600_000 });
      const timeoutMs = deadlineFor(ctx, name);

      // 1. recompute: same Clusters, new generation.
      exists = !exists;
      let window = await Window.open(spec, proc, observer, { controlPlane: ctx.env.controlPlane });
      let t0 = performance.now();
      await patchAll((i) => wideTargets(w.shards[i] ?? [], exists));
      window.ownWrites = w.bundles.length;
      progress(`${name}: recompute — every Bundle's selector rewritten (same Clusters)`);
      const rc = await until(`${name} recompute`, () => ({ done: w.bundles.filter((b) => generationObserved(observer.stores.Bundle.getByName(WS, b))).length, total: w.bundles.length }), { since: t0, timeoutMs, system: proc });
      if (rc.ok) await proc.waitForIdle({ stableMs: 2000, timeoutMs: 300_000 });
      recompute[name] = await window.close({ converged: rc.ok, seconds: rc.ok ? rc.seconds : null, ...(rc.ok ? {} : { note: notConvergedNote(rc.seconds, rc.fraction).note }) });
      progress(`${name}: recompute ${rc.ok ? `done in ${rc.seconds.toFixed(1)} s` : 'NOT done'}; ${phaseLine(recompute[name])}`);

      // 2. shift: the fan-out.
      const moved = w.shards.map(shifted);
      window = await Window.open(spec, proc, observer, { controlPlane: ctx.env.controlPlane });
      t0 = performance.now();
      await patchAll((i) => wideTargets(moved[i] ?? [], exists));
      window.ownWrites = w.bundles.length;
      const moves = moved.reduce((n, s, i) => {
        const was = w.shards[i] ?? [];
        return n + expectedFor(s.filter((k) => !was.includes(k))) + expectedFor(was.filter((k) => !s.includes(k)));
      }, 0);
      progress(`${name}: shift — every Bundle swaps one shard (${moves} BundleDeployment creates + deletes)`);
      const sh = await until(`${name} shift`, convergedFor(moved), { since: t0, timeoutMs, system: proc, intervalMs: 250 });
      if (sh.ok) await proc.waitForIdle({ stableMs: 2000, timeoutMs: 300_000 });
      const figures = await window.close({ converged: sh.ok, seconds: sh.ok ? sh.seconds : null, ...(sh.ok ? {} : { note: notConvergedNote(sh.seconds, sh.fraction).note }) });
      result.results[name] = figures;
      progress(`${name}: shift ${sh.ok ? `converged in ${sh.seconds.toFixed(1)} s` : 'NOT converged'}; ${phaseLine(figures)}`);

      // Back to the starting selection, by the system itself (not timed).
      progress(`${name}: shifting back (not timed)`);
      await patchAll((i) => wideTargets(w.shards[i] ?? [], exists));
      const back = await until(`${name} shift back`, convergedFor(w.shards), { since: performance.now(), timeoutMs: Math.max(timeoutMs, 600_000), system: proc, intervalMs: 250 });
      if (!back.ok) throw new Error(`${name} did not restore the starting state in time`);
      await proc.waitForIdle({ stableMs: 2000, timeoutMs: 300_000 });
    } finally {
      const { last } = await proc.stop();
      const r = result.results[name];
      if (r && last) r.maxRssBytes = last.maxRssBytes;
    }
  }
  result.extra.recompute = recompute;
  const rows = [
    ...Object.values(recompute).map((f) => phaseRow('recompute', f)),
    ...(Object.values(result.results) as SystemFigures[]).map((f) => phaseRow('shift', f)),
  ];
  result.notes.push(
    'Main thread per phase (main-thread ms/Bundle reconcile = flotilla_main_thread_cpu_seconds_total over controller_runtime_reconcile_total{controller="bundle"} in the window, all its other work included; placement ms = the placement step alone; event-loop p99 from flotilla_event_loop_delay_seconds):',
    table(rows),
  );
  return result;
}

function phaseRow(phase: string, f: SystemFigures): Record<string, string | number | undefined> {
  return {
    phase,
    system: f.system,
    seconds: f.seconds ?? undefined,
    writes: f.writesTotal,
    'CPU s': f.cpuSeconds,
    'main-thread CPU s': f.mainThreadCpuSeconds as number,
    'Bundle reconciles': f.bundleReconciles as number,
    'main-thread ms/Bundle reconcile': f.mainThreadMsPerBundleReconcile as number,
    'placement ms (mean)': f.placementMainThreadMsMean as number,
    'event-loop p99 ms': f.eventLoopDelayP99Ms as number,
    'plans pooled/inline': `${f.placementPlansPooled as number}/${f.placementPlansInline as number}`,
    'pool tasks': f.poolTasks as number,
  };
}

function phaseLine(f: SystemFigures): string {
  return `writes ${f.writesTotal}, main-thread ${String(f.mainThreadMsPerBundleReconcile)} ms/Bundle reconcile, placement ${String(f.placementMainThreadMsMean)} ms, event-loop p99 ${String(f.eventLoopDelayP99Ms)} ms`;
}
