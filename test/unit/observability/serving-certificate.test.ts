import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HealthChecks } from '../../../src/observability/health-checks.ts';
import { createObservabilityServers, ObservabilityServer, type BoundAddress } from '../../../src/observability/http-server.ts';
import { RequestAuthorizer } from '../../../src/observability/metrics-auth.ts';
import { createRegistry } from '../../../src/observability/metrics.ts';
import { generateSelfSignedCertificate, type PemKeyPair } from '../../../src/observability/self-signed-certificate.ts';
import { CERT_FILE, KEY_FILE, ServingCertificate } from '../../../src/observability/serving-certificate.ts';
import { captureLogger, waitFor } from './test-helpers.ts';

/** The certificate a TLS server at `address` presents (verified against `ca` when given). */
function presentedCertificate(address: BoundAddress, ca?: string): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: address.port, servername: 'localhost', ...(ca ? { ca } : { rejectUnauthorized: false }) }, () => {
      const raw = socket.getPeerX509Certificate();
      socket.end();
      if (raw) resolve(raw);
      else reject(new Error('no peer certificate'));
    });
    socket.on('error', reject);
  });
}

function httpsGet(address: BoundAddress, path: string, ca: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      `${address.url}${path}`,
      { ca, servername: 'localhost', headers: token ? { Authorization: `Bearer ${token}` } : {} },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function writePair(dir: string, pair: PemKeyPair): void {
  writeFileSync(join(dir, CERT_FILE), pair.cert);
  writeFileSync(join(dir, KEY_FILE), pair.key);
}

function certDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-certs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('generateSelfSignedCertificate', () => {
  it('makes a P-256 certificate for the given hosts that verifies itself and matches its key', () => {
    const pair = generateSelfSignedCertificate({ commonName: 'flotilla-metrics', hosts: ['localhost', 'flotilla-0', '127.0.0.1', '::1'], now: new Date('2026-03-01T00:00:00Z') });
    const certificate = new X509Certificate(pair.cert);
    assert.equal(certificate.subjectAltName, 'DNS:localhost, DNS:flotilla-0, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    assert.match(certificate.subject, /CN=flotilla-metrics/);
    assert.ok(certificate.verify(certificate.publicKey), 'self-signed');
    assert.equal(certificate.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.equal(new Date(certificate.validFrom).toISOString(), '2026-02-28T23:00:00.000Z');
    assert.equal(new Date(certificate.validTo).toISOString(), '2027-02-28T23:00:00.000Z');
    assert.deepEqual(certificate.keyUsage, ['1.3.6.1.5.5.7.3.1']);
    assert.equal(certificate.checkHost('localhost'), 'localhost');
    assert.equal(certificate.checkIP('127.0.0.1'), '127.0.0.1');
  });

  it('writes GeneralizedTime after 2049', () => {
    const certificate = new X509Certificate(generateSelfSignedCertificate({ commonName: 'x', hosts: ['localhost'], now: new Date('2049-12-01T00:00:00Z'), validityDays: 60 }).cert);
    assert.equal(new Date(certificate.validTo).getUTCFullYear(), 2050);
  });
});

describe('ServingCertificate', () => {
  it('generates a self-signed certificate without a directory', async () => {
    const certificate = new ServingCertificate();
    const pair = await certificate.start();
    assert.equal(certificate.source, 'self-signed');
    assert.equal(new X509Certificate(pair.cert).checkHost('localhost'), 'localhost');
  });

  it('fails to start, naming the file, when the directory lacks the pair or holds a mismatched one', async (t) => {
    const dir = certDir(t);
    await assert.rejects(new ServingCertificate({ certDir: dir }).start(), new RegExp(`metrics.certDir ${dir}: cannot read tls.crt: ENOENT`));
    const a = generateSelfSignedCertificate({ commonName: 'a', hosts: ['localhost'] });
    const b = generateSelfSignedCertificate({ commonName: 'b', hosts: ['localhost'] });
    writePair(dir, { cert: a.cert, key: b.key });
    await assert.rejects(new ServingCertificate({ certDir: dir }).start(), /tls.key is not the key of tls.crt/);
  });

  it('an HTTPS server presents the mounted certificate, then the renewed one, and keeps the last good one on a bad change', async (t) => {
    const dir = certDir(t);
    const first = generateSelfSignedCertificate({ commonName: 'first', hosts: ['localhost'] });
    writePair(dir, first);
    const { logger, lines } = captureLogger('info');
    const certificate = new ServingCertificate({ certDir: dir, pollIntervalMs: 20, logger });
    const registry = createRegistry({ defaultMetrics: false });
    const server = new ObservabilityServer({ bindAddress: '127.0.0.1:0', registry, certificate });
    t.after(() => server.close());
    const address = await server.listen();
    assert.equal(address.url, `https://127.0.0.1:${address.port}`);
    assert.match((await presentedCertificate(address, first.cert)).subject, /CN=first/);

    const second = generateSelfSignedCertificate({ commonName: 'second', hosts: ['localhost'] });
    writePair(dir, second);
    await waitFor(() => lines.some((l) => l.msg === 'serving certificate reloaded'), 'the renewed certificate to load');
    assert.match((await presentedCertificate(address, second.cert)).subject, /CN=second/);
    assert.equal((await httpsGet(address, '/metrics', second.cert)).status, 200);

    writeFileSync(join(dir, KEY_FILE), first.key); // the key no longer matches
    await waitFor(() => lines.some((l) => l.msg.includes('cannot be loaded; keeping the previous one')), 'the bad change to be rejected');
    assert.match((await presentedCertificate(address, second.cert)).subject, /CN=second/);
  });
});

describe('secure metrics server', () => {
  it('serves /metrics over TLS to authorized tokens, health over plain HTTP on its own server', async (t) => {
    const registry = createRegistry({ defaultMetrics: false });
    const authorizer = new RequestAuthorizer({
      reviewer: {
        reviewToken: async (token) => (token === 'good' || token === 'other' ? { authenticated: true, user: { username: token } } : { authenticated: false }),
        reviewAccess: async (user, request) => ({ allowed: user.username === 'good' && request.verb === 'get' && request.path === '/metrics' }),
      },
    });
    const certificate = new ServingCertificate();
    const servers = createObservabilityServers({
      metricsBindAddress: '127.0.0.1:0',
      healthBindAddress: 'localhost:0',
      metricsSecurity: { certificate, authorizer },
      registry,
      liveness: new HealthChecks(),
      readiness: new HealthChecks(),
    });
    t.after(() => Promise.all(servers.map((s) => s.close())));
    assert.equal(servers.length, 2, 'never one server for HTTPS metrics and plain-HTTP probes');
    const [metrics, health] = await Promise.all(servers.map((s) => s.listen()));
    const ca = certificate.current!.cert;
    assert.equal((await httpsGet(metrics!, '/metrics', ca)).status, 401);
    assert.equal((await httpsGet(metrics!, '/metrics', ca, 'bad')).status, 401);
    assert.deepEqual(await httpsGet(metrics!, '/metrics', ca, 'other'), { status: 403, body: 'Authorization denied for user other\n' });
    assert.equal((await httpsGet(metrics!, '/metrics', ca, 'good')).status, 200);

    const plain = await new Promise<number>((resolve, reject) => {
      httpRequest(`${health!.url}/healthz`, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    assert.equal(health!.url.startsWith('http://'), true);
    assert.equal(plain, 200);
    // Plain HTTP to the metrics port gets no HTTP answer.
    await assert.rejects(
      new Promise((resolve, reject) => httpRequest(`http://127.0.0.1:${metrics!.port}/metrics`, resolve).on('error', reject).end()),
    );
  });

  it('refuses to put secure metrics and the health probes on one address, but gives each its own free port for port 0', () => {
    const security = () => ({
      certificate: new ServingCertificate(),
      authorizer: new RequestAuthorizer({ reviewer: { reviewToken: async () => ({ authenticated: false }), reviewAccess: async () => ({ allowed: false }) } }),
    });
    const common = { registry: createRegistry({ defaultMetrics: false }), liveness: new HealthChecks(), readiness: new HealthChecks() };
    const apart = createObservabilityServers({ ...common, metricsBindAddress: '127.0.0.1:0', healthBindAddress: '127.0.0.1:0', metricsSecurity: security() });
    assert.deepEqual(apart.map((s) => [s.secure, s.paths]), [[true, ['/metrics']], [false, ['/healthz', '/livez', '/readyz']]]);
    assert.throws(
      () =>
        createObservabilityServers({
          metricsBindAddress: '127.0.0.1:9443',
          healthBindAddress: '127.0.0.1:9443',
          metricsSecurity: { certificate: new ServingCertificate(), authorizer: new RequestAuthorizer({ reviewer: { reviewToken: async () => ({ authenticated: false }), reviewAccess: async () => ({ allowed: false }) } }) },
          registry: createRegistry({ defaultMetrics: false }),
          liveness: new HealthChecks(),
          readiness: new HealthChecks(),
        }),
      /secure metrics cannot share health.bindAddress/,
    );
  });
});
