import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { X509Certificate } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:tls';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuthorizationV1Api, CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { defaultConfig } from '../../src/config/index.ts';
import type { FlotillaConfig } from '../../src/config/schema.ts';
import { startControlPlane, type ControlPlane } from '../../src/controlplane/harness.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { Manager } from '../../src/runtime/manager.ts';
import { KubeClient } from '../../src/runtime/kube/client.ts';
import type { ApiTransport } from '../../src/runtime/kube/http-sender.ts';
import { createRegistry } from '../../src/observability/metrics.ts';
import { REPO_ROOT, startPlacementEnv, type FlotillaProcess, type PlacementEnv } from '../support/flotilla.ts';
import { applyManifests, loadKubeConfig, parseManifests, waitFor } from '../support/kube.ts';
import { parseMetrics } from '../support/metrics.ts';

/**
 * Secure metrics against a real API server: the controller process, run as
 * the user of the shipped RBAC (which must let it create TokenReviews and
 * SubjectAccessReviews), serves /metrics over HTTPS; ServiceAccount tokens
 * minted with the TokenRequest API are authenticated and authorized by that
 * API server, exactly as a Prometheus in the cluster would be.
 */

const NS = 'monitoring';
let env: PlacementEnv;
let flotilla: FlotillaProcess;
const tokens: Record<'reader' | 'stranger', string> = { reader: '', stranger: '' };

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  certificate: X509Certificate | undefined;
}

/** GET over HTTPS, skipping verification (the certificate is self-signed), with an optional bearer token. */
function httpsGet(url: string, token?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { rejectUnauthorized: false, headers: token === undefined ? {} : { Authorization: `Bearer ${token}` } }, (res) => {
      const certificate = (res.socket as import('node:tls').TLSSocket).getPeerX509Certificate();
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, certificate }));
    });
    req.on('error', reject);
    req.end();
  });
}

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * ServiceAccounts `reader` (bound to the shipped `flotilla-metrics-reader`,
 * as an operator binds Prometheus) and `stranger` (no binding) in
 * `monitoring`, and a token for each from the TokenRequest API.
 */
async function scrapers(admin: KubeConfig): Promise<Record<'reader' | 'stranger', string>> {
  const core = admin.makeApiClient(CoreV1Api);
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  await core.createNamespace({ body: { metadata: { name: NS } } });
  const minted = { reader: '', stranger: '' };
  for (const name of ['reader', 'stranger'] as const) {
    await core.createNamespacedServiceAccount({ namespace: NS, body: { metadata: { name } } });
    const request = await core.createNamespacedServiceAccountToken({ namespace: NS, name, body: { spec: { audiences: [], expirationSeconds: 3600 } } });
    minted[name] = request.status?.token ?? '';
    assert.ok(minted[name], `a token for ${name}`);
  }
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: 'flotilla-metrics-reader-test' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'flotilla-metrics-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: NS }],
    },
  });
  // The binding reaches the authorizer a moment later; a denial seen before would be cached for 30 s.
  const authz = admin.makeApiClient(AuthorizationV1Api);
  await waitFor(
    async () => {
      const review = await authz.createSubjectAccessReview({
        body: { spec: { user: `system:serviceaccount:${NS}:reader`, groups: ['system:serviceaccounts'], nonResourceAttributes: { path: '/metrics', verb: 'get' } } },
      });
      return review.status?.allowed === true;
    },
    { timeoutMs: 10_000, description: 'the reader ServiceAccount to be allowed get on /metrics' },
  );
  return minted;
}

const stopAfter: Array<() => Promise<unknown>> = [];

before(async () => {
  env = await startPlacementEnv();
  stopAfter.push(() => env.stop());
  Object.assign(tokens, await scrapers(env.adminKubeConfig));
  // Metrics on their own address over HTTPS (the default metrics.secure), health on plain HTTP.
  flotilla = await env.startFlotilla({ config: { metrics: { bindAddress: 'localhost:0', secure: true } } });
});

after(async () => {
  for (const stop of stopAfter.reverse()) await stop().catch(() => undefined);
});

test('the controller serves /metrics over HTTPS and health over plain HTTP', async () => {
  assert.match(flotilla.metricsUrl, /^https:\/\//);
  assert.match(flotilla.healthUrl, /^http:\/\//);
  const answer = await httpsGet(flotilla.metricsUrl);
  assert.ok(answer.certificate, 'a TLS peer certificate');
  assert.match(answer.certificate.subject, /CN=flotilla-metrics/);
  assert.ok(answer.certificate.verify(answer.certificate.publicKey), 'the generated certificate is self-signed');
  // Plain HTTP to the metrics port gets no HTTP answer at all.
  await assert.rejects(httpGet(flotilla.metricsUrl.replace(/^https:/, 'http:')));
  // The kubelet's probes: plain HTTP, no token.
  assert.deepEqual(await httpGet(`${flotilla.healthUrl}/healthz`), { status: 200, body: 'ok\n' });
  await waitFor(async () => (await httpGet(`${flotilla.healthUrl}/readyz`)).status === 200, { timeoutMs: 30_000, description: '/readyz to pass' });
});

test('no token or an unknown token: 401', async () => {
  const none = await httpsGet(flotilla.metricsUrl);
  assert.equal(none.status, 401, none.body);
  assert.equal(none.headers['www-authenticate'], 'Bearer realm="flotilla"');
  assert.equal((await httpsGet(flotilla.metricsUrl, 'not-a-token')).status, 401);
  // A token of another issuer's format is rejected by the API server's TokenReview too.
  assert.equal((await httpsGet(flotilla.metricsUrl, `${tokens.reader.slice(0, -4)}AAAA`)).status, 401);
});

test('api.transport against an HTTPS server without h2 in ALPN (this one): auto falls back to HTTP/1.1, http2 refuses', async () => {
  const origin = new URL(flotilla.metricsUrl).origin;
  const clientOf = (transport: ApiTransport): KubeClient => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'metrics', server: origin, skipTLSVerify: true }], // self-signed
      users: [{ name: 'anonymous' }],
      contexts: [{ name: 'metrics', cluster: 'metrics', user: 'anonymous' }],
      currentContext: 'metrics',
    });
    return new KubeClient({ kubeConfig: kc, registry: createRegistry({ defaultMetrics: false }), transport });
  };
  const scrape = { verb: 'get', method: 'GET', path: '/metrics', resource: 'metrics' } as const;
  const auto = clientOf('auto');
  try {
    // An HTTP answer (401: no token) came back, over HTTP/1.1.
    await assert.rejects(auto.request(scrape), (err: { statusCode?: number }) => err.statusCode === 401);
    assert.equal(await auto.connection.protocol(), 'http/1.1');
  } finally {
    await auto.close();
  }
  const insisting = clientOf('http2');
  try {
    await assert.rejects(insisting.request(scrape), (err: Error & { code?: string }) => err.code === 'ERR_HTTP2_NOT_NEGOTIATED' && /api\.transport/.test(err.message));
  } finally {
    await insisting.close();
  }
});

test('a valid token without get on /metrics: 403, naming the user', async () => {
  const answer = await httpsGet(flotilla.metricsUrl, tokens.stranger);
  assert.equal(answer.status, 403, answer.body);
  assert.equal(answer.body, `Authorization denied for user system:serviceaccount:${NS}:stranger\n`);
  assert.ok(!answer.body.includes('# HELP'), 'no metrics leak with the denial');
});

test('a token bound to flotilla-metrics-reader: 200 with the Prometheus text format', async () => {
  const answer = await httpsGet(flotilla.metricsUrl, tokens.reader);
  assert.equal(answer.status, 200, answer.body);
  assert.match(String(answer.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  const metrics = parseMetrics(answer.body);
  assert.ok(metrics.has('process_cpu_seconds_total'));
  assert.ok(metrics.has('rest_client_requests_total'));
  // The reviews themselves went to the API server as the controller's own (RBAC-bound) user.
  const reviews = metrics.sum('rest_client_requests_total', { method: 'POST', code: '201' });
  assert.ok(reviews >= 2, `TokenReview and SubjectAccessReview requests counted, got ${reviews}`);
});

test('answers are cached: repeated scrapes cost no further reviews', async () => {
  const count = async () => parseMetrics((await httpsGet(flotilla.metricsUrl, tokens.reader)).body).sum('rest_client_requests_total', { method: 'POST' });
  const first = await count();
  for (let i = 0; i < 5; i++) await httpsGet(flotilla.metricsUrl, tokens.reader);
  assert.equal(await count(), first, 'no TokenReview or SubjectAccessReview for cached answers');
});

test('the agent\'s wiring: reviews go to the cluster named by metricsAuthKubeConfig, not to the one it reconciles', async () => {
  // A second cluster plays the agent's downstream cluster, whose Prometheus scrapes it.
  const downstream: ControlPlane = await startControlPlane({ controllerManager: false });
  stopAfter.push(() => downstream.stop());
  const downstreamAdmin = loadKubeConfig(downstream.adminKubeconfig);
  await applyManifests(downstreamAdmin, parseManifests(readFileSync(join(REPO_ROOT, 'config/rbac/metrics_reader_role.yaml'), 'utf8')));
  const downstreamTokens = await scrapers(downstreamAdmin);

  const config = structuredClone(defaultConfig()) as FlotillaConfig;
  config.leaderElection.enabled = false;
  config.metrics.bindAddress = '127.0.0.1:0';
  config.health.bindAddress = '127.0.0.1:0';
  const manager = new Manager({
    config,
    kubeConfig: env.adminKubeConfig,
    logger: silentLogger,
    metricsAuthKubeConfig: downstreamAdmin,
    selectorPoolThreads: 0,
  });
  stopAfter.push(() => manager.stop(1_000));
  await manager.start();
  const url = `${manager.addresses.find((a) => a.url.startsWith('https://'))?.url}/metrics`;
  assert.match(url, /^https:\/\/127\.0\.0\.1:\d+\/metrics$/);
  assert.equal((await httpsGet(url, downstreamTokens.reader)).status, 200, 'the downstream cluster\'s reader may scrape');
  assert.equal((await httpsGet(url, downstreamTokens.stranger)).status, 403);
  // The management cluster's tokens mean nothing to the downstream cluster.
  assert.equal((await httpsGet(url, tokens.reader)).status, 401);
});
