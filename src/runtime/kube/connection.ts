import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import type { RequestSpec } from './api-types.ts';

/**
 * How to reach the API server: base URL, a keep-alive agent carrying the TLS
 * material, and the credential headers. `@kubernetes/client-node` resolves
 * the kubeconfig (file, in-cluster, exec plugins); everything else here is
 * plain node:http(s).
 */
export interface Connection {
  baseUrl: URL;
  agent: http.Agent;
  transport: typeof http | typeof https;
  headers: Record<string, string>;
  authExpiresAt: number;
}

// Exec plugins and projected service-account tokens rotate: credentials are
// re-read this often, the TLS agent is kept.
const AUTH_REFRESH_MS = 60_000;

type ClientTlsOptions = https.RequestOptions & { headers: Record<string, string> };

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

/** One shared connection per client, opened on first use; concurrent first requests share the attempt. */
export class ApiConnection {
  readonly #kc: KubeConfig;
  #connection: Promise<Connection> | undefined;

  constructor(kubeConfig: KubeConfig) {
    this.#kc = kubeConfig;
  }

  get server(): string {
    return this.#kc.getCurrentCluster()?.server ?? '';
  }

  async get(): Promise<Connection> {
    const existing = this.#connection;
    if (existing) {
      const conn = await existing;
      if (conn.authExpiresAt > Date.now()) return conn;
      conn.headers = authHeaders(await tlsOptions(this.#kc));
      conn.authExpiresAt = Date.now() + AUTH_REFRESH_MS;
      return conn;
    }
    const pending = this.#open();
    this.#connection = pending;
    pending.catch(() => {
      if (this.#connection === pending) this.#connection = undefined;
    });
    return pending;
  }

  /** After a 401: the next request opens afresh with newly read credentials. */
  invalidate(): void {
    this.#connection = undefined;
  }

  /** Closes idle keep-alive sockets (in-flight requests finish). */
  async close(): Promise<void> {
    const conn = await this.#connection?.catch(() => undefined);
    conn?.agent.destroy();
  }

  async #open(): Promise<Connection> {
    const cluster = this.#kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const opts = await tlsOptions(this.#kc);
    const baseUrl = new URL(cluster.server);
    const isHttps = baseUrl.protocol === 'https:';
    const agentOptions: https.AgentOptions = {
      keepAlive: true,
      maxSockets: 256,
      maxFreeSockets: 64,
      ca: opts.ca,
      cert: opts.cert,
      key: opts.key,
      ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}),
      ...(opts.servername ? { servername: opts.servername } : {}),
    };
    return {
      baseUrl,
      transport: isHttps ? https : http,
      agent: isHttps ? new https.Agent(agentOptions) : new http.Agent({ keepAlive: true, maxSockets: 256 }),
      headers: authHeaders(opts),
      authExpiresAt: Date.now() + AUTH_REFRESH_MS,
    };
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
