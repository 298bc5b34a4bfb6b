import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterReconciler } from '../../../src/controllers/cluster-controller.ts';
import { agentConnected, agentLeaseWatch, type LeaseObject } from '../../../src/controllers/agent-heartbeat.ts';
import { ClusterFanOut, type FanOutIndex, type FanOutTargets } from '../../../src/controllers/fan-out.ts';
import { Index } from '../../../src/controllers/placement-context.ts';
import { SelectorIndex } from '../../../src/labels/selector-index.ts';
import { toCompiledSelector } from '../../../src/labels/selector.ts';
import { silentLogger } from '../../../src/observability/logger.ts';
import { deploymentNamespaceFor } from '../../../src/placement/deployment-namespace.ts';
import { ManualClock } from '../../../src/runtime/actors/manual-clock.ts';
import { microTime } from '../../../src/runtime/kube/resource.ts';
import { subscribeWatches } from '../../../src/runtime/watches.ts';
import { PlacementWorld } from '../../support/placement-world.ts';

const START = Date.parse('2026-03-01T12:00:00Z');
const NS = deploymentNamespaceFor('ws', 'c1');

function lease(renewMs: number, durationS = 40): LeaseObject {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'flotilla-agent', namespace: NS },
    spec: { holderIdentity: 'agent-1', leaseDurationSeconds: durationS, acquireTime: microTime(START), renewTime: microTime(renewMs) },
  };
}

describe('agentConnected (the condition from the Lease and the clock)', () => {
  it('Unknown/NoAgent without a Lease, True/Heartbeat until renewTime + leaseDuration, then False/HeartbeatExpired naming the last renewal', () => {
    assert.deepEqual([agentConnected(undefined, NS, START).condition.status, agentConnected(undefined, NS, START).condition.reason], ['Unknown', 'NoAgent']);
    const fresh = agentConnected(lease(START), NS, START + 39_999);
    assert.deepEqual([fresh.condition.status, fresh.condition.reason, fresh.expiresAt], ['True', 'Heartbeat', START + 40_000]);
    const expired = agentConnected(lease(START), NS, START + 40_000);
    assert.deepEqual([expired.condition.status, expired.condition.reason, expired.expiresAt], ['False', 'HeartbeatExpired', undefined]);
    assert.match(expired.condition.message, /last renewed its heartbeat at 2026-03-01T12:00:00\.000000Z/);
  });

  it('the True message does not move with renewals (a renewal writes nothing)', () => {
    assert.equal(agentConnected(lease(START), NS, START).condition.message, agentConnected(lease(START + 10_000), NS, START + 10_000).condition.message);
  });
});

/** A converged Cluster c1 (labelled for a Bundle that selects it), its reconciler on a manual clock, and what a heartbeat reaches. */
async function heartbeatWorld() {
  const world = new PlacementWorld();
  const clock = new ManualClock(START);
  world.cluster('c1', { env: 'prod' });
  world.bundle('app', { resources: [], targets: [{ clusterSelector: { matchLabels: { env: 'prod' } } }] });
  const reconciler = new ClusterReconciler(world.ctx, () => clock.now());
  let lastResult: unknown;
  const reconcile = async () => {
    lastResult = await reconciler.reconcile(world.reconcileContext('ws/c1'));
  };
  const converge = () => world.converge(reconcile);
  // The Cluster controller's lease watch, and the fan-out that would reach Bundles.
  const clusterKeys: string[] = [];
  subscribeWatches([agentLeaseWatch(world.ctx.agentLeases, (ns) => world.ctx.clusters.store.indexKeys(Index.clusterDeploymentNamespace, ns), () => clock.now())], {
    enqueue: (key) => clusterKeys.push(key),
  });
  const index = new SelectorIndex();
  const pool: FanOutIndex = {
    upsertSelector: (id, partition, selector) => index.upsertSelector(id, partition, toCompiledSelector(selector)),
    removeSelector: (id) => index.removeSelector(id),
    selectorsChangedBetween: async (partition, before, after) => index.selectorsChangedBetween(partition, before, after),
  };
  const fanOut = new ClusterFanOut(world.ctx, pool, silentLogger);
  const fannedOut: FanOutTargets[] = [];
  fanOut.subscribe((t) => fannedOut.push(t));
  // Registers the Bundle's selector in the fan-out (as its informer event would).
  const b = world.caches.bundles.store.get('ws/app')!;
  world.caches.bundles.store.upsert({ ...b, metadata: { ...b.metadata, resourceVersion: '2', generation: 2 } });
  await converge();
  // The first status (status.namespace appearing) fans out, as it should; heartbeats must not.
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(fannedOut.some((t) => t.bundles.has('ws/app')), 'the fan-out sees this Cluster for the Bundle');
  fannedOut.length = 0;
  const condition = () => world.caches.clusters.store.get('ws/c1')?.status?.conditions?.find((c) => c.type === 'AgentConnected');
  const clusterStatusWrites = () => world.writes.filter((w) => w.kind === 'Cluster' && w.subresource === 'status').length;
  const renew = (at: number, durationS = 40) => world.external('Lease', lease(at, durationS));
  const announcements = () => world.announcements.map((e) => e.reason);
  return { world, clock, reconcile, converge, clusterKeys, fannedOut, condition, clusterStatusWrites, renew, announcements, result: () => lastResult };
}

describe('AgentConnected on the Cluster', () => {
  it('transitions only: NoAgent → Heartbeat → (renewals write nothing, enqueue nothing) → HeartbeatExpired at the expiry instant → Heartbeat → NoAgent', async () => {
    const h = await heartbeatWorld();
    assert.deepEqual([h.condition()?.status, h.condition()?.reason], ['Unknown', 'NoAgent']);

    await h.renew(h.clock.now());
    assert.deepEqual(h.clusterKeys, ['ws/c1'], 'the first Lease enqueues its Cluster, and only it');
    await h.converge();
    assert.deepEqual([h.condition()?.status, h.condition()?.reason], ['True', 'Heartbeat']);
    assert.deepEqual(h.result(), { requeueAfterMs: 40_250 }, 'a requeue at the expiry instant');
    const cluster = h.world.caches.clusters.store.get('ws/c1')!;

    const writes = h.clusterStatusWrites();
    for (let i = 1; i <= 6; i++) {
      h.clock.advance(10_000);
      await h.renew(h.clock.now());
    }
    assert.deepEqual(h.clusterKeys, ['ws/c1'], 'renewals that keep it True enqueue nothing');
    await h.reconcile(); // the requeue at the (old) expiry instant
    assert.equal(h.clusterStatusWrites(), writes, 'and a reconcile after them writes nothing');
    assert.deepEqual(h.announcements(), ['AgentConnected'], 'one Normal Event for the connection, none for renewals');
    assert.deepEqual(h.result(), { requeueAfterMs: 40_250 }, 'the requeue follows the newest renewal');

    // The agent stops: nothing happens until the requeue at the expiry instant.
    const lastRenewal = h.clock.now();
    h.clock.advance(40_250);
    await h.converge();
    assert.deepEqual([h.condition()?.status, h.condition()?.reason], ['False', 'HeartbeatExpired']);
    assert.ok(h.condition()?.message.includes(microTime(lastRenewal)), h.condition()?.message);
    assert.equal(h.result(), undefined, 'no requeue while expired: a renewal is an event');
    assert.deepEqual(h.announcements(), ['AgentConnected', 'AgentDisconnected']);

    await h.renew(h.clock.now());
    assert.deepEqual(h.clusterKeys, ['ws/c1', 'ws/c1'], 'a renewal after expiry enqueues the Cluster');
    await h.converge();
    assert.deepEqual([h.condition()?.status, h.condition()?.reason], ['True', 'Heartbeat']);

    h.world.caches.agentLeases.store.delete(`${NS}/flotilla-agent`);
    await h.converge();
    assert.deepEqual([h.condition()?.status, h.condition()?.reason], ['Unknown', 'NoAgent']);
    assert.equal(h.clusterKeys.length, 3);
    assert.deepEqual(h.announcements(), ['AgentConnected', 'AgentDisconnected', 'AgentConnected', 'AgentDisconnected']);
    assert.ok(h.world.announcements.every((e) => e.key === 'ws/c1' && e.type === 'Normal'));

    const after = h.world.caches.clusters.store.get('ws/c1')!;
    assert.deepEqual(after.metadata.labels, cluster.metadata.labels, 'labels untouched');
    assert.equal(after.metadata.generation, cluster.metadata.generation, 'generation untouched');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(h.fannedOut, [], 'no heartbeat and no AgentConnected transition fanned out to a Bundle');
  });
});
