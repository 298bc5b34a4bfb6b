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
 */
import { performance } from 'node:perf_hooks';
import { deploymentNamespaceFor } from '../../src/placement/deployment-namespace.ts';
import { PatchType } from '../../src/runtime/kube/client.ts';
import type { KubeObject } from '../../src/runtime/kube/resource.ts';
import { KindResources as T } from '../../src/api/kinds.ts';
import { memoryFigures, Window } from '../lib/measure.ts';
import { MiB, percentile, progress, round } from '../lib/report.ts';
import { createBundles, createClusters, createWorkspace, deleteBundleDeploymentsIn, mapConcurrent, mergePatchStatus, SEED_CONCURRENCY } from '../lib/world.ts';
import { systemSpec } from '../systems/index.ts';
import { convergeWithFlotilla, deadlineFor, notConvergedNote, until, type ScenarioContext, type ScenarioResult } from './common.ts';

const WS = 'bench-flip';
const FLIP = 'flip';
const PROD = { env: 'prod' };
const BUNDLES_PER_REPO = 10;

const desiredReady = (b: KubeObject | undefined): number | undefined => ((b?.status as { summary?: { desiredReady?: number } } | undefined)?.summary?.desiredReady);

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
  const flipCluster = observer.stores.Cluster.getByName(WS, FLIP);
  const flipStatus = structuredClone(flipCluster?.status);

  async function reset(): Promise<void> {
    progress('resetting the world to the starting state');
    await admin.patch(T.Cluster, FLIP, WS, { metadata: { labels: { env: 'staging' } } }, { contentType: PatchType.merge });
    await deleteBundleDeploymentsIn(admin, flipNs);
    const changed = bundlesIn().filter((b) => JSON.stringify(b.status) !== JSON.stringify(bundleStatus.get(b.metadata.name ?? '')));
    await mapConcurrent(changed, SEED_CONCURRENCY, (b) => mergePatchStatus(admin, 'Bundle', b, bundleStatus.get(b.metadata.name ?? '')));
    const cluster = observer.stores.Cluster.getByName(WS, FLIP);
    if (cluster) await mergePatchStatus(admin, 'Cluster', cluster, flipStatus);
    await until('reset', () => ({ done: (bdCount(flipNs) === 0 ? 1 : 0) + summariesAt(N), total: 1 + B }), { since: performance.now(), timeoutMs: 300_000 });
  }

  const result: ScenarioResult = {
    parameters: { workspace: WS, bundles: B, clusters: N, bundlesPerRepo: BUNDLES_PER_REPO, seededBundleDeployments: N * B, newBundleDeployments: B },
    results: {},
    extra: {},
    notes: [],
  };
  let first = true;
  for (const name of ctx.systems) {
    if (!first) await reset();
    first = false;
    const spec = systemSpec(name, ctx.run);
    progress(`${name}: starting (${JSON.stringify(spec.settings)})`);
    const proc = await spec.start({ kubeconfig: ctx.env.systemKubeconfig, ...(name === 'flotilla' && ctx.wrap ? { wrap: ctx.wrap } : {}) });
    try {
      const t0 = performance.now();
      await proc.waitForReady();
      progress(`${name}: ready after ${((performance.now() - t0) / 1000).toFixed(1)} s; waiting until idle before the flip`);
      await proc.waitForIdle({ stableMs: 2000, timeoutMs: deadlineFor(ctx, name) + 600_000 });

      const bdSeen: number[] = [];
      const window = await Window.open(spec, proc, observer);
      const flipAt = performance.now();
      const unsubscribe = observer.on((e) => {
        if (e.kind === 'BundleDeployment' && e.type === 'ADDED' && e.obj.metadata.namespace === flipNs) bdSeen.push(e.at - flipAt);
      });
      await admin.patch(T.Cluster, FLIP, WS, { metadata: { labels: PROD } }, { contentType: PatchType.merge });
      window.ownWrites = 1;
      progress(`${name}: flipped ${WS}/${FLIP} to env=prod`);
      const timeoutMs = deadlineFor(ctx, name);
      const bds = await until(`${name} BundleDeployments`, () => ({ done: bdCount(flipNs), total: B }), { since: flipAt, timeoutMs, system: proc });
      const sums = bds.ok
        ? await until(`${name} summaries`, () => ({ done: summariesAt(N + 1), total: B }), { since: flipAt, timeoutMs, system: proc })
        : { ok: false, seconds: bds.seconds, fraction: 0 };
      unsubscribe();
      const converged = bds.ok && sums.ok;
      const fraction = (bds.fraction + sums.fraction) / 2;
      if (converged) await proc.waitForIdle({ stableMs: 2000, timeoutMs: 300_000 });
      const figures = await window.close({ converged, seconds: converged ? sums.seconds : null, ...(converged ? {} : { note: notConvergedNote(bds.seconds, fraction).note }) });
      Object.assign(figures, {
        bundleDeploymentsSeconds: bds.ok ? round((Math.max(...bdSeen, 0)) / 1000, 3) : null,
        summariesSeconds: sums.ok ? round(sums.seconds, 3) : null,
        bundleDeploymentLatencyMs: { p50: round(percentile(bdSeen, 50), 1), p99: round(percentile(bdSeen, 99), 1), max: round(bdSeen.length > 0 ? Math.max(...bdSeen) : Number.NaN, 1), count: bdSeen.length },
        ...(converged ? {} : notConvergedNote(bds.ok ? sums.seconds : bds.seconds, fraction)),
      });
      if (name === 'flotilla') figures.memory = await memoryFigures(proc, observer);
      result.results[name] = figures;
      progress(`${name}: ${converged ? `converged in ${figures.seconds} s` : String(figures.note)}; writes ${JSON.stringify(figures.writes)}, no-op ${figures.noopWrites}`);
    } finally {
      const { last } = await proc.stop();
      const r = result.results[name];
      if (r && last) r.maxRssBytes = last.maxRssBytes;
    }
  }
  const flo = result.results.flotilla;
  if (flo?.memory) {
    const m = flo.memory as { cachedObjects: number; jsonBytesPerObject: number; heapBytesPerObject: number; heapUsedBytes: number };
    result.notes.push(
      `Flotilla memory after the flip: ${m.cachedObjects} cached objects, ${m.jsonBytesPerObject} B of JSON each; heap used ${(m.heapUsedBytes / MiB).toFixed(0)} MiB = ${m.heapBytesPerObject} B per object (baseline included).`,
    );
  }
  return result;
}
