/**
 * cold-start: `clusters` × `bundles` at `selectivity` (default 200 × 500 at
 * 20 % → 20,000 BundleDeployments) from a world where nothing is deployed
 * yet. Per system: time from starting its process until every
 * BundleDeployment exists and every summary is right, with the window's
 * figures. Then, for each system that converged, a restart over the
 * converged world: time to ready, time to idle, and the writes it performs
 * (Flotilla's promise: zero).
 *
 * Between systems the world is reset to nothing deployed (bucket.ts).
 */
import { performance } from 'node:perf_hooks';
import { readControlPlane, Window, type SystemFigures } from '../lib/measure.ts';
import { memoryFigures, memoryNote } from '../lib/memory.ts';
import { progress, round } from '../lib/report.ts';
import { systemSpec } from '../systems/index.ts';
import { bucketWorld, convergence, resetToEmpty, seedBucketWorld } from './buckets.ts';
import { deadlineFor, notConvergedNote, until, type ScenarioContext, type ScenarioResult } from './common.ts';

export async function coldStart(ctx: ScenarioContext): Promise<ScenarioResult> {
  const { admin } = ctx.env;
  const { observer } = ctx;
  const w = bucketWorld('bench-cold', ctx.options.clusters, ctx.options.bundles, ctx.options.selectivity);
  await seedBucketWorld(admin, w);
  const converged = convergence(w, observer, (c) => w.initialBucket.get(c) ?? '');

  const result: ScenarioResult = {
    parameters: { workspace: w.ws, clusters: w.clusters.length, bundles: w.bundles.length, selectivity: ctx.options.selectivity, buckets: w.buckets, expectedBundleDeployments: w.expectedBundleDeployments },
    results: {},
    extra: {},
    notes: [],
  };
  const restarts: Record<string, SystemFigures> = {};
  let first = true;
  for (const name of ctx.systems) {
    if (!first) await resetToEmpty(admin, w, observer);
    first = false;
    const spec = systemSpec(name, ctx.run);
    progress(`${name}: cold start (${JSON.stringify(spec.settings)})`);
    observer.resetCounts();
    const cpBefore = await readControlPlane(ctx.env.controlPlane);
    const t0 = performance.now();
    const proc = await spec.start({ kubeconfig: ctx.env.systemKubeconfig, ...(spec.kind === 'flotilla' && ctx.wrap ? { wrap: ctx.wrap } : {}) });
    let ok = false;
    try {
      const window = await Window.open(spec, proc, observer, { fromProcessStart: true, controlPlane: ctx.env.controlPlane, controlPlaneBefore: cpBefore });
      await proc.waitForReady();
      const readySeconds = (performance.now() - t0) / 1000;
      const r = await until(`${name} converging`, converged, { since: t0, timeoutMs: deadlineFor(ctx, name), intervalMs: 200, system: proc });
      ok = r.ok;
      if (ok) await proc.waitForIdle({ stableMs: 2000, timeoutMs: 300_000 });
      const figures = await window.close({ converged: ok, seconds: ok ? r.seconds : null, ...(ok ? {} : { note: notConvergedNote(r.seconds, r.fraction).note }) });
      Object.assign(figures, { readySeconds: round(readySeconds, 3), ...(ok ? {} : notConvergedNote(r.seconds, r.fraction)) });
      if (spec.kind === 'flotilla') figures.memory = await memoryFigures(proc, observer, ctx.baseline);
      result.results[name] = figures;
      progress(`${name}: ${ok ? `converged in ${figures.seconds} s` : String(figures.note)}; writes ${JSON.stringify(figures.writes)}, no-op ${figures.noopWrites}`);
    } finally {
      const { last } = await proc.stop();
      const r = result.results[name];
      if (r && last) r.maxRssBytes = last.maxRssBytes;
    }
    if (!ok) continue;

    progress(`${name}: restart over the converged world`);
    observer.resetCounts();
    const cpBeforeRestart = await readControlPlane(ctx.env.controlPlane);
    const t1 = performance.now();
    const again = await spec.start({ kubeconfig: ctx.env.systemKubeconfig, label: `${name}-restart`, ...(spec.kind === 'flotilla' && ctx.wrap ? { wrap: ctx.wrap } : {}) });
    try {
      const window = await Window.open(spec, again, observer, { fromProcessStart: true, controlPlane: ctx.env.controlPlane, controlPlaneBefore: cpBeforeRestart });
      await again.waitForReady();
      const readySeconds = (performance.now() - t1) / 1000;
      await again.waitForIdle({ stableMs: 3000, timeoutMs: deadlineFor(ctx, name) });
      // Idle is declared after 3 s without a reconcile: those 3 s are not part of the work.
      const idleSeconds = (performance.now() - t1) / 1000 - 3;
      const still = converged();
      const figures = await window.close({ converged: still.done >= still.total, seconds: round(idleSeconds, 3) });
      Object.assign(figures, { readySeconds: round(readySeconds, 3), idleSeconds: round(idleSeconds, 3) });
      // A fresh controller over the converged world, settled: what it costs to hold this world.
      if (name === 'flotilla') figures.memory = await memoryFigures(again, observer, ctx.baseline);
      restarts[name] = figures;
      progress(`${name} restart: ready in ${readySeconds.toFixed(2)} s, idle after ${idleSeconds.toFixed(1)} s, writes ${figures.writesTotal}`);
    } finally {
      const { last } = await again.stop();
      if (restarts[name] && last) restarts[name].maxRssBytes = last.maxRssBytes;
    }
  }
  result.extra.restart = restarts;
  const memory = result.results.flotilla?.memory as Record<string, number | null> | undefined;
  if (memory) result.notes.push(`After the cold start: ${memoryNote(memory)}`);
  const fresh = restarts.flotilla?.memory as Record<string, number | null> | undefined;
  if (fresh) result.notes.push(`Restarted over the converged world: ${memoryNote(fresh)}`);
  const rows = Object.values(restarts).map((f) => `${f.system}: ready ${f.readySeconds} s, idle ${f.idleSeconds} s, writes ${f.writesTotal} (${JSON.stringify(f.writes)}), API requests ${f.apiRequests}, CPU ${f.cpuSeconds} s`);
  if (rows.length > 0) result.notes.push(`Restart over the converged world (goal for Flotilla: ready < 10 s, zero writes):\n  ${rows.join('\n  ')}`);
  return result;
}
