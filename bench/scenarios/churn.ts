/**
 * churn: the bucket world (bucket.ts) converged; then for `duration`
 * seconds, every second, `rate` × clusters Clusters (at least one) move to
 * another bucket — the same seeded sequence for every system. Each move
 * changes which Bundles target that Cluster, so its deployment namespace must
 * end up holding exactly the new bucket's Bundles. Lag of a change = from its
 * label PATCH until the benchmark's watch shows that namespace right.
 * A Cluster is not moved again while its previous move is unconverged.
 *
 * Between systems Flotilla (untimed) puts the world back to the converged
 * starting labels.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { deploymentNamespaceFor } from '../../src/placement/deployment-namespace.ts';
import { KindResources as T } from '../../src/api/kinds.ts';
import { PatchType } from '../../src/runtime/kube/client.ts';
import { seededRandom } from '../../test/support/random.ts';
import { Window } from '../lib/measure.ts';
import { percentile, progress, round } from '../lib/report.ts';
import { systemSpec } from '../systems/index.ts';
import { bucketWorld, convergence, relabel, seedBucketWorld } from './buckets.ts';
import { convergeWithFlotilla, deadlineFor, notConvergedNote, until, type ScenarioContext, type ScenarioResult } from './common.ts';

interface Move {
  at: number;
  cluster: string;
  bucket: string;
}

export async function churn(ctx: ScenarioContext): Promise<ScenarioResult> {
  const { admin } = ctx.env;
  const { observer } = ctx;
  const w = bucketWorld('bench-churn', ctx.options.clusters, ctx.options.bundles, ctx.options.selectivity);
  if (w.buckets < 2) throw new Error('churn needs at least two buckets: use --selectivity ≤ 0.5');
  await seedBucketWorld(admin, w);
  const perSecond = Math.max(1, Math.round(ctx.options.rate * w.clusters.length));

  // The schedule: which Cluster moves to which bucket, second by second; the
  // same for every system. A Cluster still pending is skipped at run time.
  const random = seededRandom(ctx.options.seed);
  const schedule: Array<Array<{ cluster: string; step: number }>> = Array.from({ length: ctx.options.durationSeconds }, () =>
    Array.from({ length: perSecond }, () => ({ cluster: w.clusters[Math.floor(random() * w.clusters.length)] as string, step: 1 + Math.floor(random() * (w.buckets - 1)) })),
  );

  const result: ScenarioResult = {
    parameters: { workspace: w.ws, clusters: w.clusters.length, bundles: w.bundles.length, selectivity: ctx.options.selectivity, buckets: w.buckets, movesPerSecond: perSecond, durationSeconds: ctx.options.durationSeconds, seed: ctx.options.seed },
    results: {},
    extra: {},
    notes: [],
  };
  for (const name of ctx.systems) {
    const labels = new Map(w.initialBucket);
    const startingState = convergence(w, observer, (c) => w.initialBucket.get(c) ?? '');
    const relabelled = await relabel(admin, w, observer, (c) => w.initialBucket.get(c) ?? '');
    const now = startingState();
    if (relabelled > 0 || now.done < now.total) await convergeWithFlotilla(ctx, 'starting labels', startingState);
    const spec = systemSpec(name, ctx.run);
    progress(`${name}: starting (${JSON.stringify(spec.settings)})`);
    const proc = await spec.start({ kubeconfig: ctx.env.systemKubeconfig, ...(spec.kind === 'flotilla' && ctx.wrap ? { wrap: ctx.wrap } : {}) });
    try {
      await proc.waitForReady();
      await proc.waitForIdle({ stableMs: 2000, timeoutMs: deadlineFor(ctx, name) + 600_000 });
      const pending = new Map<string, Move>();
      const lags: number[] = [];
      let superseded = 0;
      const check = (cluster: string, now: number) => {
        const move = pending.get(cluster);
        if (!move) return;
        const want = new Set(w.bundlesOfBucket.get(move.bucket) ?? []);
        const have = observer.stores.BundleDeployment.byIndex('namespace', deploymentNamespaceFor(w.ws, cluster));
        if (have.length === want.size && have.every((bd) => want.has(bd.metadata.name ?? ''))) {
          lags.push(now - move.at);
          pending.delete(cluster);
        }
      };
      const clusterOfNs = new Map(w.clusters.map((c) => [deploymentNamespaceFor(w.ws, c), c]));
      const window = await Window.open(spec, proc, observer, { controlPlane: ctx.env.controlPlane });
      const unsubscribe = observer.on((e) => {
        if (e.kind !== 'BundleDeployment') return;
        const cluster = clusterOfNs.get(e.obj.metadata.namespace ?? '');
        if (cluster) check(cluster, e.at);
      });
      const t0 = performance.now();
      let moves = 0;
      for (let s = 0; s < schedule.length; s++) {
        const tick = t0 + s * 1000;
        if (performance.now() < tick) await sleep(tick - performance.now());
        await Promise.all(
          (schedule[s] ?? []).map(async ({ cluster, step }) => {
            if (pending.has(cluster)) {
              superseded++;
              return;
            }
            const current = Number((labels.get(cluster) ?? 'b0').slice(1));
            const bucket = `b${(current + step) % w.buckets}`;
            labels.set(cluster, bucket);
            const move = { at: performance.now(), cluster, bucket };
            pending.set(cluster, move);
            moves++;
            await admin.patch(T.Cluster, cluster, w.ws, { metadata: { labels: { bucket } } }, { contentType: PatchType.merge });
          }),
        );
        if (s % 10 === 9) progress(`  ${name}: ${s + 1} s of churn, ${moves} moves, ${lags.length} converged, ${pending.size} pending`);
      }
      window.ownWrites = moves;
      const drained = await until(`${name} last moves`, () => ({ done: lags.length, total: moves }), { since: t0, timeoutMs: deadlineFor(ctx, name) + schedule.length * 1000, system: proc });
      const final = drained.ok
        ? await until(`${name} summaries`, convergence(w, observer, (c) => labels.get(c) ?? ''), { since: t0, timeoutMs: deadlineFor(ctx, name), system: proc })
        : drained;
      unsubscribe();
      const ok = drained.ok && final.ok;
      if (ok) await proc.waitForIdle({ stableMs: 2000, timeoutMs: 300_000 });
      const figures = await window.close({ converged: ok, seconds: ok ? final.seconds : null, ...(ok ? {} : { note: notConvergedNote(drained.seconds, lags.length / Math.max(1, moves)).note }) });
      Object.assign(figures, {
        moves,
        skippedWhilePending: superseded,
        movesConverged: lags.length,
        lagMs: { p50: round(percentile(lags, 50), 1), p90: round(percentile(lags, 90), 1), p99: round(percentile(lags, 99), 1), max: round(lags.length > 0 ? Math.max(...lags) : Number.NaN, 1) },
      });
      result.results[name] = figures;
      progress(`${name}: ${moves} moves, lag p50 ${round(percentile(lags, 50), 0)} ms p99 ${round(percentile(lags, 99), 0)} ms; ${ok ? 'converged' : 'NOT converged'}`);
    } finally {
      const { last } = await proc.stop();
      const r = result.results[name];
      if (r && last) r.maxRssBytes = last.maxRssBytes;
    }
  }
  result.notes.push(
    'Lag per move (label PATCH → its deployment namespace right):\n' +
      Object.values(result.results)
        .map((f) => {
          const l = f.lagMs as { p50: number; p90: number; p99: number; max: number };
          return `  ${f.system}: ${f.movesConverged}/${f.moves} moves converged, p50 ${l.p50} ms, p90 ${l.p90} ms, p99 ${l.p99} ms, max ${l.max} ms`;
        })
        .join('\n'),
  );
  return result;
}
