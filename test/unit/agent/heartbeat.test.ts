import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Heartbeat } from '../../../src/agent/heartbeat.ts';
import { createRegistry } from '../../../src/observability/metrics.ts';
import { silentLogger } from '../../../src/observability/logger.ts';
import { ApiError } from '../../../src/runtime/errors.ts';
import type { LeaseClient } from '../../../src/runtime/kube/interfaces.ts';
import type { KubeObject } from '../../../src/runtime/kube/resource.ts';

/** An in-memory Lease store with the API's create/update semantics (409 on a stale resourceVersion). */
function leases(): LeaseClient & { objects: Map<string, KubeObject>; writes: number } {
  const objects = new Map<string, KubeObject>();
  let version = 0;
  const store = {
    objects,
    writes: 0,
    async get<T extends KubeObject>(_t: unknown, name: string, namespace?: string): Promise<T> {
      const obj = objects.get(`${namespace}/${name}`);
      if (!obj) throw new ApiError({ statusCode: 404, reason: 'NotFound', message: 'not found', verb: 'get', resource: 'leases' });
      return structuredClone(obj) as T;
    },
    async create<T extends KubeObject>(_t: unknown, obj: T): Promise<T> {
      store.writes++;
      const stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++version) } };
      objects.set(`${obj.metadata.namespace}/${obj.metadata.name}`, stored);
      return stored;
    },
    async update<T extends KubeObject>(_t: unknown, obj: T): Promise<T> {
      store.writes++;
      const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
      if (objects.get(key)?.metadata.resourceVersion !== obj.metadata.resourceVersion) {
        throw new ApiError({ statusCode: 409, reason: 'Conflict', message: 'stale', verb: 'update', resource: 'leases' });
      }
      const stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(++version) } };
      objects.set(key, stored);
      return stored;
    },
  };
  return store as never;
}

describe('Heartbeat', () => {
  it('creates the Lease, then renews it keeping acquireTime, with the configured duration', async () => {
    const client = leases();
    let now = Date.parse('2026-12-05T10:00:00Z');
    const hb = new Heartbeat({
      client, namespace: 'cluster-1', identity: 'agent-a', intervalMs: 10_000, leaseDurationSeconds: 40,
      active: () => true, registry: createRegistry({ defaultMetrics: false }), logger: silentLogger, now: () => now,
    });
    await hb.beat();
    now += 10_000;
    await hb.beat();
    const lease = client.objects.get('cluster-1/flotilla-agent') as unknown as { spec: Record<string, unknown> };
    assert.equal(lease.spec.holderIdentity, 'agent-a');
    assert.equal(lease.spec.leaseDurationSeconds, 40);
    assert.equal(lease.spec.acquireTime, '2026-12-05T10:00:00.000000Z');
    assert.equal(lease.spec.renewTime, '2026-12-05T10:00:10.000000Z');
    assert.equal(client.writes, 2);
  });

  it('takes over a Lease another identity held, resetting acquireTime', async () => {
    const client = leases();
    let now = Date.parse('2026-12-05T10:00:00Z');
    const options = { client, namespace: 'ns', intervalMs: 10_000, leaseDurationSeconds: 40, active: () => true, logger: silentLogger, now: () => now };
    await new Heartbeat({ ...options, identity: 'old', registry: createRegistry({ defaultMetrics: false }) }).beat();
    now += 60_000;
    await new Heartbeat({ ...options, identity: 'new', registry: createRegistry({ defaultMetrics: false }) }).beat();
    const lease = client.objects.get('ns/flotilla-agent') as unknown as { spec: Record<string, unknown> };
    assert.equal(lease.spec.holderIdentity, 'new');
    assert.equal(lease.spec.acquireTime, '2026-12-05T10:01:00.000000Z');
  });

  it('beats only while active and survives failing renewals', async () => {
    const client = leases();
    let active = false;
    let failing = true;
    const failingClient = { ...client, get: async (...args: Parameters<typeof client.get>) => {
      if (failing) throw new ApiError({ statusCode: 503, reason: 'ServiceUnavailable', message: 'etcd', verb: 'get', resource: 'leases' });
      return client.get(...args);
    } } as LeaseClient;
    const registry = createRegistry({ defaultMetrics: false });
    const hb = new Heartbeat({ client: failingClient, namespace: 'ns', identity: 'a', intervalMs: 5, leaseDurationSeconds: 40, active: () => active, registry, logger: silentLogger });
    hb.start();
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(client.objects.size, 0, 'a standby never beats');
    active = true;
    const deadline = Date.now() + 5000;
    const errors = async () => (await registry.getSingleMetric('flotilla_agent_heartbeats_total')?.get())?.values.find((v) => v.labels.result === 'error')?.value ?? 0;
    while ((await errors()) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.ok((await errors()) >= 2);
    failing = false;
    while (client.objects.size === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await hb.stop();
    assert.equal(client.objects.size, 1, 'renewed once the API answers again');
  });
});
