import http from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { ApiError } from '../errors.ts';
import { silentLogger, type Logger } from '../../observability/logger.ts';
import { TokenBucket } from './token-bucket.ts';
import {
  apiVersionOf,
  resourceLabel,
  resourcePath,
  type KubeObject,
  type ObjectList,
  type ResourceType,
} from './resource.ts';

/**
 * The one door to the API server. `@kubernetes/client-node` supplies the
 * kubeconfig handling and authentication (file, in-cluster, exec plugins);
 * the requests themselves go through node:https here so that every request
 * is rate limited, counted by verb/resource/code, retried on 429 with
 * Retry-After exactly as client-go does, and so that watches are long-lived
 * streams we control (client-node's own watch is killed after 30 s in 2.0,
 * client-node #3020). Responses stay plain JSON: no Date objects in the cache.
 */

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'apply' | 'delete';

export interface RequestSpec {
  verb: Verb;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  /** Metrics label, e.g. `bundles.flotilla.dev`. */
  resource: string;
  query?: Record<string, string | number | boolean | undefined> | undefined;
  body?: unknown;
  contentType?: string;
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

export interface ListOptions {
  namespace?: string | undefined;
  labelSelector?: string | undefined;
  fieldSelector?: string | undefined;
  limit?: number | undefined;
  continue?: string | undefined;
  resourceVersion?: string | undefined;
  resourceVersionMatch?: 'NotOlderThan' | 'Exact' | undefined;
  signal?: AbortSignal | undefined;
  timeoutMs?: number | undefined;
}

export interface WatchOptions {
  namespace?: string | undefined;
  labelSelector?: string | undefined;
  fieldSelector?: string | undefined;
  resourceVersion: string;
  timeoutSeconds: number;
  allowWatchBookmarks?: boolean;
  signal?: AbortSignal | undefined;
  /** Abort when nothing (not even a bookmark) arrives for this long. */
  idleTimeoutMs?: number;
}

export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';
  object: T;
}

export interface WriteOptions {
  fieldManager?: string;
  dryRun?: boolean;
  signal?: AbortSignal | undefined;
}

export interface KubeClientOptions {
  kubeConfig: KubeConfig;
  registry: Registry;
  logger?: Logger;
  qps?: number;
  burst?: number;
  requestTimeoutMs?: number;
  userAgent?: string;
  fieldManager?: string;
  /** client-go retries a request answered 429 + Retry-After up to 10 times. */
  maxThrottleRetries?: number;
}

export const PatchType = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;
export type PatchContentType = (typeof PatchType)[keyof typeof PatchType];

interface ClientMetrics {
  requests: Counter<'verb' | 'resource' | 'code'>;
  duration: Histogram<'verb' | 'resource'>;
  rateLimiterWait: Histogram<'verb'>;
  inFlight: Gauge<'verb'>;
  retries: Counter<'verb' | 'resource' | 'code'>;
}

const metricsByRegistry = new WeakMap<Registry, ClientMetrics>();

function clientMetrics(registry: Registry): ClientMetrics {
  let m = metricsByRegistry.get(registry);
  if (m) return m;
  m = {
    requests: new Counter({
      name: 'rest_client_requests_total',
      help: 'Number of HTTP requests to the API server, partitioned by verb, resource and status code (<error> when no response).',
      labelNames: ['verb', 'resource', 'code'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'rest_client_request_duration_seconds',
      help: 'Request latency in seconds, by verb and resource (watches: until the stream is established).',
      labelNames: ['verb', 'resource'],
      buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60],
      registers: [registry],
    }),
    rateLimiterWait: new Histogram({
      name: 'rest_client_rate_limiter_duration_seconds',
      help: 'Client-side rate limiter latency in seconds, by verb.',
      labelNames: ['verb'],
      buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60],
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: 'rest_client_requests_in_flight',
      help: 'Requests currently in flight to the API server, by verb.',
      labelNames: ['verb'],
      registers: [registry],
    }),
    retries: new Counter({
      name: 'rest_client_request_retries_total',
      help: 'Requests retried after the server asked to wait (429 or Retry-After), by verb, resource and code.',
      labelNames: ['verb', 'resource', 'code'],
      registers: [registry],
    }),
  };
  metricsByRegistry.set(registry, m);
  return m;
}

interface Connection {
  baseUrl: URL;
  agent: http.Agent;
  transport: typeof http | typeof https;
  headers: Record<string, string>;
  authExpiresAt: number;
}

const AUTH_REFRESH_MS = 60_000;

export class KubeClient {
  readonly #kc: KubeConfig;
  readonly #log: Logger;
  readonly #limiter: TokenBucket;
  readonly #metrics: ClientMetrics;
  readonly #requestTimeoutMs: number;
  readonly #userAgent: string;
  readonly #maxThrottleRetries: number;
  readonly fieldManager: string;
  #connection: Promise<Connection> | undefined;

  constructor(opts: KubeClientOptions) {
    this.#kc = opts.kubeConfig;
    this.#log = opts.logger ?? silentLogger;
    this.#limiter = new TokenBucket({ qps: opts.qps ?? 0, burst: opts.burst ?? 1 });
    this.#metrics = clientMetrics(opts.registry);
    this.#requestTimeoutMs = opts.requestTimeoutMs ?? 60_000;
    this.#userAgent = opts.userAgent ?? 'flotilla';
    this.#maxThrottleRetries = opts.maxThrottleRetries ?? 10;
    this.fieldManager = opts.fieldManager ?? 'flotilla';
  }

  get server(): string {
    return this.#kc.getCurrentCluster()?.server ?? '';
  }

  setRateLimits(qps: number, burst: number): void {
    this.#limiter.setLimits(qps, burst);
  }

  /** Closes idle keep-alive sockets (in-flight requests finish). */
  async close(): Promise<void> {
    const conn = await this.#connection?.catch(() => undefined);
    conn?.agent.destroy();
  }

  // ---- typed verbs -------------------------------------------------------

  async list<T extends KubeObject>(type: ResourceType, opts: ListOptions = {}): Promise<ObjectList<T>> {
    return this.request<ObjectList<T>>({
      verb: 'list',
      method: 'GET',
      path: resourcePath(type, { namespace: opts.namespace }),
      resource: resourceLabel(type),
      query: {
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        limit: opts.limit,
        continue: opts.continue,
        resourceVersion: opts.resourceVersion,
        resourceVersionMatch: opts.resourceVersionMatch,
      },
      signal: opts.signal,
      timeoutMs: opts.timeoutMs,
    });
  }

  async get<T extends KubeObject>(
    type: ResourceType,
    name: string,
    namespace?: string,
    opts: { signal?: AbortSignal } = {},
  ): Promise<T> {
    return this.request<T>({
      verb: 'get',
      method: 'GET',
      path: resourcePath(type, { namespace, name }),
      resource: resourceLabel(type),
      signal: opts.signal,
    });
  }

  async create<T extends KubeObject>(type: ResourceType, obj: T, opts: WriteOptions = {}): Promise<T> {
    return this.request<T>({
      verb: 'create',
      method: 'POST',
      path: resourcePath(type, { namespace: obj.metadata.namespace }),
      resource: resourceLabel(type),
      query: this.#writeQuery(opts),
      body: { apiVersion: apiVersionOf(type), kind: type.kind, ...obj },
      signal: opts.signal,
    });
  }

  /** PUT with the object's resourceVersion: optimistic concurrency, 409 on a stale write. */
  async update<T extends KubeObject>(
    type: ResourceType,
    obj: T,
    opts: WriteOptions & { subresource?: 'status' } = {},
  ): Promise<T> {
    return this.request<T>({
      verb: 'update',
      method: 'PUT',
      path: resourcePath(type, { namespace: obj.metadata.namespace, name: obj.metadata.name, subresource: opts.subresource }),
      resource: resourceLabel(type) + (opts.subresource ? `/${opts.subresource}` : ''),
      query: this.#writeQuery(opts),
      body: { apiVersion: apiVersionOf(type), kind: type.kind, ...obj },
      signal: opts.signal,
    });
  }

  async patch<T extends KubeObject>(
    type: ResourceType,
    name: string,
    namespace: string | undefined,
    patch: unknown,
    opts: WriteOptions & { contentType?: PatchContentType; subresource?: 'status' } = {},
  ): Promise<T> {
    return this.request<T>({
      verb: 'patch',
      method: 'PATCH',
      path: resourcePath(type, { namespace, name, subresource: opts.subresource }),
      resource: resourceLabel(type) + (opts.subresource ? `/${opts.subresource}` : ''),
      query: this.#writeQuery(opts),
      body: patch,
      contentType: opts.contentType ?? PatchType.merge,
      signal: opts.signal,
    });
  }

  /**
   * Server-side apply with this client's field manager. `force` takes
   * ownership of conflicting fields: the controller is the source of truth
   * for the objects it generates.
   */
  async apply<T extends KubeObject>(
    type: ResourceType,
    obj: T,
    opts: WriteOptions & { force?: boolean; subresource?: 'status' } = {},
  ): Promise<T> {
    const name = obj.metadata.name;
    if (!name) throw new Error(`apply ${type.kind}: metadata.name is required`);
    return this.request<T>({
      verb: 'apply',
      method: 'PATCH',
      path: resourcePath(type, { namespace: obj.metadata.namespace, name, subresource: opts.subresource }),
      resource: resourceLabel(type) + (opts.subresource ? `/${opts.subresource}` : ''),
      query: { ...this.#writeQuery(opts), force: opts.force ?? true },
      body: { apiVersion: apiVersionOf(type), kind: type.kind, ...obj },
      contentType: PatchType.apply,
      signal: opts.signal,
    });
  }

  async delete(
    type: ResourceType,
    name: string,
    namespace?: string,
    opts: {
      propagationPolicy?: 'Foreground' | 'Background' | 'Orphan';
      preconditions?: { uid?: string; resourceVersion?: string };
      signal?: AbortSignal;
    } = {},
  ): Promise<unknown> {
    return this.request({
      verb: 'delete',
      method: 'DELETE',
      path: resourcePath(type, { namespace, name }),
      resource: resourceLabel(type),
      body: {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        ...(opts.propagationPolicy ? { propagationPolicy: opts.propagationPolicy } : {}),
        ...(opts.preconditions ? { preconditions: opts.preconditions } : {}),
      },
      signal: opts.signal,
    });
  }

  #writeQuery(opts: WriteOptions): Record<string, string | undefined> {
    return { fieldManager: opts.fieldManager ?? this.fieldManager, dryRun: opts.dryRun ? 'All' : undefined };
  }

  // ---- plumbing ----------------------------------------------------------

  async request<T>(spec: RequestSpec): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const response = await this.#send(spec);
      if (response.status >= 200 && response.status < 300) {
        return (response.body.length === 0 ? undefined : JSON.parse(response.body)) as T;
      }
      const error = toApiError(spec, response.status, response.body, response.retryAfterSeconds);
      // client-go retries any request the server explicitly asked to retry
      // later (429, or 5xx with Retry-After): the server did not process it.
      const retryable =
        response.retryAfterSeconds !== undefined && (response.status === 429 || response.status >= 500);
      if (!retryable || attempt >= this.#maxThrottleRetries || spec.signal?.aborted) throw error;
      this.#metrics.retries.labels(spec.verb, spec.resource, String(response.status)).inc();
      const waitMs = Math.min(response.retryAfterSeconds! * 1000, 60_000);
      this.#log.debug({ verb: spec.verb, resource: spec.resource, code: response.status, waitMs }, 'server asked to retry later');
      await sleep(waitMs, undefined, spec.signal ? { signal: spec.signal } : undefined).catch(() => undefined);
    }
  }

  async #send(spec: RequestSpec): Promise<{ status: number; body: string; retryAfterSeconds: number | undefined }> {
    const waited = await this.#limiter.take();
    this.#metrics.rateLimiterWait.labels(spec.verb).observe(waited / 1000);
    const conn = await this.#connect();
    const url = buildUrl(conn.baseUrl, spec.path, spec.query);
    const payload =
      spec.body === undefined ? undefined : Buffer.from(typeof spec.body === 'string' ? spec.body : JSON.stringify(spec.body));
    const timeout = AbortSignal.timeout(spec.timeoutMs ?? this.#requestTimeoutMs);
    const signal = spec.signal ? AbortSignal.any([spec.signal, timeout]) : timeout;
    const started = performance.now();
    const inFlight = this.#metrics.inFlight.labels(spec.verb);
    inFlight.inc();
    try {
      const res = await new Promise<{ status: number; body: string; retryAfterSeconds: number | undefined }>(
        (resolve, reject) => {
          const req = conn.transport.request(
            url,
            {
              method: spec.method,
              agent: conn.agent,
              signal,
              headers: {
                ...conn.headers,
                Accept: 'application/json',
                'User-Agent': this.#userAgent,
                ...(payload
                  ? { 'Content-Type': spec.contentType ?? 'application/json', 'Content-Length': payload.length }
                  : {}),
              },
            },
            (res) => {
              const chunks: Buffer[] = [];
              res.on('data', (c: Buffer) => chunks.push(c));
              res.on('error', reject);
              res.on('end', () =>
                resolve({
                  status: res.statusCode ?? 0,
                  body: Buffer.concat(chunks).toString('utf8'),
                  retryAfterSeconds: parseRetryAfter(res.headers['retry-after']),
                }),
              );
            },
          );
          req.on('error', reject);
          req.end(payload);
        },
      );
      if (res.status === 401) this.#connection = undefined; // refresh credentials next time
      this.#metrics.requests.labels(spec.verb, spec.resource, String(res.status)).inc();
      return res;
    } catch (err) {
      this.#metrics.requests.labels(spec.verb, spec.resource, '<error>').inc();
      throw timeout.aborted && !spec.signal?.aborted
        ? Object.assign(new Error(`${spec.verb} ${spec.resource}: client timeout after ${spec.timeoutMs ?? this.#requestTimeoutMs} ms`), {
            code: 'ETIMEDOUT',
          })
        : err;
    } finally {
      inFlight.dec();
      this.#metrics.duration.labels(spec.verb, spec.resource).observe((performance.now() - started) / 1000);
    }
  }

  /**
   * Streams a watch, calling `onEvent` for every event until the server ends
   * the stream (resolves) or it fails (rejects: an `ERROR` event becomes an
   * ApiError carrying the Status code, e.g. 410 Expired).
   */
  async watch<T extends KubeObject>(
    type: ResourceType,
    opts: WatchOptions,
    onEvent: (event: WatchEvent<T>) => void,
  ): Promise<void> {
    const waited = await this.#limiter.take();
    this.#metrics.rateLimiterWait.labels('watch').observe(waited / 1000);
    const conn = await this.#connect();
    const resource = resourceLabel(type);
    const url = buildUrl(conn.baseUrl, resourcePath(type, { namespace: opts.namespace }), {
      watch: 'true',
      resourceVersion: opts.resourceVersion,
      timeoutSeconds: opts.timeoutSeconds,
      allowWatchBookmarks: opts.allowWatchBookmarks ?? true,
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
    });
    const idleTimeoutMs = opts.idleTimeoutMs ?? (opts.timeoutSeconds + 60) * 1000;
    const started = performance.now();
    const inFlight = this.#metrics.inFlight.labels('watch');
    inFlight.inc();
    try {
      await new Promise<void>((resolve, reject) => {
        let settled = false;
        const finish = (err?: unknown): void => {
          if (settled) return;
          settled = true;
          clearTimeout(idle);
          opts.signal?.removeEventListener('abort', onAbort);
          if (err === undefined) resolve();
          else reject(err);
        };
        let idle: NodeJS.Timeout = setTimeout(() => {}, 0);
        const req = conn.transport.request(
          url,
          { method: 'GET', agent: conn.agent, headers: { ...conn.headers, Accept: 'application/json', 'User-Agent': this.#userAgent } },
          (res) => {
            const status = res.statusCode ?? 0;
            this.#metrics.requests.labels('watch', resource, String(status)).inc();
            this.#metrics.duration.labels('watch', resource).observe((performance.now() - started) / 1000);
            if (status !== 200) {
              const chunks: Buffer[] = [];
              res.on('data', (c: Buffer) => chunks.push(c));
              res.on('error', finish);
              res.on('end', () =>
                finish(
                  toApiError(
                    { verb: 'watch', resource },
                    status,
                    Buffer.concat(chunks).toString('utf8'),
                    parseRetryAfter(res.headers['retry-after']),
                  ),
                ),
              );
              return;
            }
            let buffered = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => {
              idle.refresh();
              buffered += chunk;
              let newline = buffered.indexOf('\n');
              while (newline >= 0) {
                const line = buffered.slice(0, newline);
                buffered = buffered.slice(newline + 1);
                newline = buffered.indexOf('\n');
                if (line.trim() === '') continue;
                let event: { type: string; object: unknown };
                try {
                  event = JSON.parse(line);
                } catch (err) {
                  req.destroy();
                  finish(new Error(`watch ${resource}: undecodable event: ${(err as Error).message}`));
                  return;
                }
                if (event.type === 'ERROR') {
                  const status = event.object as { code?: number; reason?: string; message?: string };
                  req.destroy();
                  finish(
                    new ApiError({
                      statusCode: status.code ?? 500,
                      reason: status.reason ?? '',
                      message: status.message ?? 'watch error',
                      verb: 'watch',
                      resource,
                      body: status,
                    }),
                  );
                  return;
                }
                try {
                  onEvent(event as WatchEvent<T>);
                } catch (err) {
                  req.destroy();
                  finish(err);
                  return;
                }
              }
            });
            res.on('error', finish);
            res.on('aborted', () => finish(Object.assign(new Error(`watch ${resource}: stream aborted`), { code: 'ECONNRESET' })));
            res.on('end', () => finish());
          },
        );
        idle = setTimeout(() => {
          req.destroy(Object.assign(new Error(`watch ${resource}: no data for ${idleTimeoutMs} ms`), { code: 'ETIMEDOUT' }));
        }, idleTimeoutMs);
        const onAbort = (): void => {
          req.destroy();
          finish();
        };
        opts.signal?.addEventListener('abort', onAbort, { once: true });
        if (opts.signal?.aborted) onAbort();
        req.on('error', (err) => {
          if (!settled) this.#metrics.requests.labels('watch', resource, '<error>').inc();
          finish(err);
        });
        req.end();
      });
    } finally {
      inFlight.dec();
    }
  }

  async #connect(): Promise<Connection> {
    const existing = this.#connection;
    if (existing) {
      const conn = await existing;
      if (conn.authExpiresAt > Date.now()) return conn;
      // Refresh only the credentials: exec plugins and projected
      // service-account tokens rotate; the TLS agent stays.
      const headers = await this.#authHeaders();
      conn.headers = headers;
      conn.authExpiresAt = Date.now() + AUTH_REFRESH_MS;
      return conn;
    }
    const pending = this.#openConnection();
    this.#connection = pending;
    pending.catch(() => {
      if (this.#connection === pending) this.#connection = undefined;
    });
    return pending;
  }

  async #authHeaders(): Promise<Record<string, string>> {
    const opts: https.RequestOptions & { headers: Record<string, string> } = { headers: {} };
    await this.#kc.applyToHTTPSOptions(opts);
    const headers: Record<string, string> = { ...opts.headers };
    if (typeof opts.auth === 'string') headers.Authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    return headers;
  }

  async #openConnection(): Promise<Connection> {
    const cluster = this.#kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const opts: https.RequestOptions & { headers: Record<string, string> } = { headers: {} };
    await this.#kc.applyToHTTPSOptions(opts);
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
    const headers: Record<string, string> = { ...opts.headers };
    if (typeof opts.auth === 'string') headers.Authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    return {
      baseUrl,
      transport: isHttps ? https : http,
      agent: isHttps ? new https.Agent(agentOptions) : new http.Agent({ keepAlive: true, maxSockets: 256 }),
      headers,
      authExpiresAt: Date.now() + AUTH_REFRESH_MS,
    };
  }
}

function buildUrl(base: URL, path: string, query: RequestSpec['query']): URL {
  const url = new URL(base.pathname.replace(/\/$/, '') + path, base);
  if (query) {
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') url.searchParams.set(k, String(v));
  }
  return url;
}

function parseRetryAfter(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined) return undefined;
  const seconds = Number.parseInt(value, 10);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
}

function toApiError(
  spec: { verb: string; resource: string },
  status: number,
  body: string,
  retryAfterSeconds: number | undefined,
): ApiError {
  let parsed: { reason?: string; message?: string; code?: number } | undefined;
  try {
    parsed = body ? JSON.parse(body) : undefined;
  } catch {
    parsed = undefined;
  }
  return new ApiError({
    statusCode: status,
    reason: parsed?.reason ?? '',
    message: parsed?.message ?? (body.slice(0, 500) || `HTTP ${status}`),
    verb: spec.verb,
    resource: spec.resource,
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
    body: parsed ?? body,
  });
}
