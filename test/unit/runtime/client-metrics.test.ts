import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { clientMetrics, hostLabel, RequestMetrics } from '../../../src/runtime/kube/client-metrics.ts';
import { createRegistry } from '../../../src/observability/metrics.ts';
import { parseMetrics } from '../../support/metrics.ts';

describe('hostLabel', () => {
  it('is the host and port as the kubeconfig writes them, like client-go\'s url.Host', () => {
    assert.equal(hostLabel('https://10.96.0.1:443'), '10.96.0.1:443');
    assert.equal(hostLabel('https://api.example.com'), 'api.example.com');
    assert.equal(hostLabel('https://[::1]:6443/prefix'), '[::1]:6443');
    assert.equal(hostLabel('http://user:pw@127.0.0.1:8080'), '127.0.0.1:8080');
    assert.equal(hostLabel(''), '');
  });
});

describe('client metrics', () => {
  it('rest_client_* carry client-go\'s names, labels, help and buckets; flotilla_api_* the Kubernetes verb and resource', async () => {
    const registry = createRegistry({ defaultMetrics: false });
    const metrics = new RequestMetrics(clientMetrics(registry), 'https://10.96.0.1:443');
    const ended = metrics.started('list', 'bundles.flotilla.dev');
    metrics.rateLimited('GET', 0.001);
    metrics.completed('list', 'GET', 'bundles.flotilla.dev', 200);
    metrics.latency('GET', 0.02);
    metrics.completed('apply', 'PATCH', 'bundledeployments.flotilla.dev', '<error>');
    metrics.retried('POST', 429);
    const text = await registry.metrics();
    const m = parseMetrics(text);
    const host = '10.96.0.1:443';
    assert.equal(m.sum('rest_client_requests_total', { code: '200', method: 'GET', host }), 1);
    assert.equal(m.sum('rest_client_requests_total', { code: '<error>', method: 'PATCH', host }), 1);
    assert.deepEqual(Object.keys(m.series('rest_client_requests_total')[0]!.labels).sort(), ['code', 'host', 'method']);
    assert.equal(m.sum('rest_client_request_duration_seconds_count', { verb: 'GET', host }), 1);
    assert.deepEqual(
      m.series('rest_client_request_duration_seconds_bucket').map((s) => s.labels.le),
      ['0.005', '0.025', '0.1', '0.25', '0.5', '1', '2', '4', '8', '15', '30', '60', '+Inf'],
    );
    assert.equal(m.sum('rest_client_rate_limiter_duration_seconds_count', { verb: 'GET', host }), 1);
    assert.equal(m.sum('rest_client_request_retries_total', { code: '429', verb: 'POST', host }), 1);
    assert.match(text, /# HELP rest_client_requests_total Number of HTTP requests, partitioned by status code, method, and host\./);
    assert.match(text, /# HELP rest_client_request_duration_seconds Request latency in seconds\. Broken down by verb, and host\./);

    assert.equal(m.sum('flotilla_api_requests_total', { verb: 'list', resource: 'bundles.flotilla.dev', code: '200' }), 1);
    assert.equal(m.sum('flotilla_api_requests_total', { verb: 'apply', resource: 'bundledeployments.flotilla.dev', code: '<error>' }), 1);
    assert.equal(m.sum('flotilla_api_requests_in_flight', { verb: 'list', resource: 'bundles.flotilla.dev' }), 1);
    ended();
    assert.equal(parseMetrics(await registry.metrics()).sum('flotilla_api_requests_in_flight'), 0);
  });
});
