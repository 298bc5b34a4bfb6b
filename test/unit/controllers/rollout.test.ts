import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BundleReconciler } from '../../../src/controllers/bundle-controller.ts';
import { bundleDeploymentID } from '../../../src/placement/bundle-deployments.ts';
import { desiredContentName, type BundleObject } from '../../../src/controllers/placement-context.ts';
import { maxUnavailableCount } from '../../../src/placement/rollout.ts';
import { PlacementWorld } from '../../support/placement-world.ts';

const configMap = (version: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\ndata:\n  version: "${version}"\n`;

/** A world of `n` Clusters, a Bundle on all of them, converged and reported ready by every agent. */
async function rolledOut(n: number, rolloutStrategy?: Record<string, unknown>) {
  const world = new PlacementWorld();
  const clusters = Array.from({ length: n }, (_, i) => `c${i + 1}`);
  for (const c of clusters) world.cluster(c);
  world.bundle('app', {
    resources: [{ name: 'cm.yaml', content: configMap('1') }],
    targets: [{ clusterSelector: {} }],
    ...(rolloutStrategy ? { rolloutStrategy } : {}),
  });
  const reconciler = new BundleReconciler(world.ctx);
  const converge = () => world.converge(() => reconciler.reconcile(world.reconcileContext('ws/app')));
  await converge();
  for (const bd of world.caches.bundleDeployments.store.list()) await world.agentReport(`${bd.metadata.namespace}/${bd.metadata.name}`, 'ready');
  await converge();
  return { world, clusters, converge };
}

/** The Bundle changes its content (a user's edit): a new deployment ID. Returns it. */
async function newContent(world: PlacementWorld, version: string): Promise<string> {
  const b = world.caches.bundles.store.get('ws/app')!;
  const next = await world.external('Bundle', {
    ...b,
    metadata: { ...b.metadata, generation: (b.metadata.generation ?? 1) + 1 },
    spec: { ...b.spec, resources: [{ name: 'cm.yaml', content: configMap(version) }] },
  } as BundleObject);
  return bundleDeploymentID(next, desiredContentName(next)!);
}

function deploymentsAt(world: PlacementWorld, id: string): string[] {
  return world.caches.bundleDeployments.store
    .list()
    .filter((bd) => bd.spec.deploymentID === id)
    .map((bd) => bd.metadata.labels?.['flotilla.dev/cluster-name'] ?? '')
    .sort();
}

async function reportReady(world: PlacementWorld, clusters: readonly string[]): Promise<void> {
  for (const bd of world.caches.bundleDeployments.store.list()) {
    if (clusters.includes(bd.metadata.labels?.['flotilla.dev/cluster-name'] ?? '')) await world.agentReport(`${bd.metadata.namespace}/${bd.metadata.name}`, 'ready');
  }
}

const rolloutOf = (world: PlacementWorld) => world.caches.bundles.store.get('ws/app')?.status?.conditions?.find((c) => c.type === 'Rollout');

describe('maxUnavailableCount', () => {
  it('a count, or a percentage rounded down, never below 1; absent is no limit', () => {
    assert.equal(maxUnavailableCount(undefined, 7), 7);
    assert.equal(maxUnavailableCount(2, 7), 2);
    assert.equal(maxUnavailableCount(0, 7), 1);
    assert.equal(maxUnavailableCount('25%', 10), 2);
    assert.equal(maxUnavailableCount('10%', 3), 1);
    assert.equal(maxUnavailableCount('0%', 3), 1);
    assert.equal(maxUnavailableCount('100%', 3), 3);
    assert.equal(maxUnavailableCount(undefined, 0), 1);
  });
});

describe('Bundle rollout with spec.rolloutStrategy.maxUnavailable', () => {
  it('count: updates one BundleDeployment at a time, each after the previous one reports ready', async () => {
    const { world, clusters, converge } = await rolledOut(4, { maxUnavailable: 1 });
    const id = await newContent(world, '2');
    await converge();
    assert.deepEqual(deploymentsAt(world, id), ['c1'], 'one cluster moves');
    assert.deepEqual(
      [rolloutOf(world)?.status, rolloutOf(world)?.reason, rolloutOf(world)?.message],
      ['False', 'MaxUnavailable', '1 of 4 clusters updated; waiting for 1 not-ready clusters (maxUnavailable 1)'],
    );
    const writes = world.writes.length;
    await converge();
    assert.equal(world.writes.length, writes, 'a held rollout writes nothing more until an agent reports');

    for (let moved = 1; moved < clusters.length; moved++) {
      await reportReady(world, clusters.slice(0, moved));
      await converge();
      assert.deepEqual(deploymentsAt(world, id), clusters.slice(0, moved + 1), `after ${moved} reported ready`);
    }
    await reportReady(world, clusters);
    await converge();
    assert.deepEqual([rolloutOf(world)?.status, rolloutOf(world)?.reason], ['True', 'RolledOut']);
    assert.equal(world.caches.bundles.store.get('ws/app')?.status?.summary?.ready, 4);
  });

  it('percent: 25% of 10 clusters is 2 at a time', async () => {
    const { world, converge } = await rolledOut(10, { maxUnavailable: '25%' });
    const id = await newContent(world, '2');
    await converge();
    assert.equal(deploymentsAt(world, id).length, 2);
    const summary = world.caches.bundles.store.get('ws/app')?.status?.summary;
    assert.equal(summary?.outOfSync, 8, 'the held ones show as OutOfSync');
  });

  it('never below 1: 10% of 3 clusters still moves one', async () => {
    const { world, converge } = await rolledOut(3, { maxUnavailable: '10%' });
    const id = await newContent(world, '2');
    await converge();
    assert.deepEqual(deploymentsAt(world, id), ['c1']);
  });

  it('without a rolloutStrategy every BundleDeployment is updated at once, and no Rollout condition appears', async () => {
    const { world, converge } = await rolledOut(3);
    const id = await newContent(world, '2');
    await converge();
    assert.equal(deploymentsAt(world, id).length, 3);
    assert.equal(rolloutOf(world), undefined);
  });

  it('creates for newly targeted clusters are not held', async () => {
    const { world, converge } = await rolledOut(2, { maxUnavailable: 1 });
    const id = await newContent(world, '2');
    world.cluster('c3');
    await converge();
    const moved = deploymentsAt(world, id);
    assert.ok(moved.includes('c3'), 'the new cluster gets its BundleDeployment at once');
    assert.equal(moved.filter((c) => c !== 'c3').length, 1, 'one existing cluster moves');
  });

  it('an unavailable BundleDeployment is updated without using the budget', async () => {
    const { world, converge } = await rolledOut(3, { maxUnavailable: 1 });
    const broken = world.caches.bundleDeployments.store.list().find((bd) => bd.metadata.labels?.['flotilla.dev/cluster-name'] === 'c2')!;
    await world.agentReport(`${broken.metadata.namespace}/${broken.metadata.name}`, 'notReady');
    const id = await newContent(world, '2');
    await converge();
    assert.deepEqual(deploymentsAt(world, id), ['c2'], 'the broken one moves (it cannot get worse); the ready ones wait for it');
  });

  it('a paused Bundle is not updated at all, whatever the budget', async () => {
    const { world, converge } = await rolledOut(2, { maxUnavailable: 1 });
    const b = world.caches.bundles.store.get('ws/app')!;
    await world.external('Bundle', { ...b, spec: { ...b.spec, paused: true } });
    const id = await newContent(world, '2');
    await converge();
    assert.deepEqual(deploymentsAt(world, id), []);
    assert.equal(rolloutOf(world), undefined, 'nothing is held by maxUnavailable');
  });
});
