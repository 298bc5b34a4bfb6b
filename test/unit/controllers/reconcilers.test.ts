import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BundleReconciler } from '../../../src/controllers/bundle-controller.ts';
import { ClusterReconciler } from '../../../src/controllers/cluster-controller.ts';
import { ClusterGroupReconciler } from '../../../src/controllers/clustergroup-controller.ts';
import { ContentReconciler } from '../../../src/controllers/content-controller.ts';
import { desiredContentName, type BundleObject, type ClusterGroupObject, type ClusterObject } from '../../../src/controllers/placement-context.ts';
import { deploymentNamespaceFor } from '../../../src/placement/deployment-namespace.ts';
import type { KubeObject } from '../../../src/runtime/kube/resource.ts';
import { PlacementWorld } from '../../support/placement-world.ts';

const CONFIGMAP = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\ndata:\n  a: "1"\n';

function cluster(world: PlacementWorld, name: string, labels: Record<string, string>, withNamespace = true): ClusterObject {
  return world.cluster(name, labels, withNamespace);
}

function bundle(world: PlacementWorld, name: string, selector: Record<string, string>): BundleObject {
  return world.bundle(name, { resources: [{ name: 'cm.yaml', content: CONFIGMAP }], targets: [{ clusterSelector: { matchLabels: selector } }] });
}

const converge = (world: PlacementWorld, reconcile: () => Promise<unknown>): Promise<void> => world.converge(reconcile);

describe('BundleReconciler on in-memory caches', () => {
  it('creates the Content and one BundleDeployment per selected Cluster, then writes nothing more', async () => {
    const world = new PlacementWorld();
    cluster(world, 'prod-1', { env: 'prod' });
    cluster(world, 'prod-2', { env: 'prod' });
    cluster(world, 'dev-1', { env: 'dev' });
    const b = bundle(world, 'app', { env: 'prod' });
    const reconciler = new BundleReconciler(world.ctx);

    await converge(world, () => reconciler.reconcile(world.reconcileContext('ws/app')));

    const contentName = desiredContentName(b);
    assert.ok(contentName && world.caches.contents.store.get(contentName), 'the Content exists');
    const deployments = world.caches.bundleDeployments.store.list();
    assert.deepEqual(deployments.map((bd) => bd.metadata.namespace).sort(), [deploymentNamespaceFor('ws', 'prod-1'), deploymentNamespaceFor('ws', 'prod-2')].sort());
    assert.ok(deployments.every((bd) => bd.spec?.contentName === contentName));
    const status = world.caches.bundles.store.get('ws/app')?.status;
    assert.equal(status?.summary?.desiredReady, 2);

    const settled = world.writes.length;
    await reconciler.reconcile(world.reconcileContext('ws/app'));
    assert.equal(world.writes.length, settled, 'a reconcile of an unchanged world writes nothing');
  });

  it('removes the BundleDeployment of a Cluster that stops matching', async () => {
    const world = new PlacementWorld();
    const prod = cluster(world, 'prod-1', { env: 'prod' });
    bundle(world, 'app', { env: 'prod' });
    const reconciler = new BundleReconciler(world.ctx);
    await converge(world, () => reconciler.reconcile(world.reconcileContext('ws/app')));
    assert.equal(world.caches.bundleDeployments.store.list().length, 1);

    world.caches.clusters.store.upsert({ ...prod, metadata: { ...prod.metadata, labels: { env: 'dev' }, resourceVersion: '99' } });
    await converge(world, () => reconciler.reconcile(world.reconcileContext('ws/app')));
    assert.equal(world.caches.bundleDeployments.store.list().length, 0);
    assert.ok(world.writes.some((w) => w.verb === 'delete' && w.kind === 'BundleDeployment'));
  });

  it('writes no BundleDeployment into a Cluster whose deployment namespace does not exist yet', async () => {
    const world = new PlacementWorld();
    cluster(world, 'prod-1', { env: 'prod' }, false);
    bundle(world, 'app', { env: 'prod' });
    await converge(world, () => new BundleReconciler(world.ctx).reconcile(world.reconcileContext('ws/app')));
    assert.equal(world.caches.bundleDeployments.store.list().length, 0);
  });

  it('reports invalid content on status and as one Warning Event, and deploys nothing', async () => {
    const world = new PlacementWorld();
    cluster(world, 'prod-1', { env: 'prod' });
    const b = bundle(world, 'bad', { env: 'prod' });
    world.caches.bundles.store.upsert({
      ...b,
      metadata: { ...b.metadata, resourceVersion: '2', generation: 2 },
      spec: { ...b.spec, resources: [{ name: 'x.yaml', content: 'kind: [' }] },
    } as BundleObject);
    const reconciler = new BundleReconciler(world.ctx);
    await converge(world, () => reconciler.reconcile(world.reconcileContext('ws/bad')));
    await reconciler.reconcile(world.reconcileContext('ws/bad'));
    assert.equal(world.caches.bundleDeployments.store.list().length, 0);
    const ready = world.caches.bundles.store.get('ws/bad')?.status?.conditions?.find((c) => c.type === 'Ready');
    assert.equal(ready?.status, 'False');
    assert.equal(world.events.filter((e) => e.key === 'ws/bad' && e.type === 'Warning').length, 1);
  });
});

describe('Normal Events for a Bundle\'s transitions', () => {
  it('announces Ready once when the agents report ready, Paused/Resumed, NotReady; nothing on reconciles that write nothing', async () => {
    const world = new PlacementWorld();
    cluster(world, 'prod-1', { env: 'prod' });
    bundle(world, 'app', { env: 'prod' });
    const reconciler = new BundleReconciler(world.ctx);
    const reconcile = () => reconciler.reconcile(world.reconcileContext('ws/app'));
    await converge(world, reconcile);
    assert.equal(world.announcements.length, 0, 'Pending is no transition to announce');
    const bdKey = `${deploymentNamespaceFor('ws', 'prod-1')}/app`;
    await world.agentReport(bdKey, 'ready');
    await converge(world, reconcile);
    for (let i = 0; i < 3; i++) await reconcile();
    assert.deepEqual(world.announcements.map((e) => [e.key, e.type, e.reason]), [['ws/app', 'Normal', 'Ready']]);
    assert.equal(world.caches.bundles.store.get('ws/app')?.status?.display?.status, 'Ready');

    const b = world.caches.bundles.store.get('ws/app')!;
    await world.external('Bundle', { ...b, metadata: { ...b.metadata, generation: 2 }, spec: { ...b.spec, paused: true } });
    await converge(world, reconcile);
    assert.equal(world.caches.bundles.store.get('ws/app')?.status?.display?.status, 'Paused');
    const p = world.caches.bundles.store.get('ws/app')!;
    await world.external('Bundle', { ...p, metadata: { ...p.metadata, generation: 3 }, spec: { ...p.spec, paused: false } });
    await converge(world, reconcile);
    await world.agentReport(bdKey, 'notReady');
    await converge(world, reconcile);
    await reconcile();
    assert.deepEqual(world.announcements.map((e) => e.reason), ['Ready', 'Paused', 'Resumed', 'NotReady']);
    assert.equal(world.caches.bundles.store.get('ws/app')?.status?.display?.status, 'NotReady');
  });
});

describe('ClusterReconciler on in-memory caches', () => {
  it('creates the deployment namespace, then records it on status once', async () => {
    const world = new PlacementWorld();
    cluster(world, 'prod-1', { env: 'prod' }, false);
    const reconciler = new ClusterReconciler(world.ctx);
    await converge(world, () => reconciler.reconcile(world.reconcileContext('ws/prod-1')));
    const nsName = deploymentNamespaceFor('ws', 'prod-1');
    assert.ok(world.caches.namespaces.store.get(nsName), 'deployment namespace created');
    assert.equal(world.caches.clusters.store.get('ws/prod-1')?.status?.namespace, nsName);
    assert.equal(world.writes.filter((w) => w.subresource === 'status').length, 1);
  });
});

describe('ClusterGroupReconciler on in-memory caches', () => {
  it('counts the member Clusters of a group and reports an invalid selector', async () => {
    const world = new PlacementWorld();
    cluster(world, 'a', { env: 'prod' });
    cluster(world, 'b', { env: 'prod' });
    cluster(world, 'c', { env: 'dev' });
    world.caches.clusterGroups.store.upsert(world.object({ metadata: { name: 'prod', namespace: 'ws' }, spec: { selector: { matchLabels: { env: 'prod' } } } } as unknown as ClusterGroupObject));
    world.caches.clusterGroups.store.upsert(
      world.object({ metadata: { name: 'bad', namespace: 'ws' }, spec: { selector: { matchExpressions: [{ key: 'env', operator: 'In' }] } } } as unknown as ClusterGroupObject),
    );
    const reconciler = new ClusterGroupReconciler(world.ctx);
    await converge(world, () => reconciler.reconcile(world.reconcileContext('ws/prod')));
    await converge(world, () => reconciler.reconcile(world.reconcileContext('ws/bad')));
    assert.equal(world.caches.clusterGroups.store.get('ws/prod')?.status?.clusterCount, 2);
    const bad = world.caches.clusterGroups.store.get('ws/bad')?.status?.conditions?.find((c) => c.type === 'Ready');
    assert.equal(bad?.status, 'False');
    assert.deepEqual(world.caches.clusterGroups.store.get('ws/bad')?.status?.display, { readyClusters: '0/0', status: 'InvalidSelector' });
  });

  it('fills READY and STATUS from its members\' statuses, and writes again only when they change', async () => {
    const world = new PlacementWorld();
    let rv = 100;
    const withSummary = (name: string, ready: number, desiredReady: number, state: string) => {
      const c = world.caches.clusters.store.get(`ws/${name}`) ?? cluster(world, name, { env: 'prod' });
      const status = { summary: { ready, desiredReady }, display: { readyBundles: `${ready}/${desiredReady}`, state } };
      world.caches.clusters.store.upsert({ ...c, metadata: { ...c.metadata, resourceVersion: String(++rv) }, status } as ClusterObject);
    };
    withSummary('a', 2, 2, 'Ready');
    withSummary('b', 1, 2, 'NotReady');
    world.caches.clusterGroups.store.upsert(world.object({ metadata: { name: 'prod', namespace: 'ws' }, spec: { selector: { matchLabels: { env: 'prod' } } } } as unknown as ClusterGroupObject));
    const reconciler = new ClusterGroupReconciler(world.ctx);
    const reconcile = () => reconciler.reconcile(world.reconcileContext('ws/prod'));
    await converge(world, reconcile);
    assert.deepEqual(world.caches.clusterGroups.store.get('ws/prod')?.status?.display, { readyClusters: '1/2', state: 'NotReady', status: 'NotReady' });
    const writes = world.writes.length;
    await reconcile();
    assert.equal(world.writes.length, writes, 'an unchanged world writes nothing');
    withSummary('b', 2, 2, 'Ready');
    await converge(world, reconcile);
    assert.deepEqual(world.caches.clusterGroups.store.get('ws/prod')?.status?.display, { readyClusters: '2/2', state: 'Ready', status: 'Ready' });
    assert.equal(world.writes.length, writes + 1);
    // No member: NoClusters.
    world.caches.clusterGroups.store.upsert(world.object({ metadata: { name: 'none', namespace: 'ws' }, spec: { selector: { matchLabels: { env: 'qa' } } } } as unknown as ClusterGroupObject));
    await converge(world, () => reconciler.reconcile(world.reconcileContext('ws/none')));
    assert.deepEqual(world.caches.clusterGroups.store.get('ws/none')?.status?.display, { readyClusters: '0/0', status: 'NoClusters' });
  });
});

describe('ContentReconciler on in-memory caches', () => {
  it('keeps a referenced Content and releases and deletes an unreferenced one', async () => {
    const world = new PlacementWorld();
    cluster(world, 'prod-1', { env: 'prod' });
    const b = bundle(world, 'app', { env: 'prod' });
    await converge(world, () => new BundleReconciler(world.ctx).reconcile(world.reconcileContext('ws/app')));
    const name = desiredContentName(b)!;
    const contents = new ContentReconciler(world.ctx);

    await contents.reconcile(world.reconcileContext(name));
    assert.ok(world.caches.contents.store.get(name), 'still referenced by the Bundle and its BundleDeployment');

    world.caches.bundles.store.delete('ws/app');
    for (const bd of world.caches.bundleDeployments.store.list()) world.caches.bundleDeployments.store.delete(bd as KubeObject as never);
    await converge(world, () => contents.reconcile(world.reconcileContext(name)));
    assert.equal(world.caches.contents.store.get(name), undefined, 'released and deleted');
  });
});
