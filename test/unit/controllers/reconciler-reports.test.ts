/**
 * Edge cases of what the reconcilers deploy and report, on in-memory caches:
 * a Bundle that lists no resources, problems reported once (not again when
 * only counts change), a deployment namespace that belongs to someone else,
 * and status writes for objects that vanished meanwhile.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Finalizer } from '../../../src/api/constants.ts';
import { contentNameFor } from '../../../src/api/content-name.ts';
import { BundleReconciler } from '../../../src/controllers/bundle-controller.ts';
import { desiredContentName, type BundleObject, type ClusterObject } from '../../../src/controllers/placement-context.ts';
import { deploymentNamespaceFor, deploymentNamespaceLabels } from '../../../src/placement/deployment-namespace.ts';
import { PlacementWorld } from '../../support/placement-world.ts';

function cluster(world: PlacementWorld, name: string, labels: Record<string, string> = {}): ClusterObject {
  const c = world.object({ metadata: { name, namespace: 'ws', labels, finalizers: [Finalizer.ClusterCleanup] }, spec: {} } as ClusterObject);
  world.caches.clusters.store.upsert(c);
  const nsName = deploymentNamespaceFor('ws', name);
  world.caches.namespaces.store.upsert(world.object({ metadata: { name: nsName, labels: deploymentNamespaceLabels('ws', name) } }));
  return c;
}

function bundle(world: PlacementWorld, name: string, spec: Record<string, unknown>): BundleObject {
  const b = world.object({ metadata: { name, namespace: 'ws', finalizers: [Finalizer.BundleCleanup] }, spec } as unknown as BundleObject);
  world.caches.bundles.store.upsert(b);
  return b;
}

/** Reconciles until a pass writes nothing (each write is echoed into the caches, as a watch would). */
async function converge(world: PlacementWorld, reconcile: () => Promise<unknown>, passes = 5): Promise<void> {
  for (let i = 0; i < passes; i++) {
    const before = world.writes.length;
    await reconcile();
    if (world.writes.length === before) return;
  }
  assert.fail(`no fixed point after ${passes} reconciles: ${JSON.stringify(world.writes.slice(-5))}`);
}

describe('a Bundle without spec.resources', () => {
  for (const [title, spec] of [
    ['resources absent', { targets: [{ clusterSelector: {} }] }],
    ['resources null', { resources: null, targets: [{ clusterSelector: {} }] }],
  ] as const) {
    it(`${title}: deploys the Content of no resources, like resources: []`, async () => {
      const world = new PlacementWorld();
      cluster(world, 'c1');
      cluster(world, 'c2');
      const b = bundle(world, 'empty', spec);
      const reconciler = new BundleReconciler(world.ctx);
      await converge(world, () => reconciler.reconcile(world.reconcileContext('ws/empty')));

      const empty = contentNameFor([]);
      assert.equal(desiredContentName(b), empty);
      assert.deepEqual(world.caches.contents.store.get(empty)?.spec?.resources, [], 'the Content of no resources exists');
      const deployments = world.caches.bundleDeployments.store.list();
      assert.deepEqual(deployments.map((bd) => bd.metadata.namespace).sort(), ['c1', 'c2'].map((c) => deploymentNamespaceFor('ws', c)).sort());
      assert.ok(deployments.every((bd) => bd.spec?.contentName === empty));
      const status = world.caches.bundles.store.get('ws/empty')?.status;
      assert.equal(status?.contentName, empty);
      assert.equal(status?.summary?.desiredReady, 2);
      assert.deepEqual(world.events, [], 'nothing to warn about');
    });
  }

  it('resources that are not a list still deploy nothing (the schema forbids them; the controller does not guess)', async () => {
    const world = new PlacementWorld();
    cluster(world, 'c1');
    const b = bundle(world, 'odd', { resources: 'cm.yaml', targets: [{ clusterSelector: {} }] });
    await converge(world, () => new BundleReconciler(world.ctx).reconcile(world.reconcileContext('ws/odd')));
    assert.equal(desiredContentName(b), undefined);
    assert.equal(world.caches.bundleDeployments.store.list().length, 0);
    const ready = world.caches.bundles.store.get('ws/odd')?.status?.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.reason, 'InvalidResources');
  });
});
