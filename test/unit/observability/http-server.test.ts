import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest, Agent } from 'node:http';
import { Counter } from 'prom-client';
import { EventLoopMonitor } from '../../../src/observability/event-loop-monitor.ts';
import { HealthChecks, livenessChecks } from '../../../src/observability/health-checks.ts';
import { createObservabilityServers, ObservabilityServer, type BoundAddress } from '../../../src/observability/http-server.ts';
import { createRegistry } from '../../../src/observability/metrics.ts';

interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(base: BoundAddress, path: string, method = 'GET', agent?: Agent): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base.url}${path}`, { method, ...(agent ? { agent } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function setup(t: TestContext, options: { bindAddress?: string } = {}) {
  const registry = createRegistry({ defaultMetrics: false });
  const counter = new Counter({ name: 'flotilla_test_total', help: 'A test counter.', registers: [registry] });
  const monitor = new EventLoopMonitor({ stallThresholdMs: 10_000 }).start();
  const liveness = livenessChecks(monitor);
  const readiness = new HealthChecks({ timeoutMs: 50 });
  const server = new ObservabilityServer({ bindAddress: options.bindAddress ?? '127.0.0.1:0', registry, liveness, readiness });
  t.after(async () => {
    monitor.stop();
    await server.close();
  });
  return { registry, counter, liveness, readiness, server };
}

describe('ObservabilityServer', () => {
  it('binds port 0 and reports the real address', async (t) => {
    const { server } = setup(t);
    const address = await server.listen();
    assert.equal(address.host, '127.0.0.1');
    assert.ok(address.port > 0);
    assert.equal(address.url, `http://127.0.0.1:${address.port}`);
    assert.deepEqual(server.address, address);
  });

  it('serves /metrics from the registry with its content type', async (t) => {
    const { server, counter, registry } = setup(t);
    counter.inc(3);
    const address = await server.listen();
    const response = await get(address, '/metrics');
    assert.equal(response.status, 200);
    assert.equal(response.headers['content-type'], registry.contentType);
    assert.match(response.body, /^flotilla_test_total 3$/m);
  });

  it('/healthz answers ok while the event loop is responsive, even with readiness failing', async (t) => {
    const { server, readiness } = setup(t);
    // The API server is "down": readiness fails, liveness must not.
    readiness.set('informer-sync:Bundle', false, 'list failed: connection refused');
    const address = await server.listen();
    const healthz = await get(address, '/healthz');
    assert.equal(healthz.status, 200);
    assert.equal(healthz.body, 'ok\n');
    const verbose = await get(address, '/livez?verbose');
    assert.equal(verbose.body, '[+]ping ok\n[+]event-loop ok\nlivez check passed\n');
    assert.equal((await get(address, '/readyz')).status, 500);
  });

  it('/healthz fails when the event loop has stalled beyond the threshold', async (t) => {
    const monitor = new EventLoopMonitor({ stallThresholdMs: 100, intervalMs: 10 }).start();
    const server = new ObservabilityServer({ bindAddress: '127.0.0.1:0', liveness: livenessChecks(monitor) });
    t.after(async () => {
      monitor.stop();
      await server.close();
    });
    const address = await server.listen();
    const until = performance.now() + 200;
    while (performance.now() < until) {
      // Block the loop: the condition under test.
    }
    const response = await get(address, '/healthz');
    assert.equal(response.status, 500);
    assert.match(response.body, /\[-\]event-loop failed: event loop (was blocked for|heartbeat overdue by) \d+ ms/);
    assert.match(response.body, /healthz check failed\n$/);
  });

  it('/readyz lists every check like kube-apiserver, and passes only when all pass', async (t) => {
    const { server, readiness } = setup(t);
    readiness.set('informer-sync:Bundle', false, 'not synced');
    readiness.add('leader-election', () => true);
    const address = await server.listen();

    const failing = await get(address, '/readyz');
    assert.equal(failing.status, 500);
    assert.equal(failing.body, '[-]informer-sync:Bundle failed: not synced\n[+]leader-election ok\nreadyz check failed\n');

    readiness.set('informer-sync:Bundle', true);
    const passing = await get(address, '/readyz');
    assert.equal(passing.status, 200);
    assert.equal(passing.body, 'ok\n');
    const verbose = await get(address, '/readyz?verbose');
    assert.equal(verbose.body, '[+]informer-sync:Bundle ok\n[+]leader-election ok\nreadyz check passed\n');
  });

  it('/readyz/<name> runs one check, ?exclude skips one', async (t) => {
    const { server, readiness } = setup(t);
    readiness.set('informer-sync:Cluster', false, 'not synced');
    readiness.add('leader-election', () => true);
    const address = await server.listen();
    assert.equal((await get(address, '/readyz/leader-election')).status, 200);
    const one = await get(address, '/readyz/informer-sync:Cluster');
    assert.equal(one.status, 500);
    assert.equal(one.body, 'internal server error: not synced\n');
    assert.equal((await get(address, '/readyz/unknown')).status, 404);
    assert.equal((await get(address, '/readyz?exclude=informer-sync:Cluster')).status, 200);
  });

  it('a hanging readiness check fails the probe instead of hanging it', async (t) => {
    const { server, readiness } = setup(t);
    readiness.add('stuck', () => new Promise(() => {}));
    const address = await server.listen();
    const response = await get(address, '/readyz');
    assert.equal(response.status, 500);
    assert.match(response.body, /\[-\]stuck failed: timed out after 50 ms/);
  });

  it('answers 404 for unknown paths and 405 for other methods', async (t) => {
    const { server } = setup(t);
    const address = await server.listen();
    assert.equal((await get(address, '/nope')).status, 404);
    const post = await get(address, '/metrics', 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
    const head = await get(address, '/healthz', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  });

  it('close() completes even with an idle keep-alive connection open', async (t) => {
    const { server } = setup(t);
    const address = await server.listen();
    const agent = new Agent({ keepAlive: true });
    t.after(() => agent.destroy());
    assert.equal((await get(address, '/healthz', 'GET', agent)).status, 200);
    await server.close();
    await assert.rejects(get(address, '/healthz'), /ECONNREFUSED/);
  });

  it('reports a taken port with the endpoints and the address', async (t) => {
    const first = setup(t);
    const address = await first.server.listen();
    const second = new ObservabilityServer({ bindAddress: `127.0.0.1:${address.port}`, registry: first.registry });
    t.after(() => second.close());
    await assert.rejects(second.listen(), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'EADDRINUSE');
      assert.equal(error.message, `cannot serve /metrics on 127.0.0.1:${address.port}: address already in use`);
      return true;
    });
  });

  it('refuses to be created for a disabled address', () => {
    assert.throws(() => new ObservabilityServer({ bindAddress: '0' }), /disables the endpoint/);
  });
});

describe('createObservabilityServers', () => {
  const registry = createRegistry({ defaultMetrics: false });
  const liveness = new HealthChecks();
  const readiness = new HealthChecks();
  const common = { registry, liveness, readiness };

  it('serves metrics and health from one server when the addresses are equal', async (t) => {
    const servers = createObservabilityServers({ ...common, metricsBindAddress: '127.0.0.1:0', healthBindAddress: '127.0.0.1:0' });
    t.after(() => Promise.all(servers.map((s) => s.close())));
    assert.equal(servers.length, 1);
    const address = await servers[0]!.listen();
    assert.equal((await get(address, '/metrics')).status, 200);
    assert.equal((await get(address, '/healthz')).status, 200);
    assert.equal((await get(address, '/readyz')).status, 200);
  });

  it('uses two servers for two addresses, each serving only its endpoints', async (t) => {
    const servers = createObservabilityServers({ ...common, metricsBindAddress: '127.0.0.1:0', healthBindAddress: 'localhost:0' });
    t.after(() => Promise.all(servers.map((s) => s.close())));
    assert.equal(servers.length, 2);
    const [metrics, health] = await Promise.all(servers.map((s) => s.listen()));
    assert.equal((await get(metrics!, '/metrics')).status, 200);
    assert.equal((await get(metrics!, '/healthz')).status, 404);
    assert.equal((await get(health!, '/healthz')).status, 200);
    assert.equal((await get(health!, '/metrics')).status, 404);
  });

  it('creates no server for a disabled address', () => {
    assert.deepEqual(
      createObservabilityServers({ ...common, metricsBindAddress: 0, healthBindAddress: '0' }),
      [],
    );
    const onlyHealth = createObservabilityServers({ ...common, metricsBindAddress: 0, healthBindAddress: '127.0.0.1:0' });
    assert.deepEqual(onlyHealth.map((s) => s.paths), [['/healthz', '/livez', '/readyz']]);
  });
});
