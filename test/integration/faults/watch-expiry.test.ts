import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Label } from '../../../src/api/constants.ts';
import { contentNameFor } from '../../../src/api/content-name.ts';
import { deploymentNamespaceFor } from '../../../src/placement/deployment-namespace.ts';
import {
  T,
  bundleObject,
  isGone,
  listAll,
  reportLoggedProblems,
  startPlacementEnv,
  waitForConvergence,
  type FlotillaProcess,
  type PlacementEnv,
} from '../../support/flotilla.ts';
import { foreignSpec, placementConvergence, reportRecovery, seedBundleName, seedClusterName, seedResources, seedWorld, startConverged } from '../../support/faults.ts';
import { delta } from '../../support/metrics.ts';
import { waitFor } from '../../../src/util/wait.ts';

/**
 * Scenario 5: the controller's watches expire. The API server runs without
 * its watch cache, so watches are served straight from etcd and a watch
 * resumed from a compacted resourceVersion gets 410 Gone from etcd itself.
 *
 * The API server is restarted, which closes every watch; the controller is
 * frozen (SIGSTOP, a long pause of the process) across that window so it
 * cannot resume before the world has moved on. Meanwhile, through the API:
 * a Cluster relabelled, a Bundle retargeted, a Bundle deleted, a Bundle
 * created, a BundleDeployment deleted and another tampered with; then etcd
 * is compacted past every resourceVersion the controller holds. When the
 * controller thaws, every watch resumes into 410: each reflector must
 * relist, and not one of those changes may be missed.
 */

const ws = 'watch-expiry';
const CLUSTERS = 6;
const BUNDLES = 30;
let env: PlacementEnv;
let flotilla: FlotillaProcess | undefined;

before(async () => {
  env = await startPlacementEnv({ extraApiServerFlags: ['--watch-cache=false'] });
  await seedWorld(env.admin, { workspace: ws, clusters: CLUSTERS, bundles: BUNDLES });
});

after(async () => {
  flotilla?.kill('SIGCONT');
  if (flotilla) reportLoggedProblems(flotilla);
  await env?.stop();
});

test('watch expiry (410 Gone after compaction): every reflector relists and no change is missed', async () => {
  const { cp, admin } = env;
  const { proc, idle: metricsBefore } = await startConverged(env, 'flotilla-watch-expiry');
  flotilla = proc;
  const resources = Object.keys(metricsBefore.groupBy('flotilla_reflector_lists_total', ['resource']));
  assert.equal(resources.length, 7, `seven informers (${resources.join(', ')})`);

  const retargeted = seedBundleName(2);
  const deleted = seedBundleName(3);
  const created = 'while-expired';
  const relabelled = seedClusterName(0);
  const victim = { bundle: seedBundleName(5), cluster: seedClusterName(1) };
  const tampered = { bundle: seedBundleName(6), cluster: seedClusterName(2) };
  let victimUid = '';
  let compactedAt = 0;
  let thawedAt = 0;

  await cp.stopApiServer();
  proc.kill('SIGSTOP');
  try {
    await cp.startApiServer();
    await admin.patch(T.Cluster, relabelled, ws, { metadata: { labels: { env: 'prod' } } });
    await admin.patch(T.Bundle, retargeted, ws, { spec: { targets: [{ clusterSelector: { matchLabels: { region: 'us' } } }] } });
    await admin.delete(T.Bundle, deleted, ws);
    await admin.create(T.Bundle, bundleObject(ws, created, [{ clusterSelector: { matchLabels: { region: 'eu' } } }], seedResources(9, 'late')));
    const victimNs = deploymentNamespaceFor(ws, victim.cluster);
    victimUid = (await admin.get<{ metadata: { uid?: string } }>(T.BundleDeployment, victim.bundle, victimNs)).metadata.uid ?? '';
    await admin.delete(T.BundleDeployment, victim.bundle, victimNs);
    await waitFor(() => isGone(admin, T.BundleDeployment, victim.bundle, victimNs), { timeoutMs: 30_000, description: 'the victim BundleDeployment to be gone' });
    await admin.patch(T.BundleDeployment, tampered.bundle, deploymentNamespaceFor(ws, tampered.cluster), { spec: foreignSpec('watch-expiry') });
    const revision = await cp.compactEtcd();
    compactedAt = Date.now();
    console.log(`# compacted etcd at revision ${revision}; the controller was frozen throughout`);
  } finally {
    proc.kill('SIGCONT');
    thawedAt = Date.now();
  }

  let last = { desired: 0, existing: 0 };
  await waitForConvergence(
    async () => {
      const report = await placementConvergence(admin, { summaries: true });
      last = report;
      return report.problems;
    },
    { timeoutMs: 120_000, intervalMs: 250, description: 'every change made while the watches were down to be reconciled' },
  );
  await waitFor(() => isGone(admin, T.Bundle, deleted, ws), { timeoutMs: 60_000, description: 'the deleted Bundle to be released by its finalizer' });
  const convergedAt = Date.now();
  const metricsAfter = await proc.waitForIdle({ timeoutMs: 60_000 });
  assert.ok(proc.isRunning(), 'the controller is still running');

  // Every reflector took the 410 path and relisted.
  const expired = Object.fromEntries(resources.map((r) => [r, delta(metricsBefore, metricsAfter, 'flotilla_reflector_relists_total', { resource: r, reason: 'expired' })]));
  console.log(`# relists after 410 Gone: ${JSON.stringify(expired)}`);
  for (const r of resources) assert.ok((expired[r] ?? 0) >= 1, `${r} relisted after its watch expired (${JSON.stringify(expired)})`);

  // Each change, checked by hand as well as by the oracle.
  const bds = await listAll(admin, T.BundleDeployment);
  const of = (bundle: string) => bds.filter((bd) => bd.metadata.labels?.[Label.BundleName] === bundle);
  // c00 (eu) now gets every Bundle, except the deleted one and the one retargeted to us, plus the new one.
  assert.equal(bds.filter((bd) => bd.metadata.labels?.[Label.ClusterName] === relabelled).length, BUNDLES - 1, 'the relabelled Cluster gets its new Bundles');
  assert.deepEqual(of(retargeted).map((bd) => bd.metadata.labels?.[Label.ClusterName]).sort(), ['c01', 'c03', 'c05'], 'the retargeted Bundle is on the us Clusters only');
  assert.equal(of(deleted).length, 0, 'the deleted Bundle left nothing behind');
  assert.equal(of(created).length, CLUSTERS / 2, 'the Bundle created meanwhile is deployed');
  const recreated = bds.find((bd) => bd.metadata.name === victim.bundle && bd.metadata.labels?.[Label.ClusterName] === victim.cluster);
  assert.ok(recreated && recreated.metadata.uid !== victimUid, 'the BundleDeployment deleted meanwhile was recreated');
  const restored = bds.find((bd) => bd.metadata.name === tampered.bundle && bd.metadata.labels?.[Label.ClusterName] === tampered.cluster);
  assert.equal(restored?.spec?.contentName, contentNameFor(seedResources(6)), 'the tampered BundleDeployment was restored');

  const recoverySeconds = (convergedAt - thawedAt) / 1000;
  const totalExpired = Object.values(expired).reduce((a, b) => a + b, 0);
  reportRecovery({
    scenario: 5,
    name: 'watch expiry (410 Gone)',
    recoverySeconds,
    summary: `${resources.length}/${resources.length} reflectors relisted after 410 (${totalExpired} relists); 6/6 changes made while the watches were down reconciled; ${last.existing}/${last.desired} converged; compaction ${((thawedAt - compactedAt) / 1000).toFixed(1)} s before thaw`,
    details: {
      reflectors: resources.length,
      relistedAfterGone: resources.filter((r) => (expired[r] ?? 0) >= 1).length,
      relists: totalExpired,
      changesMissed: 0,
      changes: 6,
      bundleDeployments: last.existing,
      desired: last.desired,
    },
  });
});
