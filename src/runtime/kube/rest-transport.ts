import { setTimeout as sleep } from 'node:timers/promises';
import { requestSignal } from './request-signal.ts';
import type { Logger } from '../../observability/logger.ts';
import type { RequestSpec } from './api-types.ts';
import { RequestMetrics, type ClientMetrics } from './client-metrics.ts';
import { buildUrl, type ApiConnection, type Connection } from './connection.ts';
import type { RequestFlowControl } from './flow-control.ts';
import { parseRetryAfter, toApiError } from './responses.ts';
import type { TokenBucket } from './token-bucket.ts';

export interface RestTransportOptions {
  connection: ApiConnection;
  limiter: TokenBucket;
  metrics: ClientMetrics;
  logger: Logger;
  requestTimeoutMs: number;
  userAgent: string;
  /** client-go retries a request answered 429 + Retry-After up to 10 times. */
  maxThrottleRetries: number;
  /** Told every answer; may hold attempts back (adaptive concurrency). */
  flowControl?: RequestFlowControl | undefined;
}

interface BufferedResponse {
  status: number;
  body: string;
  retryAfterSeconds: number | undefined;
}

/**
 * Sends requests to the API server: every one rate limited, counted
 * (client-metrics.ts), bounded by a client-side timeout, and retried when the
 * server asks to be asked again later, exactly as client-go does.
 */
export class RestTransport {
  readonly connection: ApiConnection;
  readonly metrics: RequestMetrics;
  readonly #limiter: TokenBucket;
  readonly #log: Logger;
  readonly #requestTimeoutMs: number;
  readonly #userAgent: string;
  readonly #maxThrottleRetries: number;
  readonly #flow: RequestFlowControl | undefined;

  constructor(opts: RestTransportOptions) {
    this.connection = opts.connection;
    this.metrics = new RequestMetrics(opts.metrics, opts.connection.server);
    this.#limiter = opts.limiter;
    this.#log = opts.logger;
    this.#requestTimeoutMs = opts.requestTimeoutMs;
    this.#userAgent = opts.userAgent;
    this.#maxThrottleRetries = opts.maxThrottleRetries;
    this.#flow = opts.flowControl;
  }

  /** Waits for the client-side rate limiter, then hands out the connection to send on. */
  async admit(method: string): Promise<Connection> {
    const waited = await this.#limiter.take();
    this.metrics.rateLimited(method, waited / 1000);
    return this.connection.get();
  }

  /** Headers of every request: credentials, JSON, and who is asking. */
  headers(conn: Connection): Record<string, string> {
    return { ...conn.headers, Accept: 'application/json', 'User-Agent': this.#userAgent };
  }

  /** The decoded 2xx body (undefined when empty); any other answer throws an ApiError. */
  async request<T>(spec: RequestSpec): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const response = await this.#attempt(spec);
      if (response.status >= 200 && response.status < 300) {
        return (response.body.length === 0 ? undefined : JSON.parse(response.body)) as T;
      }
      const error = toApiError(spec, response.status, response.body, response.retryAfterSeconds);
      // client-go retries any request the server explicitly asked to retry
      // later (429, or 5xx with Retry-After): the server did not process it.
      const retryable =
        response.retryAfterSeconds !== undefined && (response.status === 429 || response.status >= 500);
      if (!retryable || attempt >= this.#maxThrottleRetries || spec.signal?.aborted) throw error;
      this.metrics.retried(spec.method, response.status);
      const waitMs = Math.min(response.retryAfterSeconds! * 1000, 60_000);
      this.#log.debug({ verb: spec.verb, resource: spec.resource, status: response.status, waitMs }, 'server asked to retry later');
      await sleep(waitMs, undefined, spec.signal ? { signal: spec.signal } : undefined).catch(() => undefined);
    }
  }

  /**
   * One attempt, admitted by the flow control. The admission is returned
   * before a retry's wait, so a request sleeping out a Retry-After holds no
   * place that another could use.
   */
  async #attempt(spec: RequestSpec): Promise<BufferedResponse> {
    const admission = this.#flow?.admit(spec);
    const release = admission === undefined ? undefined : await admission;
    try {
      return await this.#send(spec);
    } finally {
      release?.();
    }
  }

  async #send(spec: RequestSpec): Promise<BufferedResponse> {
    const conn = await this.admit(spec.method);
    const url = buildUrl(conn.baseUrl, spec.path, spec.query);
    const payload =
      spec.body === undefined ? undefined : Buffer.from(typeof spec.body === 'string' ? spec.body : JSON.stringify(spec.body));
    const timeoutMs = spec.timeoutMs ?? this.#requestTimeoutMs;
    const request = requestSignal(timeoutMs, spec.signal);
    const { signal } = request;
    const started = performance.now();
    const ended = this.metrics.started(spec.verb, spec.resource);
    try {
      const answer = await conn.sender.send({
        method: spec.method,
        url,
        signal,
        headers: payload ? { ...this.headers(conn), 'Content-Type': spec.contentType ?? 'application/json' } : this.headers(conn),
        body: payload,
      });
      const chunks: Buffer[] = [];
      await answer.read((c) => chunks.push(c));
      const res: BufferedResponse = {
        status: answer.status,
        body: Buffer.concat(chunks).toString('utf8'),
        retryAfterSeconds: parseRetryAfter(answer.headers['retry-after']),
      };
      if (res.status === 401) this.connection.invalidate();
      this.metrics.completed(spec.verb, spec.method, spec.resource, res.status);
      this.#flow?.observe({ verb: spec.verb, resource: spec.resource, status: res.status, startedAt: started, latencyMs: performance.now() - started });
      return res;
    } catch (err) {
      this.metrics.completed(spec.verb, spec.method, spec.resource, '<error>');
      throw request.timedOut() && !spec.signal?.aborted
        ? Object.assign(new Error(`${spec.verb} ${spec.resource}: client timeout after ${timeoutMs} ms`), { code: 'ETIMEDOUT' })
        : err;
    } finally {
      request.dispose();
      ended();
      this.metrics.latency(spec.method, (performance.now() - started) / 1000);
    }
  }
}
