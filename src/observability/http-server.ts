/**
 * The metrics and health HTTP endpoints.
 *
 * - `/metrics`: the prom-client registry, in its own content type.
 * - `/healthz` (alias `/livez`): liveness — the process and its event loop
 *   work. Never depends on the API server.
 * - `/readyz`: readiness — every check registered by the runtime passes
 *   (`informer-sync`: every informer has listed once; `shutdown`: not
 *   shutting down; leadership is not one of them, so a warm standby is
 *   ready). `?verbose` lists each check; `?exclude=<name>` skips one;
 *   `/readyz/<name>` runs one.
 *
 * One server per bind address: when metrics and health share an address,
 * one server serves both; `0` disables an endpoint.
 *
 * Secure metrics (`metrics.secure`, the default): `/metrics` is served over
 * HTTPS and only to bearer tokens the API server authenticates and
 * authorizes for `get` on `/metrics` (metrics-auth.ts), as kubebuilder v4
 * projects do. Health endpoints stay plain HTTP on their own address, so the
 * kubelet's probes need neither a certificate nor a token.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import type { Registry } from 'prom-client';
import { formatHostPort, parseBindAddress, type BindAddress } from '../config/bind-address.ts';
import { formatReport, type HealthChecks } from './health-checks.ts';
import { componentLogger, silentLogger, type Logger } from './logger.ts';
import type { RequestAuthorizer } from './metrics-auth.ts';
import type { PemKeyPair } from './self-signed-certificate.ts';
import type { ServingCertificate } from './serving-certificate.ts';

export { parseBindAddress, type BindAddress };

export interface BoundAddress {
  host: string;
  port: number;
  /** A URL a local client can use (`http://127.0.0.1:8081` for a wildcard bind; `https://` when serving TLS). */
  url: string;
}

/** HTTPS with TLS 1.2 at least, as controller-runtime's metrics server. */
function tlsOptions(pair: PemKeyPair): SecureContextOptions {
  return { cert: pair.cert, key: pair.key, minVersion: 'TLSv1.2' };
}

export interface ObservabilityServerOptions {
  /** `:8080`, `127.0.0.1:0`, `[::1]:9090`, or a parsed address. Must not be the disabled `0`. */
  bindAddress: string | BindAddress;
  /** Serve `/metrics` from this registry. */
  registry?: Registry;
  /** Serve `/healthz` and `/livez` from these checks. */
  liveness?: HealthChecks;
  /** Serve `/readyz` from these checks. */
  readiness?: HealthChecks;
  /** Serve HTTPS with this certificate (loaded by `listen()`, reloaded when it changes). */
  certificate?: ServingCertificate;
  /** Allow `/metrics` only to requests it authorizes; health endpoints are never guarded. */
  authorizer?: RequestAuthorizer;
  logger?: Logger;
  /** After `close()`, connections still open this long are destroyed (default 2 s). */
  forceCloseAfterMs?: number;
}

const TEXT = 'text/plain; charset=utf-8';

function send(response: ServerResponse, status: number, body: string, contentType = TEXT): void {
  response.writeHead(status, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  response.end(body);
}

export class ObservabilityServer {
  readonly #bind: BindAddress;
  readonly #options: ObservabilityServerOptions;
  readonly #logger: Logger;
  readonly #server: Server | HttpsServer;
  readonly #sockets = new Set<Socket>();
  #address: BoundAddress | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: ObservabilityServerOptions) {
    const bind = typeof options.bindAddress === 'string' ? parseBindAddress(options.bindAddress) : options.bindAddress;
    if (bind === null) throw new RangeError('bind address 0 disables the endpoint; do not create a server for it');
    this.#bind = bind;
    this.#options = options;
    this.#logger = componentLogger(options.logger ?? silentLogger, 'http-server');
    const handler = (request: IncomingMessage, response: ServerResponse) => {
      this.#handle(request, response).catch((error: unknown) => {
        this.#logger.error({ err: error, url: request.url }, 'observability request failed');
        if (!response.headersSent) send(response, 500, 'internal server error\n');
        else response.destroy();
      });
    };
    // The certificate is set by listen(); until then no handshake can succeed.
    this.#server = options.certificate ? createHttpsServer({ minVersion: 'TLSv1.2' }, handler) : createServer(handler);
    // A client that fails the handshake (e.g. plain HTTP on the HTTPS port) is its own problem.
    this.#server.on('tlsClientError', (error: Error) => this.#logger.debug({ err: error }, 'TLS handshake failed'));
    // Malformed requests: answer 400 if possible, never let the error escape.
    this.#server.on('clientError', (_error, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
  }

  /** The paths this server answers, for logs. */
  get paths(): string[] {
    return [
      ...(this.#options.registry ? ['/metrics'] : []),
      ...(this.#options.liveness ? ['/healthz', '/livez'] : []),
      ...(this.#options.readiness ? ['/readyz'] : []),
    ];
  }

  /** The bound address once listening (with the real port when bound to port 0). */
  get address(): BoundAddress | undefined {
    return this.#address;
  }

  /** Whether this server speaks HTTPS. */
  get secure(): boolean {
    return this.#options.certificate !== undefined;
  }

  /** How requests are protected, for the caller's one "serving" line. */
  get protection(): { certificate?: string; authorization: string } {
    const certificate = this.#options.certificate;
    return {
      ...(certificate ? { certificate: certificate.source } : {}),
      authorization: this.#options.authorizer ? 'TokenReview+SubjectAccessReview' : 'none',
    };
  }

  async listen(): Promise<BoundAddress> {
    const certificate = this.#options.certificate;
    if (certificate) {
      const server = this.#server as HttpsServer;
      server.setSecureContext(tlsOptions(await certificate.start()));
      certificate.onChange((pair) => server.setSecureContext(tlsOptions(pair)));
    }
    const { host, port } = this.#bind;
    const scheme = certificate ? 'https' : 'http';
    return new Promise<BoundAddress>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException) => {
        this.#server.off('listening', onListening);
        const where = formatHostPort(host ?? '', port);
        reject(
          Object.assign(new Error(`cannot serve ${this.paths.join(', ')} on ${where}: ${error.code === 'EADDRINUSE' ? 'address already in use' : error.message}`), {
            code: error.code,
            cause: error,
          }),
        );
      };
      const onListening = () => {
        this.#server.off('error', onError);
        const info = this.#server.address() as AddressInfo;
        const wildcard = info.address === '::' || info.address === '0.0.0.0';
        const urlHost = wildcard ? '127.0.0.1' : info.address;
        this.#address = { host: info.address, port: info.port, url: `${scheme}://${formatHostPort(urlHost, info.port)}` };
        // Later runtime errors (rare once listening) must not become uncaught exceptions.
        this.#server.on('error', (error) => this.#logger.error({ err: error }, 'observability server error'));
        // The caller logs where it serves (the manager's "serving" line): one line per server.
        resolve(this.#address);
      };
      this.#server.once('error', onError);
      this.#server.once('listening', onListening);
      this.#server.listen({ port, ...(host === undefined ? {} : { host }) });
    });
  }

  /** Stops accepting connections, then waits for open ones (destroying stragglers after the grace period). */
  close(): Promise<void> {
    this.#options.certificate?.stop();
    this.#closing ??= new Promise<void>((resolve) => {
      if (!this.#server.listening) {
        resolve();
        return;
      }
      const force = setTimeout(() => {
        for (const socket of this.#sockets) socket.destroy();
      }, this.#options.forceCloseAfterMs ?? 2_000);
      force.unref();
      this.#server.close(() => {
        clearTimeout(force);
        resolve();
      });
      // Keep-alive connections from scrapers would otherwise hold close() open.
      this.#server.closeIdleConnections();
    });
    return this.#closing;
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const route = this.#route(path);
    if (route === undefined) {
      send(response, 404, 'not found\n');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      send(response, 405, 'method not allowed\n');
      return;
    }
    await route(url, response, request);
  }

  #route(path: string): ((url: URL, response: ServerResponse, request: IncomingMessage) => Promise<void>) | undefined {
    const { registry, liveness, readiness } = this.#options;
    if (path === '/metrics' && registry) {
      return async (_url, response, request) => {
        if (!(await this.#authorized(request, response, path))) return;
        send(response, 200, await registry.metrics(), registry.contentType);
      };
    }
    for (const [prefix, checks, endpoint] of [
      ['/healthz', liveness, 'healthz'],
      ['/livez', liveness, 'livez'],
      ['/readyz', readiness, 'readyz'],
    ] as const) {
      if (checks === undefined) continue;
      if (path === prefix) return (url, response) => this.#serveChecks(checks, endpoint, url, response);
      if (path.startsWith(`${prefix}/`)) {
        let name: string;
        try {
          name = decodeURIComponent(path.slice(prefix.length + 1));
        } catch {
          return undefined; // Malformed escape: no check can have that name.
        }
        return (_url, response) => this.#serveOneCheck(checks, name, response);
      }
    }
    return undefined;
  }

  /** Answers 401/403/500 and returns false unless the authorizer (if any) lets the request through. */
  async #authorized(request: IncomingMessage, response: ServerResponse, path: string): Promise<boolean> {
    const authorizer = this.#options.authorizer;
    if (authorizer === undefined) return true;
    const decision = await authorizer.authorize(request.headers.authorization, request.method ?? 'GET', path);
    switch (decision.status) {
      case 200:
        return true;
      case 401:
        this.#logger.debug({ path, reason: decision.reason }, 'metrics request not authenticated');
        response.setHeader('WWW-Authenticate', 'Bearer realm="flotilla"');
        send(response, 401, 'Unauthorized\n');
        return false;
      case 403:
        this.#logger.debug({ path, user: decision.user.username, reason: decision.reason }, 'metrics request not authorized');
        send(response, 403, `Authorization denied for user ${decision.user.username}\n`);
        return false;
      case 500:
        this.#logger.error({ err: decision.error, path }, decision.reason);
        send(response, 500, `${decision.reason}\n`);
        return false;
    }
  }

  async #serveChecks(checks: HealthChecks, endpoint: string, url: URL, response: ServerResponse): Promise<void> {
    const exclude = new Set(url.searchParams.getAll('exclude'));
    const report = await checks.run({ exclude });
    if (!report.ok) {
      this.#logger.info({ endpoint, failed: report.results.filter((r) => !r.ok) }, `${endpoint} check failed`);
    }
    // kube-apiserver always lists the checks when one fails.
    send(response, report.ok ? 200 : 500, formatReport(endpoint, report, url.searchParams.has('verbose')));
  }

  async #serveOneCheck(checks: HealthChecks, name: string, response: ServerResponse): Promise<void> {
    if (!checks.has(name)) {
      send(response, 404, `no such check: ${name}\n`);
      return;
    }
    const report = await checks.run({ only: name });
    const result = report.results[0];
    if (result?.ok) send(response, 200, 'ok\n');
    else send(response, 500, `internal server error: ${result?.reason ?? 'check failed'}\n`);
  }
}

export interface ObservabilityServersOptions {
  /** `metrics.bindAddress` from the config; 0 disables `/metrics`. */
  metricsBindAddress: string | number;
  /** `health.bindAddress` from the config; 0 disables `/healthz` and `/readyz`. */
  healthBindAddress: string | number;
  /** `metrics.secure`: `/metrics` over HTTPS, for authorized tokens only. */
  metricsSecurity?: { certificate: ServingCertificate; authorizer: RequestAuthorizer } | undefined;
  registry: Registry;
  liveness: HealthChecks;
  readiness: HealthChecks;
  logger?: Logger;
}

/**
 * The servers the configuration asks for: none, one (both endpoints on one
 * address, or one disabled) or two. Create, then `listen()` each. Secure
 * metrics never share a server with the health probes.
 */
export function createObservabilityServers(options: ObservabilityServersOptions): ObservabilityServer[] {
  const metrics = parseBindAddress(options.metricsBindAddress);
  const health = parseBindAddress(options.healthBindAddress);
  const common = options.logger === undefined ? {} : { logger: options.logger };
  const healthEndpoints = { liveness: options.liveness, readiness: options.readiness };
  const sameAddress = metrics !== null && health !== null && String(options.metricsBindAddress) === String(options.healthBindAddress);
  // Port 0: each server gets a free port of its own, so secure metrics can still be apart from the probes.
  if (sameAddress && options.metricsSecurity && metrics.port !== 0) {
    throw new RangeError('secure metrics cannot share health.bindAddress: the health probes stay plain HTTP');
  }
  if (sameAddress && !options.metricsSecurity) {
    return [new ObservabilityServer({ bindAddress: metrics, registry: options.registry, ...healthEndpoints, ...common })];
  }
  const servers: ObservabilityServer[] = [];
  if (metrics !== null) servers.push(new ObservabilityServer({ bindAddress: metrics, registry: options.registry, ...options.metricsSecurity, ...common }));
  if (health !== null) servers.push(new ObservabilityServer({ bindAddress: health, ...healthEndpoints, ...common }));
  return servers;
}
