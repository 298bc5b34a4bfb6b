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
import { Registry } from 'prom-client';
import { BundleReconciler } from '../../../src/controllers/bundle-controller.ts';
import { ClusterReconciler } from '../../../src/controllers/cluster-controller.ts';
import { invalidInputReason } from '../../../src/controllers/invalid-objects.ts';
import { ClusterGroupReconciler } from '../../../src/controllers/clustergroup-controller.ts';
import {
  desiredContentName,
  PlacementContext,
  type BundleObject,
  type ClusterGroupObject,
  type ClusterObject,
} from '../../../src/controllers/placement-context.ts';
import { Writer, type WriteClient } from '../../../src/controllers/writer.ts';
import { silentLogger } from '../../../src/observability/logger.ts';
import { ApiError } from '../../../src/runtime/errors.ts';
import type { KubeObject, ResourceType } from '../../../src/runtime/kube/resource.ts';
import { deploymentNamespaceFor } from '../../../src/placement/deployment-namespace.ts';
import { PlacementWorld } from '../../support/placement-world.ts';

const cluster = (world: PlacementWorld, name: string, labels: Record<string, string> = {}): ClusterObject => world.cluster(name, labels);
const bundle = (world: PlacementWorld, name: string, spec: Record<string, unknown>): BundleObject => world.bundle(name, spec);
const converge = (world: PlacementWorld, reconcile: () => Promise<unknown>, passes?: number): Promise<void> => world.converge(reconcile, passes);

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

/**
 * The world's caches with a writer whose every status write finds the
 * object deleted: what a reconcile meets when the object goes between the
 * cache read and the write.
 */
function vanishingStatusContext(world: PlacementWorld): { ctx: PlacementContext; statusWrites: string[] } {
  const statusWrites: string[] = [];
  const gone = (verb: string, type: ResourceType, name: string) =>
    new ApiError({ statusCode: 404, reason: 'NotFound', message: `${type.plural} "${name}" not found`, verb, resource: `${type.plural}/status` });
  const client: WriteClient = {
    apply: async (type: ResourceType, obj: KubeObject, opts?: { subresource?: string }) => {
      if (opts?.subresource !== 'status') throw new Error('only status writes are expected here');
      statusWrites.push(`${type.kind} ${obj.metadata.namespace}/${obj.metadata.name}`);
      throw gone('apply', type, obj.metadata.name ?? '');
    },
    create: async () => assert.fail('no create expected'),
    patch: async () => assert.fail('no patch expected'),
    delete: async () => assert.fail('no delete expected'),
  } as unknown as WriteClient;
  const registry = new Registry();
  const ctx = new PlacementContext({
    caches: world.caches,
    writer: new Writer(client, registry),
    events: world.ctx.events,
    workspaces: world.ctx.workspaces,
    registry,
    log: silentLogger,
  });
  return { ctx, statusWrites };
}

describe('a status write for an object deleted meanwhile', () => {
  it('ClusterGroup: the reconcile is done (no error to retry)', async () => {
    const world = new PlacementWorld();
    cluster(world, 'c1', { env: 'prod' });
    world.caches.clusterGroups.store.upsert(world.object({ metadata: { name: 'g', namespace: 'ws' }, spec: { selector: { matchLabels: { env: 'prod' } } } } as unknown as ClusterGroupObject));
    const { ctx, statusWrites } = vanishingStatusContext(world);
    await new ClusterGroupReconciler(ctx).reconcile(world.reconcileContext('ws/g'));
    assert.deepEqual(statusWrites, ['ClusterGroup ws/g'], 'the write was attempted and found the group gone');
  });

  it('Bundle: the reconcile is done, and warns nobody about a Bundle that is gone', async () => {
    const world = new PlacementWorld();
    cluster(world, 'c1');
    bundle(world, 'bad', { resources: [{ name: 'x.yaml', content: 'kind: [' }], targets: [{ clusterSelector: {} }] });
    const { ctx, statusWrites } = vanishingStatusContext(world);
    await new BundleReconciler(ctx).reconcile(world.reconcileContext('ws/bad'));
    assert.deepEqual(statusWrites, ['Bundle ws/bad']);
    assert.deepEqual(world.events, [], 'no Event about the vanished Bundle');
  });
});

describe('a deployment namespace that belongs to someone else', () => {
  function conflicted(): { world: PlacementWorld; reconciler: ClusterReconciler; nsName: string } {
    const world = new PlacementWorld();
    const nsName = deploymentNamespaceFor('ws', 'c1');
    world.caches.namespaces.store.upsert(world.object({ metadata: { name: nsName, labels: { team: 'someone-else' } } }));
    world.caches.clusters.store.upsert(world.object({ metadata: { name: 'c1', namespace: 'ws', finalizers: [Finalizer.ClusterCleanup] }, spec: {} } as ClusterObject));
    return { world, reconciler: new ClusterReconciler(world.ctx), nsName };
  }

  it('is reported on status (Ready=False, Stalled=True) and as one Warning Event, not thrown as an error', async () => {
    const { world, reconciler, nsName } = conflicted();
    await converge(world, () => reconciler.reconcile(world.reconcileContext('ws/c1')));
    const c1 = world.caches.clusters.store.get('ws/c1')!;
    const conditions = Object.fromEntries((c1.status?.conditions ?? []).map((c) => [c.type, c]));
    assert.equal(conditions.Ready?.status, 'False');
    assert.equal(conditions.Ready?.reason, 'NamespaceConflict');
    assert.equal(conditions.Stalled?.status, 'True');
    assert.equal(conditions.Stalled?.reason, 'NamespaceConflict');
    assert.match(conditions.Stalled?.message ?? '', new RegExp(`namespace ${nsName} exists but does not belong to Cluster ws/c1`));
    assert.equal(c1.status?.namespace, undefined, 'no Bundle is sent to a namespace that is not the Cluster\'s');
    assert.equal(invalidInputReason(c1), 'NamespaceConflict', 'counted as invalid input');
    assert.deepEqual(world.events.map((e) => [e.key, e.type, e.reason]), [['ws/c1', 'Warning', 'NamespaceConflict']]);

    // A resync finds the same conflict: nothing is written or recorded again.
    const writes = world.writes.length;
    await reconciler.reconcile(world.reconcileContext('ws/c1'));
    assert.equal(world.writes.length, writes);
    assert.equal(world.events.length, 1);
  });

  it('clears once the name is free: the deployment namespace is created and Stalled goes', async () => {
    const { world, reconciler, nsName } = conflicted();
    await converge(world, () => reconciler.reconcile(world.reconcileContext('ws/c1')));
    world.caches.namespaces.store.delete(nsName);
    await converge(world, () => reconciler.reconcile(world.reconcileContext('ws/c1')));
    const c1 = world.caches.clusters.store.get('ws/c1')!;
    assert.equal(c1.status?.namespace, nsName);
    assert.deepEqual((c1.status?.conditions ?? []).map((c) => [c.type, c.status, c.reason]), [['Ready', 'True', 'NamespaceReady'], ['AgentConnected', 'Unknown', 'NoAgent']]);
    assert.equal(world.events.length, 1, 'no further Event');
  });
});

describe('Warning Events about an invalid Bundle', () => {
  it('come once per problem, not again when only the workspace counts in the message change', async () => {
    const world = new PlacementWorld();
    cluster(world, 'c1');
    cluster(world, 'c2');
    bundle(world, 'bad', { resources: [{ name: 'x.yaml', content: 'kind: [' }], targets: [{ clusterSelector: {} }, { clusterGroup: 'missing' }] });
    const reconciler = new BundleReconciler(world.ctx);
    const reconcile = () => converge(world, () => reconciler.reconcile(world.reconcileContext('ws/bad')));
    const warnings = () => world.events.filter((e) => e.key === 'ws/bad' && e.type === 'Warning').map((e) => e.reason);
    await reconcile();
    assert.deepEqual(warnings().sort(), ['ClusterGroupNotFound', 'InvalidResources']);

    const before = world.caches.bundles.store.get('ws/bad')?.status?.conditions?.map((c) => c.message);
    cluster(world, 'c3');
    await reconcile();
    const after = world.caches.bundles.store.get('ws/bad')?.status?.conditions?.map((c) => c.message);
    assert.notDeepEqual(after, before, 'the condition messages moved with the Cluster count');
    assert.deepEqual(warnings().sort(), ['ClusterGroupNotFound', 'InvalidResources'], 'and no Event was recorded again');

    // A different problem is news; the unchanged one is not.
    const current = world.caches.bundles.store.get('ws/bad')!;
    world.caches.bundles.store.upsert({
      ...current,
      metadata: { ...current.metadata, resourceVersion: '5000000', generation: 2 },
      spec: { ...current.spec, resources: [{ name: 'x.yaml', content: 'kind: [[' }, { name: 'x.yaml', content: 'kind: ConfigMap' }] },
    } as BundleObject);
    await reconcile();
    assert.deepEqual(warnings().sort(), ['ClusterGroupNotFound', 'InvalidResources', 'InvalidResources']);
  });
});
