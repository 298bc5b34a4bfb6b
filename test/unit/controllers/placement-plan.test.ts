import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { desiredContentName, Index, type BundleDeploymentObject, type BundleObject } from '../../../src/controllers/placement-context.ts';
import { PlacementPlanner } from '../../../src/controllers/placement-planner.ts';
import { desiredBundleDeployment, diffBundleDeployments } from '../../../src/placement/bundle-deployments.ts';
import { deploymentNamespaceFor } from '../../../src/placement/deployment-namespace.ts';
import type { PlacementPlanInput } from '../../../src/placement/placement-plan.ts';
import { computePlacement } from '../../../src/placement/targeting.ts';
import { SelectorMatchPool } from '../../../src/runtime/pool/index.ts';
import { PlacementWorld } from '../../support/placement-world.ts';

function planInput(b: BundleObject): PlacementPlanInput {
  const contentName = desiredContentName(b);
  return {
    bundle: { name: b.metadata.name ?? '', namespace: 'ws', targets: (b.spec.targets as never) ?? null, options: b.spec.options ?? null, paused: b.spec.paused === true },
    ...(contentName ? { contentName } : {}),
  };
}

/** A world with every case the plan distinguishes. */
function world(): { w: PlacementWorld; bundles: BundleObject[] } {
  const w = new PlacementWorld();
  w.cluster('a', { env: 'prod' });
  const paused = w.cluster('b', { env: 'prod' });
  w.caches.clusters.store.upsert({ ...paused, metadata: { ...paused.metadata, resourceVersion: '2' }, spec: { paused: true } });
  const going = w.cluster('c', { env: 'prod' });
  w.caches.clusters.store.upsert({ ...going, metadata: { ...going.metadata, resourceVersion: '2', deletionTimestamp: '2026-01-01T00:00:00Z' } });
  w.cluster('d', { env: 'prod' }, false); // no deployment namespace yet
  w.cluster('e', { env: 'dev' });
  w.cluster('f', { env: 'prod', team: 'x' });
  w.cluster('squat', { env: 'prod' }, false);
  w.caches.namespaces.store.upsert(w.object({ metadata: { name: deploymentNamespaceFor('ws', 'squat'), labels: { owner: 'someone-else' } } }));
  w.caches.clusterGroups.store.upsert(w.object({ metadata: { name: 'g1', namespace: 'ws', labels: { tier: 'gold' } }, spec: { selector: { matchLabels: { team: 'x' } } } }) as never);
  const resources = [{ name: 'cm.yaml', content: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n' }];
  const bundles = [
    w.bundle('app1', { resources, targets: [{ clusterSelector: { matchLabels: { env: 'prod' } } }] }),
    w.bundle('app2', { resources, targets: [{ clusterGroupSelector: { matchLabels: { tier: 'gold' } }, doNotDeploy: true }, { clusterSelector: {} }] }),
    w.bundle('app3', { resources, paused: true, targets: [{ clusterSelector: { matchLabels: { env: 'prod' } } }] }),
    w.bundle('app4', { resources, targets: [{ clusterGroup: 'missing' }, { clusterName: 'e' }] }),
    w.bundle('app5', { resources: 'not a list', targets: [{ clusterSelector: {} }] }),
  ];
  // Existing BundleDeployments: outdated on a and b (paused), stray on e, going on f.
  const old = (bundle: BundleObject, cluster: string, extra: Partial<BundleDeploymentObject['metadata']> = {}) => {
    const c = w.caches.clusters.store.get(`ws/${cluster}`)!;
    const bd = desiredBundleDeployment({ bundle, cluster: c, contentName: 'c-outdated' }) as BundleDeploymentObject;
    w.caches.bundleDeployments.store.upsert(w.object({ ...bd, metadata: { ...bd.metadata, ...extra } }));
  };
  for (const b of bundles.slice(0, 3)) {
    old(b, 'a');
    old(b, 'b');
    old(b, 'e');
    old(b, 'f', { deletionTimestamp: '2026-01-01T00:00:00Z' });
  }
  return { w, bundles };
}

describe('placement + diff over replicated records', () => {
  let pool: SelectorMatchPool;
  before(() => {
    pool = new SelectorMatchPool({ threads: 1, maxQueue: 8, inlineThreshold: 0, registry: new Registry() });
  });
  after(() => pool.close());

  it('answers identically inline and in a worker, and as computing on the cached objects does', async () => {
    const { w, bundles } = world();
    const registry = new Registry();
    const inline = new PlacementPlanner(w.ctx, { registry });
    const pooled = new PlacementPlanner(w.ctx, { pool, threshold: 0, registry });
    for (const b of bundles) {
      const input = planInput(b);
      const [a, p] = [await inline.plan(input), await pooled.plan(input)];
      assert.deepEqual(p, a, `${b.metadata.name}: pooled = inline`);
    }
    assert.equal(await registry.getSingleMetricAsString('flotilla_placement_plans_total').then((t) => /path="pooled"} 5/.test(t)), true);
    assert.ok(pool.stats().completed.pooled >= 5, 'the pooled plans ran in the worker');

    // The objects-based computation the plan replaces, on app1.
    const app1 = bundles[0]!;
    const p1 = await pooled.plan(planInput(app1));
    const clusters = w.caches.clusters.store.byIndex(Index.namespace, 'ws').filter((c) => !c.metadata.deletionTimestamp);
    const placement = computePlacement(app1, clusters, w.caches.clusterGroups.store.list());
    assert.deepEqual(p1.desired, [...placement.desired.keys()]);
    assert.deepEqual(p1.desired, ['a', 'b', 'd', 'f', 'squat']);
    // d has no deployment namespace, squat's is someone else's: not created; f's is going: waits.
    assert.deepEqual(p1.create, []);
    assert.deepEqual(p1.update.map((u) => [u.cluster, u.changes]), [['a', ['spec.contentName', 'spec.deploymentID']]]);
    assert.deepEqual(p1.delete, [`${deploymentNamespaceFor('ws', 'e')}/app1`]);
    const existing = w.caches.bundleDeployments.store.byIndex(Index.bdBundle, 'ws/app1');
    const desired = ['a', 'b', 'f'].map((c) => desiredBundleDeployment({ bundle: app1, cluster: w.caches.clusters.store.get(`ws/${c}`)!, contentName: desiredContentName(app1)! }));
    const diff = diffBundleDeployments(desired, existing, { pausedClusters: new Set(['b']) });
    assert.deepEqual(diff.update.map((u) => u.desired.metadata.labels?.['flotilla.dev/cluster-name']), ['a']);
    assert.deepEqual(diff.retained.map((r) => r.existing.metadata.labels?.['flotilla.dev/cluster-name']), ['b'], 'the paused Cluster keeps its outdated one');

    const p2 = await pooled.plan(planInput(bundles[1]!));
    assert.equal(p2.excluded, 1, 'f is in the gold group: doNotDeploy');
    assert.ok(!p2.desired.includes('f') && !p2.desired.includes('c'), 'excluded, and the deleting Cluster is never targeted');
    const p3 = await pooled.plan(planInput(bundles[2]!));
    assert.deepEqual([p3.update, p3.delete], [[], []], 'a paused Bundle updates and deletes nothing');
    const p4 = await pooled.plan(planInput(bundles[3]!));
    assert.deepEqual([p4.desired, p4.problems.map((p) => p.reason)], [['e'], ['ClusterGroupNotFound']]);
    const p5 = await pooled.plan(planInput(bundles[4]!));
    assert.deepEqual([p5.create, p5.update, p5.delete], [[], [], []], 'no valid Content: placement only');
  });

  it('follows the caches and the writer: the next plan sees a new namespace, a relabel and a deletion at once', async () => {
    const { w, bundles } = world();
    const pooled = new PlacementPlanner(w.ctx, { pool, threshold: 0, registry: new Registry() });
    const app1 = planInput(bundles[0]!);
    w.caches.namespaces.store.upsert(w.object({ metadata: { name: deploymentNamespaceFor('ws', 'd'), labels: { 'app.kubernetes.io/managed-by': 'flotilla', 'flotilla.dev/cluster-name': 'd', 'flotilla.dev/cluster-namespace': 'ws' } } }));
    const e = w.caches.clusters.store.get('ws/e')!;
    w.caches.clusters.store.upsert({ ...e, metadata: { ...e.metadata, labels: { env: 'prod' }, resourceVersion: '2' } });
    const stray = w.caches.bundleDeployments.store.get(`${deploymentNamespaceFor('ws', 'a')}/app1`)!;
    await w.ctx.writer.delete('BundleDeployment', stray, 'Test');
    const plan = await pooled.plan(app1);
    assert.ok(plan.desired.includes('e'));
    assert.deepEqual([...plan.create].sort(), ['a', 'd'], 'd has its namespace now; a\'s BundleDeployment was deleted by us');
    assert.deepEqual(plan.delete, []);
  });
});
