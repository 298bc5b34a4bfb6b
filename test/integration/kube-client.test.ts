import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startControlPlane, type ControlPlane } from '../../src/controlplane/harness.ts';
import { KubeClient, type WatchEvent } from '../../src/runtime/kube/client.ts';
import type { ApiTransport } from '../../src/runtime/kube/http-sender.ts';
import { builtinTypes, type KubeObject, type ObjectList } from '../../src/runtime/kube/resource.ts';
import { isServerUnavailable } from '../../src/runtime/errors.ts';
import { createRegistry } from '../../src/observability/metrics.ts';
import { loadKubeConfig, waitFor } from '../support/kube.ts';
import { spawn } from 'node:child_process';
import { KubeConfig } from '@kubernetes/client-node';
import { ensureControlPlaneBinaries } from '../../src/controlplane/binaries.ts';

// The API client's verbs and watches over each `api.transport`, against a
// real kube-apiserver (which offers h2 in ALPN, as every Go server does).

let cp: ControlPlane;
const configMaps = builtinTypes.configMap;
const clients: KubeClient[] = [];

before(async () => {
  cp = await startControlPlane({ controllerManager: false });
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await cp?.stop();
});

function client(transport: ApiTransport, registry = createRegistry({ defaultMetrics: false }), requestTimeoutMs = 30_000): KubeClient {
  const c = new KubeClient({ kubeConfig: loadKubeConfig(cp.adminKubeconfig), registry, transport, requestTimeoutMs });
  clients.push(c);
  return c;
}

async function metricValue(registry: ReturnType<typeof createRegistry>, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  const samples = metric?.values.filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val)) ?? [];
  return samples.reduce((sum, s) => sum + s.value, 0);
}

/** Runs a watch in the background, collecting its events; `stop()` aborts it and returns how it ended. */
function backgroundWatch(c: KubeClient, namespace: string, resourceVersion: string) {
  const events: WatchEvent[] = [];
  const abort = new AbortController();
  const ended = c
    .watch(configMaps, { namespace, resourceVersion, timeoutSeconds: 300, signal: abort.signal }, (e) => events.push(e))
    .then(
      () => ({ error: undefined as unknown }),
      (error: unknown) => ({ error }),
    );
  return {
    events,
    ended,
    stop: async () => {
      abort.abort();
      return ended;
    },
  };
}

const expectedProtocol: Record<ApiTransport, string> = { http2: 'h2', auto: 'h2', http1: 'http/1.1' };

for (const transport of ['http2', 'http1', 'auto'] as const) {
  test(`${transport}: get, list, create, update, patch, apply and delete, followed by a watch`, async () => {
    const registry = createRegistry({ defaultMetrics: false });
    const c = client(transport, registry);
    const ns = `client-${transport}`;
    await c.create(builtinTypes.namespace, { metadata: { name: ns } });
    const start = await c.list(configMaps, { namespace: ns });
    const watch = backgroundWatch(c, ns, start.metadata.resourceVersion!);
    try {
      const created = await c.create<KubeObject & { data?: Record<string, string> }>(configMaps, { metadata: { name: 'one', namespace: ns }, data: { a: '1' } });
      assert.equal(created.data?.a, '1');
      const got = await c.get<KubeObject & { data?: Record<string, string> }>(configMaps, 'one', ns);
      assert.equal(got.metadata.uid, created.metadata.uid);
      const updated = await c.update<KubeObject & { data?: Record<string, string> }>(configMaps, { ...got, data: { a: '2' } });
      assert.equal(updated.data?.a, '2');
      const patched = await c.patch<KubeObject & { data?: Record<string, string> }>(configMaps, 'one', ns, { data: { b: 'x' } });
      assert.deepEqual(patched.data, { a: '2', b: 'x' });
      const applied = await c.apply<KubeObject & { data?: Record<string, string> }>(configMaps, { metadata: { name: 'two', namespace: ns }, data: { c: '3' } });
      assert.equal(applied.data?.c, '3');
      const listed: ObjectList<KubeObject> = await c.list(configMaps, { namespace: ns });
      const names = listed.items.map((i) => i.metadata.name);
      assert.ok(names.includes('one') && names.includes('two'), `listed ${names.join(', ')}`);
      await c.delete(configMaps, 'one', ns);
      await assert.rejects(c.get(configMaps, 'one', ns), (err: { statusCode?: number }) => err.statusCode === 404);

      await waitFor(() => watch.events.some((e) => e.type === 'DELETED' && e.object.metadata.name === 'one'), {
        timeoutMs: 10_000,
        description: 'the watch saw the delete',
      });
      const seen = watch.events.filter((e) => e.object.metadata.name === 'one').map((e) => e.type);
      assert.deepEqual(seen, ['ADDED', 'MODIFIED', 'MODIFIED', 'DELETED']);
    } finally {
      const ended = await watch.stop();
      assert.equal(ended.error, undefined, 'an aborted watch resolves');
    }
    assert.equal(await c.connection.protocol(), expectedProtocol[transport]);
    assert.equal(await metricValue(registry, 'flotilla_api_connection_info', { protocol: expectedProtocol[transport] }), 1);
    assert.equal(await metricValue(registry, 'rest_client_requests_total', { method: 'PATCH' }), 2, 'requests counted as client-go does');
    assert.equal(await metricValue(registry, 'flotilla_api_requests_total', { verb: 'apply', code: '201' }), 1);
    assert.equal(await metricValue(registry, 'flotilla_api_requests_in_flight'), 0, 'nothing left in flight');
    assert.equal(
      await metricValue(registry, 'flotilla_api_http2_sessions_opened_total'),
      transport === 'http1' ? 0 : 1,
      'HTTP/2: every request and the watch on one session',
    );
  });

  test(`${transport}: a client-side timeout fails as ETIMEDOUT; an abort stops a request`, async () => {
    const c = client(transport);
    // A watch sent as a plain request never ends on its own.
    const neverEnding = { verb: 'get', method: 'GET', path: '/api/v1/namespaces/default/configmaps', resource: 'configmaps', query: { watch: 'true' } } as const;
    await assert.rejects(c.request({ ...neverEnding, timeoutMs: 300 }), (err: { code?: string }) => err.code === 'ETIMEDOUT');
    const abort = new AbortController();
    const pending = c.request({ ...neverEnding, signal: abort.signal });
    setTimeout(() => abort.abort(), 200);
    await assert.rejects(pending, (err: Error) => err.name === 'AbortError');
    // The connection is still good for the next request.
    assert.ok((await c.list(configMaps, { namespace: 'default' })).items);
  });
}

test('http2: a watch and concurrent requests share one session up to the server\'s stream limit; more open more sessions', async () => {
  const registry = createRegistry({ defaultMetrics: false });
  const c = client('http2', registry);
  const ns = 'client-many';
  await c.create(builtinTypes.namespace, { metadata: { name: ns } });
  const start = await c.list(configMaps, { namespace: ns });
  const watch = backgroundWatch(c, ns, start.metadata.resourceVersion!);
  const opened = () => metricValue(registry, 'flotilla_api_http2_sessions_opened_total');
  try {
    // kube-apiserver allows 100 concurrent streams per connection (SETTINGS_MAX_CONCURRENT_STREAMS): the watch and 99 requests.
    await Promise.all(
      Array.from({ length: 99 }, (_, i) => c.create(configMaps, { metadata: { name: `cm-${i}`, namespace: ns }, data: { i: String(i) } })),
    );
    await waitFor(() => watch.events.filter((e) => e.type === 'ADDED').length === 99, { timeoutMs: 20_000, description: 'the watch saw all 99 creates' });
    assert.equal(await opened(), 1, 'the watch and 99 concurrent requests on one session');
    // 200 more at once need at least 2 more sessions' worth of streams; as Go's transport, open them rather than queue.
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => c.get(configMaps, `cm-${i % 99}`, ns)));
    assert.equal(answers.length, 200);
    const afterBurst = await opened();
    assert.ok(afterBurst >= 2 && afterBurst <= 3, `sessions opened for 201 concurrent streams: ${afterBurst}`);
    await Promise.all(Array.from({ length: 50 }, (_, i) => c.get(configMaps, `cm-${i}`, ns)));
    assert.equal(await opened(), afterBurst, 'open sessions are reused');
  } finally {
    await watch.stop();
  }
  assert.equal(await metricValue(registry, 'rest_client_requests_total', { method: 'POST', code: '201' }), 100);
  assert.equal(await metricValue(registry, 'rest_client_requests_total', { method: 'GET', code: '200' }), 1 + 200 + 50 + 1);
});

test('http2: a dropped session fails its watch as a transient connection reset, and the next request opens a new session', async () => {
  const registry = createRegistry({ defaultMetrics: false });
  const c = client('http2', registry);
  const ns = 'client-reset';
  await c.create(builtinTypes.namespace, { metadata: { name: ns } });
  const start = await c.list(configMaps, { namespace: ns });
  const watch = backgroundWatch(c, ns, start.metadata.resourceVersion!);
  await c.create(configMaps, { metadata: { name: 'before', namespace: ns } });
  await waitFor(() => watch.events.length === 1, { timeoutMs: 10_000, description: 'the watch is flowing' });

  await c.connection.reset();
  const { error } = await watch.ended;
  assert.equal((error as { code?: string }).code, 'ECONNRESET', String(error));
  assert.ok(isServerUnavailable(error), 'classified as transient: retried with backoff');

  // A new watch from where the old one stopped misses nothing.
  const rv = watch.events.at(-1)!.object.metadata.resourceVersion!;
  await c.create(configMaps, { metadata: { name: 'after', namespace: ns } });
  const resumed = backgroundWatch(c, ns, rv);
  try {
    await waitFor(() => resumed.events.some((e) => e.object.metadata.name === 'after'), { timeoutMs: 10_000, description: 'the resumed watch sees the change' });
  } finally {
    await resumed.stop();
  }
  assert.equal(await metricValue(registry, 'flotilla_api_http2_sessions_opened_total'), 2);
});

test('http2: a connection that stops answering is found by PING and replaced', async () => {
  const registry = createRegistry({ defaultMetrics: false });
  // client-go's 30 s / 15 s, shortened for the test.
  const c = new KubeClient({ kubeConfig: loadKubeConfig(cp.adminKubeconfig), registry, transport: 'http2', http2Health: { pingIntervalMs: 500, pingTimeoutMs: 1000 } });
  clients.push(c);
  const ns = 'client-ping';
  await c.create(builtinTypes.namespace, { metadata: { name: ns } });
  const start = await c.list(configMaps, { namespace: ns });
  const watch = backgroundWatch(c, ns, start.metadata.resourceVersion!);
  await c.create(configMaps, { metadata: { name: 'before', namespace: ns } });
  await waitFor(() => watch.events.length === 1, { timeoutMs: 10_000, description: 'the watch is flowing' });

  // The TCP connection stays up; nothing answers (a peer gone without a FIN).
  cp.pauseApiServer();
  const pausedAt = Date.now();
  let ended: { error: unknown };
  let noticedMs = 0;
  try {
    ended = await Promise.race([
      watch.ended,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the watch outlived an unanswered PING by 10 s')), 10_000).unref()),
    ]);
    noticedMs = Date.now() - pausedAt;
    // A new client's TLS handshake gets no answer either: the request's own timeout still applies.
    const fresh = client('http2');
    await assert.rejects(fresh.list(configMaps, { namespace: ns, timeoutMs: 500 }), (err: { code?: string }) => err.code === 'ETIMEDOUT');
  } finally {
    cp.resumeApiServer();
  }
  assert.equal((ended!.error as { code?: string }).code, 'ECONNRESET', String(ended!.error));
  assert.match(String(ended!.error), /PING/);
  console.log(`# unanswered PING noticed after ${noticedMs} ms`);
  assert.ok((await c.list(configMaps, { namespace: ns })).items.length === 1, 'the next request works on a new session');
  assert.equal(await metricValue(registry, 'flotilla_api_http2_sessions_opened_total'), 2);
});

test('plain http:// (kubectl proxy): auto speaks HTTP/1.1, as client-go; http2 insists on HTTP/2 and fails', async (t) => {
  const { kubectl } = await ensureControlPlaneBinaries();
  const proxy = spawn(kubectl, ['--kubeconfig', cp.adminKubeconfig, 'proxy', '--port=0', '--address=127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    proxy.kill();
  });
  let output = '';
  proxy.stdout.on('data', (c: Buffer) => (output += c.toString()));
  const port = await waitFor(() => /Starting to serve on 127\.0\.0\.1:(\d+)/.exec(output)?.[1], { timeoutMs: 20_000, description: 'kubectl proxy to listen' });
  const viaProxy = (transport: ApiTransport): KubeClient => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      // client-node refuses http:// unless TLS verification is off (there is no TLS to verify).
      clusters: [{ name: 'proxy', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'anonymous' }],
      contexts: [{ name: 'proxy', cluster: 'proxy', user: 'anonymous' }],
      currentContext: 'proxy',
    });
    const c = new KubeClient({ kubeConfig: kc, registry: createRegistry({ defaultMetrics: false }), transport });
    clients.push(c);
    return c;
  };
  const auto = viaProxy('auto');
  assert.ok((await auto.list(builtinTypes.namespace)).items.some((n) => n.metadata.name === 'default'));
  assert.equal(await auto.connection.protocol(), 'http/1.1');
  const insisting = viaProxy('http2');
  await assert.rejects(insisting.list(builtinTypes.namespace, { timeoutMs: 10_000 }), (err: Error & { code?: string }) => {
    console.log(`# http2 over http:// to an HTTP/1.1-only server: ${err.code}: ${err.message}`);
    return err.code === 'ECONNRESET' && /HTTP\/2/.test(err.message);
  });
});
