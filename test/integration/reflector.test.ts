import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeConfig } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../../src/controlplane/harness.ts';
import { KubeClient } from '../../src/runtime/kube/client.ts';
import type { ApiTransport } from '../../src/runtime/kube/http-sender.ts';
import { builtinTypes, type KubeObject } from '../../src/runtime/kube/resource.ts';
import { Reflector } from '../../src/runtime/informer/reflector.ts';
import { Store } from '../../src/runtime/informer/store.ts';
import { BackoffManager } from '../../src/runtime/informer/backoff-manager.ts';
import { createRegistry } from '../../src/observability/metrics.ts';
import { waitFor } from '../../src/util/wait.ts';

// Real control plane with a short request timeout, so a stalled etcd turns
// into 504s within seconds, as it does in production after 60 s.
let cp: ControlPlane;
let admin: KubeClient;
const ns = 'reflector-test';
const selector = 'suite=reflector';
const configMaps = builtinTypes.configMap;

function configMap(name: string, data: Record<string, string> = {}): KubeObject {
  return { metadata: { name, namespace: ns, labels: { suite: 'reflector' } }, data };
}

function client(registry = createRegistry({ defaultMetrics: false }), transport?: ApiTransport): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromFile(cp.adminKubeconfig);
  return new KubeClient({ kubeConfig: kc, registry, requestTimeoutMs: 30_000, transport });
}

function newReflector(registry = createRegistry({ defaultMetrics: false }), transport?: ApiTransport) {
  const store = new Store();
  const reflector = new Reflector({
    client: client(registry, transport),
    type: configMaps,
    store,
    registry,
    namespace: ns,
    labelSelector: selector,
    pageSize: 7, // several pages for 50 objects
    backoff: new BackoffManager({ initialMs: 200, maxMs: 2000 }),
  });
  return { store, reflector, registry };
}

async function metricValue(registry: ReturnType<typeof createRegistry>, name: string, labels: Record<string, string>) {
  const metric = await registry.getSingleMetric(name)?.get();
  const sample = metric?.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return sample?.value ?? 0;
}

before(async () => {
  cp = await startControlPlane({ requestTimeout: '5s', controllerManager: false });
  admin = client();
  await admin.create(builtinTypes.namespace, { metadata: { name: ns } });
  for (let i = 0; i < 50; i++) await admin.create(configMaps, configMap(`cm-${i}`, { i: String(i) }));
});

after(async () => {
  await cp?.stop();
});

// The reflector's LIST pages and WATCH over both HTTP versions (api.transport).
for (const transport of ['http2', 'http1'] as const) {
  test(`${transport}: lists in pages, then follows adds, updates and deletes through the watch`, async () => {
    const { store, reflector } = newReflector(undefined, transport);
    const initialAdds: boolean[] = [];
    store.addHandler({ onAdd: (_o, initial) => initialAdds.push(initial) });
    reflector.start();
    await reflector.synced;
    assert.equal(store.size, 50);
    assert.ok(initialAdds.slice(0, 50).every((x) => x), 'initial list adds are flagged');
    assert.equal(store.get(`${ns}/cm-3`)?.metadata.managedFields, undefined, 'managedFields are stripped');

    await admin.create(configMaps, configMap('late'));
    await admin.patch(configMaps, 'cm-1', ns, { data: { i: 'changed' } });
    await admin.delete(configMaps, 'cm-2', ns);
    await waitFor(() => store.has(`${ns}/late`) && !store.has(`${ns}/cm-2`) && (store.get(`${ns}/cm-1`) as { data?: { i?: string } })?.data?.i === 'changed', {
      timeoutMs: 10_000,
      description: 'watch events applied',
    });
    assert.equal(initialAdds.at(-1), false, 'watch adds are not flagged initial');
    await reflector.stop();
    await admin.delete(configMaps, 'late', ns);
    await admin.create(configMaps, configMap('cm-2', { i: '2' }));
  });
}

test('survives an etcd stall without exiting, keeps its cache, and catches up', async () => {
  const { store, reflector } = newReflector();
  reflector.start();
  await reflector.synced;
  const before = store.size;
  cp.pauseEtcd();
  const stalledAt = Date.now();
  try {
    // A reflector started during the stall cannot list: it must neither
    // crash nor claim to be synced, and must keep retrying.
    const late = newReflector();
    late.reflector.start();
    await waitFor(async () => (await metricValue(late.registry, 'flotilla_reflector_lists_total', { result: 'error' })) >= 1, {
      timeoutMs: 30_000,
      description: 'a LIST during the stall fails (504)',
    });
    assert.equal(late.reflector.hasSynced(), false);
    assert.equal(store.size, before, 'cache kept during the stall');
    cp.resumeEtcd();
    await late.reflector.synced;
    assert.equal(late.store.size, before);
    await late.reflector.stop();
  } finally {
    cp.resumeEtcd();
  }
  console.log(`# etcd stall: ${(Date.now() - stalledAt) / 1000}s until a reflector started mid-stall synced`);
  await admin.patch(configMaps, 'cm-4', ns, { data: { i: 'after-stall' } });
  await waitFor(() => (store.get(`${ns}/cm-4`) as { data?: { i?: string } })?.data?.i === 'after-stall', {
    timeoutMs: 30_000,
    description: 'change after the stall reaches the old reflector',
  });
  await reflector.stop();
});

// An API server restart ends every connection: HTTP/2 sessions get GOAWAY or
// break, HTTP/1.1 sockets close; the reflector reconnects either way.
for (const [transport, [changed, during, deleted]] of [
  ['http2', ['cm-5', 'cm-6', 'cm-7']],
  ['http1', ['cm-8', 'cm-9', 'cm-10']],
] as const) {
  test(`${transport}: relists after compaction expires its watch, and misses no change made around an API server restart`, async () => {
    const { store, reflector, registry } = newReflector(undefined, transport);
    reflector.start();
    await reflector.synced;
    const sizeBefore = store.size;
    const rvBefore = reflector.lastResourceVersion;
    // Advance etcd's revision with writes this watch does not see, then
    // compact past the reflector's resourceVersion.
    for (let i = 0; i < 5; i++) {
      await admin.create(configMaps, { metadata: { name: `other-${i}`, namespace: ns }, data: {} });
    }
    await admin.patch(configMaps, changed, ns, { data: { i: 'before-restart' } });
    await waitFor(() => (store.get(`${ns}/${changed}`) as { data?: { i?: string } })?.data?.i === 'before-restart', {
      timeoutMs: 10_000,
      description: 'change before restart seen',
    });
    for (let i = 0; i < 5; i++) await admin.delete(configMaps, `other-${i}`, ns);
    const compacted = await cp.compactEtcd();
    assert.ok(compacted > Number(reflector.lastResourceVersion), `compacted ${compacted} past ${reflector.lastResourceVersion} (was ${rvBefore})`);

    const restartedAt = Date.now();
    await cp.restartApiServer();
    // Written while the reflector's watch is down (it is still backing off).
    await admin.patch(configMaps, during, ns, { data: { i: 'during-outage' } });
    await admin.delete(configMaps, deleted, ns);
    await waitFor(
      () => (store.get(`${ns}/${during}`) as { data?: { i?: string } })?.data?.i === 'during-outage' && !store.has(`${ns}/${deleted}`),
      { timeoutMs: 60_000, description: 'changes made around the restart reach the cache' },
    );
    console.log(`# ${transport}: API server restart: cache caught up ${(Date.now() - restartedAt) / 1000}s after restart began`);
    assert.ok(
      (await metricValue(registry, 'flotilla_reflector_relists_total', { reason: 'expired' })) +
        (await metricValue(registry, 'flotilla_reflector_watch_restarts_total', { reason: 'expired' })) >= 1,
      'the expired watch was noticed',
    );
    assert.ok((await metricValue(registry, 'flotilla_reflector_lists_total', { result: 'success' })) >= 2, 'relisted');
    assert.equal(store.size, sizeBefore - 1);
    await reflector.stop();
  });
}
