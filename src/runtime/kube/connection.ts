import type { KubeConfig } from '@kubernetes/client-node';
import type https from 'node:https';
import { silentLogger, type Logger } from '../../observability/logger.ts';
import type { RequestSpec } from './api-types.ts';
import { hostLabel, type ClientMetrics } from './client-metrics.ts';
import { DEFAULT_API_TRANSPORT, type ApiTransport, type HttpSender, type TlsMaterial, type WireProtocol } from './http-sender.ts';
import type { Http2Health } from './http2-session.ts';
import { createSender } from './senders.ts';

/**
 * How to reach the API server: base URL, a sender carrying the TLS material
 * (HTTP/1.1 agent or HTTP/2 session, see senders.ts), and the credential
 * headers. `@kubernetes/client-node` resolves the kubeconfig (file,
 * in-cluster, exec plugins); everything else is plain node:http(s)/http2.
 */
export interface Connection {
  baseUrl: URL;
  sender: HttpSender;
  headers: Record<string, string>;
  authExpiresAt: number;
}

export interface ApiConnectionOptions {
  /** `api.transport`; the default is DEFAULT_API_TRANSPORT. */
  transport?: ApiTransport | undefined;
  logger?: Logger | undefined;
  metrics?: ClientMetrics | undefined;
  /** HTTP/2 PING timing (client-go's 30 s / 15 s by default). */
  http2Health?: Http2Health | undefined;
}

// Exec plugins and projected service-account tokens rotate: credentials are
// re-read this often. The sender (its connections) is kept unless the TLS
// material changed with them.
const AUTH_REFRESH_MS = 60_000;

type ClientTlsOptions = https.RequestOptions & { headers: Record<string, string> };

interface ConnectionState extends Connection {
  tlsKey: string;
}

async function tlsOptions(kc: KubeConfig): Promise<ClientTlsOptions> {
  const opts: ClientTlsOptions = { headers: {} };
  await kc.applyToHTTPSOptions(opts);
  return opts;
}

function authHeaders(opts: ClientTlsOptions): Record<string, string> {
  const headers: Record<string, string> = { ...opts.headers };
  if (typeof opts.auth === 'string') headers.Authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
  return headers;
}

function tlsMaterial(opts: ClientTlsOptions): TlsMaterial {
  return {
    ca: opts.ca,
    cert: opts.cert,
    key: opts.key,
    ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}),
    ...(opts.servername ? { servername: opts.servername } : {}),
  };
}

/** Identifies TLS material, to notice a rotated client certificate. */
function tlsKey(material: TlsMaterial): string {
  return JSON.stringify([material.ca, material.cert, material.key, material.servername, material.rejectUnauthorized].map((v) => (v === undefined ? null : String(v))));
}

/** One shared connection per client, opened on first use; concurrent first requests share the attempt. */
export class ApiConnection {
  readonly #kc: KubeConfig;
  readonly #transport: ApiTransport;
  readonly #log: Logger;
  readonly #metrics: ClientMetrics | undefined;
  readonly #http2Health: Http2Health;
  #connection: Promise<ConnectionState> | undefined;
  #refresh: Promise<ConnectionState> | undefined;
  #announced = false;

  constructor(kubeConfig: KubeConfig, opts: ApiConnectionOptions = {}) {
    this.#kc = kubeConfig;
    this.#transport = opts.transport ?? DEFAULT_API_TRANSPORT;
    this.#log = opts.logger ?? silentLogger;
    this.#metrics = opts.metrics;
    this.#http2Health = opts.http2Health ?? {};
  }

  get server(): string {
    return this.#kc.getCurrentCluster()?.server ?? '';
  }

  /** `api.transport` as configured. */
  get transport(): ApiTransport {
    return this.#transport;
  }

  /** The protocol in use, once a connection has been made. */
  async protocol(): Promise<WireProtocol | undefined> {
    return (await this.#connection?.catch(() => undefined))?.sender.protocol;
  }

  async get(): Promise<Connection> {
    const existing = this.#connection;
    if (existing) {
      const conn = await existing;
      if (conn.authExpiresAt > Date.now()) return conn;
      const refresh = (this.#refresh ??= this.#refreshCredentials(conn).finally(() => (this.#refresh = undefined)));
      return refresh;
    }
    const pending = this.#open();
    this.#connection = pending;
    pending.catch(() => {
      if (this.#connection === pending) this.#connection = undefined;
    });
    return pending;
  }

  /**
   * After a 401: the next request re-reads the credentials. Headers travel
   * with each request, so the connections stay (a new one is made only if
   * the TLS client certificate changed too).
   */
  invalidate(): void {
    void this.#connection?.then(
      (conn) => {
        conn.authExpiresAt = 0;
      },
      () => undefined,
    );
  }

  /** Drops the open connections; in-flight requests fail with ECONNRESET (fault-injection tests). */
  async reset(): Promise<void> {
    (await this.#connection?.catch(() => undefined))?.sender.reset();
  }

  /** Lets the connections go: no session or idle socket keeps the process alive. */
  async close(): Promise<void> {
    const conn = await this.#connection?.catch(() => undefined);
    conn?.sender.close();
  }

  async #refreshCredentials(conn: ConnectionState): Promise<ConnectionState> {
    const opts = await tlsOptions(this.#kc);
    conn.headers = authHeaders(opts);
    conn.authExpiresAt = Date.now() + AUTH_REFRESH_MS;
    const material = tlsMaterial(opts);
    const key = tlsKey(material);
    if (key !== conn.tlsKey) {
      // A rotated client certificate (exec plugins may return one): new
      // connections must present it.
      const old = conn.sender;
      conn.sender = this.#sender(conn.baseUrl, material);
      conn.tlsKey = key;
      old.close();
      this.#log.info({ server: this.server }, 'api TLS credentials changed; reconnecting');
    }
    return conn;
  }

  async #open(): Promise<ConnectionState> {
    const cluster = this.#kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const opts = await tlsOptions(this.#kc);
    const baseUrl = new URL(cluster.server);
    const material = tlsMaterial(opts);
    return {
      baseUrl,
      sender: this.#sender(baseUrl, material),
      tlsKey: tlsKey(material),
      headers: authHeaders(opts),
      authExpiresAt: Date.now() + AUTH_REFRESH_MS,
    };
  }

  #sender(baseUrl: URL, material: TlsMaterial): HttpSender {
    const host = hostLabel(this.server);
    return createSender(this.#transport, baseUrl, material, {
      onEstablished: (protocol) => {
        this.#metrics?.connectionInfo.labels(host, protocol).set(1);
        if (this.#announced) return;
        this.#announced = true;
        this.#log.info({ server: this.server, protocol, transport: this.#transport }, 'api connection established');
      },
      onSessionOpened: () => {
        this.#metrics?.http2Sessions.labels(host).inc();
        if (this.#announced) this.#log.debug({ server: this.server }, 'HTTP/2 session opened');
      },
    }, this.#http2Health);
  }
}

/** `path` below the server URL's own path (a server may sit behind a path prefix); empty query values are left out. */
export function buildUrl(base: URL, path: string, query: RequestSpec['query']): URL {
  const url = new URL(base.pathname.replace(/\/$/, '') + path, base);
  if (query) {
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
  }
  return url;
}
