import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRegistry } from '../../../src/observability/metrics.ts';
import { KubeClient, PatchType } from '../../../src/runtime/kube/client.ts';
import { T, listAll, reportLoggedProblems, startPlacementEnv, waitForConvergence, type FlotillaProcess, type Obj, type PlacementEnv } from '../../support/flotilla.ts';
import { foreignSpec, placementConvergence, reportRecovery, seedWorld, startConverged } from '../../support/faults.ts';
import { delta, type Metrics } from '../../support/metrics.ts';
import { seededRandom } from '../../support/random.ts';
import { waitFor } from '../../../src/util/wait.ts';

/**
 * Scenario 6: another writer (its own client and field manager) keeps
 * changing what the controller owns: BundleDeployment specs, by server-side
 * apply with force (taking the fields' ownership) and by merge patch, and
 * Bundle and Cluster status. It also sets a label and an annotation of its
 * own. The controller's view must win on its fields, the other writer's
 * own fields must be left alone, and nothing may loop: once the other
 * writer stops, the controller settles and its write counters stop.
 */

const ws = 'conflicts';
const INTRUDE_MS = 20_000;
const INTRUDERS = 4;
const OWN_LABEL = 'intruder.example/owned';
const OWN_ANNOTATION = 'intruder.example/touched';
let env: PlacementEnv;
let flotilla: FlotillaProcess | undefined;
let intruder: KubeClient | undefined;

before(async () => {
  env = await startPlacementEnv();
  await seedWorld(env.admin, { workspace: ws, clusters: 5, bundles: 20 });
  intruder = new KubeClient({
    kubeConfig: env.adminKubeConfig,
    registry: createRegistry({ defaultMetrics: false }),
    userAgent: 'intruder',
    fieldManager: 'intruder',
  });
});

after(async () => {
  if (flotilla) reportLoggedProblems(flotilla);
  await intruder?.close();
  await env?.stop();
});

const keyOf = (o: Obj) => `${o.metadata.namespace}/${o.metadata.name}`;
const writes = (m: Metrics) => m.sum('flotilla_writes_total');

test('another writer fights over BundleDeployment specs and Bundle status: the controller wins on its fields, leaves the others, and settles', async () => {
  const { admin } = env;
  const other = intruder as KubeClient;
  const { proc, idle: metricsBefore } = await startConverged(env, 'flotilla-conflicts');
  flotilla = proc;
  const bds = await listAll(admin, T.BundleDeployment);
  const bundles = await listAll(admin, T.Bundle, { namespace: ws });
  const clusters = await listAll(admin, T.Cluster, { namespace: ws });
  const clusterStatusBefore = new Map(clusters.map((c) => [keyOf(c), JSON.stringify({ namespace: c.status?.namespace, summary: c.status?.summary, display: c.status?.display })]));
  const specBefore = new Map(bds.map((bd) => [keyOf(bd), JSON.stringify(bd.spec)]));
  const bdApiVersion = `${T.BundleDeployment.group}/${T.BundleDeployment.version}`;

  const random = seededRandom(6);
  const pick = <X>(xs: readonly X[]): X => xs[Math.floor(random() * xs.length)] as X;
  const counts = { bdApply: 0, bdPatch: 0, bundleStatus: 0, clusterStatus: 0, failed: 0 };
  const touchedBds = new Set<string>();
  const touchedBundles = new Set<string>();
  const touchedClusters = new Set<string>();
  let n = 0;
  const startedAt = Date.now();
  const intrude = async () => {
    while (Date.now() - startedAt < INTRUDE_MS) {
      const i = n++;
      const roll = random();
      try {
        if (roll < 0.3) {
          const bd = pick(bds);
          await other.apply(
            T.BundleDeployment,
            {
              apiVersion: bdApiVersion,
              kind: 'BundleDeployment',
              metadata: { name: bd.metadata.name, namespace: bd.metadata.namespace, labels: { [OWN_LABEL]: 'yes' }, annotations: { [OWN_ANNOTATION]: String(i) } },
              spec: foreignSpec(`apply-${i}`),
            },
            { force: true },
          );
          counts.bdApply++;
          touchedBds.add(keyOf(bd));
        } else if (roll < 0.6) {
          const bd = pick(bds);
          await other.patch(T.BundleDeployment, bd.metadata.name ?? '', bd.metadata.namespace, {
            metadata: { labels: { [OWN_LABEL]: 'yes' }, annotations: { [OWN_ANNOTATION]: String(i) } },
            spec: foreignSpec(`patch-${i}`),
          });
          counts.bdPatch++;
          touchedBds.add(keyOf(bd));
        } else if (roll < 0.85) {
          const b = pick(bundles);
          await other.patch(T.Bundle, b.metadata.name ?? '', ws, { metadata: { labels: { [OWN_LABEL]: 'yes' } } }, { contentType: PatchType.merge });
          await other.patch(
            T.Bundle,
            b.metadata.name ?? '',
            ws,
            { status: { summary: { desiredReady: 999, ready: 999 }, display: { readyClusters: '999/999' } } },
            { subresource: 'status' },
          );
          counts.bundleStatus++;
          touchedBundles.add(keyOf(b));
        } else {
          // Where the agent looks for its BundleDeployments: a wrong value strands them.
          const c = pick(clusters);
          await other.patch(T.Cluster, c.metadata.name ?? '', ws, { status: { namespace: `elsewhere-${i}` } }, { subresource: 'status' });
          counts.clusterStatus++;
          touchedClusters.add(keyOf(c));
        }
      } catch {
        counts.failed++;
      }
      // The other writer's pace (~20 writes/s each), not a wait for a condition.
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  await Promise.all(Array.from({ length: INTRUDERS }, intrude));
  const stoppedAt = Date.now();
  const intruderWrites = counts.bdApply + counts.bdPatch + counts.bundleStatus;
  console.log(`# the other writer made ${intruderWrites} changes in ${((stoppedAt - startedAt) / 1000).toFixed(1)} s: ${JSON.stringify(counts)}; touched ${touchedBds.size} BundleDeployments, ${touchedBundles.size} Bundles`);
  assert.ok(counts.bdApply > 0 && counts.bdPatch > 0 && counts.bundleStatus > 0 && counts.clusterStatus > 0, 'every kind of intrusion happened');

  // The controller's view wins: specs as before, summaries as the oracle says.
  let last = { desired: 0, existing: 0 };
  await waitForConvergence(
    async () => {
      const report = await placementConvergence(admin, { summaries: true });
      last = report;
      const now = await listAll(admin, T.BundleDeployment);
      const wrongSpec = now.filter((bd) => JSON.stringify(bd.spec) !== specBefore.get(keyOf(bd))).map((bd) => `${keyOf(bd)}: spec ${JSON.stringify(bd.spec)}`);
      const wrongCluster = (await listAll(admin, T.Cluster, { namespace: ws }))
        .map((c) => ({ c, status: JSON.stringify({ namespace: c.status?.namespace, summary: c.status?.summary, display: c.status?.display }) }))
        .filter(({ c, status }) => status !== clusterStatusBefore.get(keyOf(c)))
        .map(({ c, status }) => `${keyOf(c)}: status ${status}`);
      return [...report.problems, ...wrongSpec.slice(0, 5), ...(wrongSpec.length > 5 ? [`... ${wrongSpec.length} wrong specs`] : []), ...wrongCluster];
    },
    { timeoutMs: 120_000, intervalMs: 250, description: "the controller's view to win after the other writer stopped" },
  );
  const convergedAt = Date.now();

  // Nothing loops: the controller's writes stop, and stay stopped.
  const quietMs = 5000;
  let lastChange = { total: -1, at: 0 };
  const settled = await waitFor(
    async () => {
      const m = await proc.metrics();
      const total = writes(m);
      const now = Date.now();
      if (total !== lastChange.total) {
        lastChange = { total, at: now };
        return undefined;
      }
      return now - lastChange.at >= quietMs ? m : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 250, description: `the controller's writes to stop for ${quietMs} ms` },
  );
  const settledSeconds = (lastChange.at - stoppedAt) / 1000;
  const m = settled;
  const bdWrites = delta(metricsBefore, m, 'flotilla_writes_total', { kind: 'BundleDeployment' });
  const bundleStatusWrites = delta(metricsBefore, m, 'flotilla_writes_total', { kind: 'Bundle', verb: 'apply', reason: 'StatusChanged' });
  const clusterStatusWrites = delta(metricsBefore, m, 'flotilla_writes_total', { kind: 'Cluster', verb: 'apply', reason: 'StatusChanged' });
  const allWrites = writes(m) - writes(metricsBefore);
  console.log(`# controller writes since the intrusion began: ${allWrites} (${bdWrites} BundleDeployment, ${bundleStatusWrites} Bundle status, ${clusterStatusWrites} Cluster status); by kind/verb/reason ${JSON.stringify(m.groupBy('flotilla_writes_total', ['kind', 'verb', 'reason']))}`);
  assert.ok(bdWrites >= 1 && bundleStatusWrites >= 1 && clusterStatusWrites >= 1, 'the controller did restore BundleDeployments, Bundle status and Cluster status');
  // Each restoring write answers a foreign write (several may coalesce into
  // one): a BundleDeployment spec write restores one foreign spec change; a
  // Bundle's status legitimately changes twice per foreign spec change of
  // one of its BundleDeployments (out of sync, then back) and once per
  // foreign status change. A loop would write without being provoked.
  const specChanges = counts.bdApply + counts.bdPatch;
  assert.ok(bdWrites <= specChanges, `BundleDeployment writes (${bdWrites}) bounded by the foreign spec changes (${specChanges})`);
  assert.ok(
    bundleStatusWrites <= 2 * specChanges + counts.bundleStatus,
    `Bundle status writes (${bundleStatusWrites}) bounded by what the foreign writes changed (2 × ${specChanges} + ${counts.bundleStatus})`,
  );

  // The other writer's own fields are untouched.
  const bdsAfter = await listAll(admin, T.BundleDeployment);
  const lostOwn = bdsAfter.filter((bd) => touchedBds.has(keyOf(bd)) && (bd.metadata.labels?.[OWN_LABEL] !== 'yes' || bd.metadata.annotations?.[OWN_ANNOTATION] === undefined));
  assert.deepEqual(lostOwn.map(keyOf), [], "the other writer's label and annotation survive on every BundleDeployment it touched");
  const bundlesAfter = await listAll(admin, T.Bundle, { namespace: ws });
  const lostBundleLabel = bundlesAfter.filter((b) => touchedBundles.has(keyOf(b)) && b.metadata.labels?.[OWN_LABEL] !== 'yes');
  assert.deepEqual(lostBundleLabel.map(keyOf), [], "the other writer's label survives on every Bundle it touched");
  assert.equal(bdsAfter.length, bds.length, 'no BundleDeployment appeared or disappeared');
  assert.ok(proc.isRunning(), 'the controller is still running');

  const recoverySeconds = (convergedAt - stoppedAt) / 1000;
  reportRecovery({
    scenario: 6,
    name: 'conflicting writer',
    recoverySeconds,
    summary: `${intruderWrites} foreign writes in ${INTRUDE_MS / 1000} s (${counts.bdApply} forced spec applies, ${counts.bdPatch} spec patches, ${counts.bundleStatus} Bundle and ${counts.clusterStatus} Cluster status patches); ${bdWrites} BundleDeployment + ${bundleStatusWrites} Bundle status + ${clusterStatusWrites} Cluster status writes to restore; writes idle ${Math.max(0, settledSeconds).toFixed(1)} s after the writer stopped; ${touchedBds.size + touchedBundles.size}/${touchedBds.size + touchedBundles.size} foreign fields kept; ${last.existing}/${last.desired} converged`,
    details: {
      foreignWrites: intruderWrites,
      foreignForcedApplies: counts.bdApply,
      foreignPatches: counts.bdPatch,
      foreignBundleStatusPatches: counts.bundleStatus,
      foreignClusterStatusPatches: counts.clusterStatus,
      restoringBundleDeploymentWrites: bdWrites,
      restoringBundleStatusWrites: bundleStatusWrites,
      restoringClusterStatusWrites: clusterStatusWrites,
      writesIdleSeconds: Math.max(0, settledSeconds),
      foreignFieldsKept: touchedBds.size + touchedBundles.size,
      bundleDeployments: last.existing,
      desired: last.desired,
    },
  });
});
