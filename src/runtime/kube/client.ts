import type { KubeConfig } from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import { silentLogger, type Logger } from '../../observability/logger.ts';
import {
  PatchType,
  type DeleteOptions,
  type ListOptions,
  type PatchContentType,
  type RequestSpec,
  type WatchEvent,
  type WatchOptions,
  type WriteOptions,
} from './api-types.ts';
import { clientMetrics } from './client-metrics.ts';
import { ApiConnection } from './connection.ts';
import type { ApiTransport } from './http-sender.ts';
import type { Http2Health } from './http2-session.ts';
import type { RequestFlowControl } from './flow-control.ts';
import type { ListerWatcher, ObjectReader, ObjectWriter } from './interfaces.ts';
import { RestTransport } from './rest-transport.ts';
import { TokenBucket } from './token-bucket.ts';
import { streamWatch } from './watch-stream.ts';
import {
  apiVersionOf,
  resourceLabel,
  resourcePath,
  type KubeObject,
  type ObjectList,
  type ResourceType,
} from './resource.ts';

export {
  PatchType,
  type DeleteOptions,
  type ListOptions,
  type PatchContentType,
  type RequestSpec,
  type Verb,
  type WatchEvent,
  type WatchOptions,
  type WriteOptions,
} from './api-types.ts';

/**
 * The one door to the API server: typed verbs over a transport that rate
 * limits, counts and retries every request (rest-transport.ts) and streams
 * watches (watch-stream.ts). Responses stay plain JSON: no Date objects in
 * the cache. Consumers that need only part of it depend on the narrow views
 * in interfaces.ts.
 */

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
  /** Told every answer, may hold attempts back (see flow-control.ts). */
  flowControl?: RequestFlowControl;
  /** HTTP version to speak (`api.transport`); DEFAULT_API_TRANSPORT when absent. */
  transport?: ApiTransport | undefined;
  /** HTTP/2 PING interval and timeout (client-go's 30 s and 15 s when absent). */
  http2Health?: Http2Health | undefined;
}

export class KubeClient implements ListerWatcher, ObjectReader, ObjectWriter {
  /** The connection to the API server (protocol in use; reset() for fault-injection tests). */
  readonly connection: ApiConnection;
  readonly #limiter: TokenBucket;
  readonly #transport: RestTransport;
  readonly fieldManager: string;

  constructor(opts: KubeClientOptions) {
    const metrics = clientMetrics(opts.registry);
    const logger = opts.logger ?? silentLogger;
    this.connection = new ApiConnection(opts.kubeConfig, { transport: opts.transport, logger, metrics, http2Health: opts.http2Health });
    this.#limiter = new TokenBucket({ qps: opts.qps ?? 0, burst: opts.burst ?? 1 });
    this.#transport = new RestTransport({
      connection: this.connection,
      limiter: this.#limiter,
      metrics,
      logger,
      requestTimeoutMs: opts.requestTimeoutMs ?? 60_000,
      userAgent: opts.userAgent ?? 'flotilla',
      maxThrottleRetries: opts.maxThrottleRetries ?? 10,
      flowControl: opts.flowControl,
    });
    this.fieldManager = opts.fieldManager ?? 'flotilla';
  }

  get server(): string {
    return this.connection.server;
  }

  /** Whether the client-side rate limit is holding requests back now (never when `qps` is 0). */
  get rateLimited(): boolean {
    return this.#limiter.exhausted;
  }

  setRateLimits(qps: number, burst: number): void {
    this.#limiter.setLimits(qps, burst);
  }

  /** Lets the connections go: idle keep-alive sockets close, HTTP/2 sessions take no new streams. */
  async close(): Promise<void> {
    await this.connection.close();
  }

  async request<T>(spec: RequestSpec): Promise<T> {
    return this.#transport.request<T>(spec);
  }

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

  async watch<T extends KubeObject>(type: ResourceType, opts: WatchOptions, onEvent: (event: WatchEvent<T>) => void): Promise<void> {
    return streamWatch<T>(
      this.#transport,
      {
        path: resourcePath(type, { namespace: opts.namespace }),
        query: {
          watch: 'true',
          resourceVersion: opts.resourceVersion,
          timeoutSeconds: opts.timeoutSeconds,
          allowWatchBookmarks: opts.allowWatchBookmarks ?? true,
          labelSelector: opts.labelSelector,
          fieldSelector: opts.fieldSelector,
        },
        resource: resourceLabel(type),
        idleTimeoutMs: opts.idleTimeoutMs ?? (opts.timeoutSeconds + 60) * 1000,
        signal: opts.signal,
      },
      onEvent,
    );
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
   * `force` takes ownership of conflicting fields: the controller is the
   * source of truth for the objects it generates.
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

  async delete(type: ResourceType, name: string, namespace?: string, opts: DeleteOptions = {}): Promise<unknown> {
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
}
