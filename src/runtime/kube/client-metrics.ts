import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Verb } from './api-types.ts';

/**
 * The API client's metrics.
 *
 * `rest_client_*` are client-go's (k8s.io/component-base/metrics/prometheus/
 * restclient), with its names, labels, help and buckets, so dashboards and
 * alerts built for Go controllers read ours unchanged: `method`/`verb` is
 * the HTTP method (`GET`, `POST`, …), `host` the API server's host:port as
 * the kubeconfig writes it, `code` the status code or `<error>` when no
 * answer came.
 *
 * An HTTP method cannot tell a LIST from a WATCH or an apply from a patch,
 * so `flotilla_api_requests_*` count the same requests by Kubernetes verb
 * (`list`, `watch`, `apply`, …) and resource (`bundles.flotilla.dev`), as
 * kube-apiserver's `apiserver_request_total` does on the server side.
 */
export interface ClientMetrics {
  requests: Counter<'code' | 'method' | 'host'>;
  duration: Histogram<'verb' | 'host'>;
  rateLimiterWait: Histogram<'verb' | 'host'>;
  retries: Counter<'code' | 'verb' | 'host'>;
  apiRequests: Counter<'verb' | 'resource' | 'code'>;
  apiInFlight: Gauge<'verb' | 'resource'>;
  connectionInfo: Gauge<'host' | 'protocol'>;
  http2Sessions: Counter<'host'>;
}

/** client-go's request and rate-limiter latency buckets. */
const LATENCY_BUCKETS = [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60];

// One set per registry: several clients (tests, the quick start) may share a registry.
const metricsByRegistry = new WeakMap<Registry, ClientMetrics>();

export function clientMetrics(registry: Registry): ClientMetrics {
  let m = metricsByRegistry.get(registry);
  if (m) return m;
  m = {
    requests: new Counter({
      name: 'rest_client_requests_total',
      help: 'Number of HTTP requests, partitioned by status code, method, and host.',
      labelNames: ['code', 'method', 'host'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'rest_client_request_duration_seconds',
      help: 'Request latency in seconds. Broken down by verb, and host.',
      labelNames: ['verb', 'host'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    rateLimiterWait: new Histogram({
      name: 'rest_client_rate_limiter_duration_seconds',
      help: 'Client side rate limiter latency in seconds. Broken down by verb, and host.',
      labelNames: ['verb', 'host'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    retries: new Counter({
      name: 'rest_client_request_retries_total',
      help: 'Number of request retries, partitioned by status code, verb, and host.',
      labelNames: ['code', 'verb', 'host'],
      registers: [registry],
    }),
    apiRequests: new Counter({
      name: 'flotilla_api_requests_total',
      help: 'API requests by Kubernetes verb (get, list, watch, create, update, patch, apply, delete), resource and status code (<error> when no answer came).',
      labelNames: ['verb', 'resource', 'code'],
      registers: [registry],
    }),
    apiInFlight: new Gauge({
      name: 'flotilla_api_requests_in_flight',
      help: 'API requests in flight by Kubernetes verb and resource; verb="watch" counts the open WATCH streams.',
      labelNames: ['verb', 'resource'],
      registers: [registry],
    }),
    connectionInfo: new Gauge({
      name: 'flotilla_api_connection_info',
      help: 'The protocol the API client speaks to each API server (api.transport): 1 per host and protocol in use, h2 or http/1.1.',
      labelNames: ['host', 'protocol'],
      registers: [registry],
    }),
    http2Sessions: new Counter({
      name: 'flotilla_api_http2_sessions_opened_total',
      help: 'HTTP/2 connections (sessions) opened to each API server. Requests and watches share one; a rise means sessions were lost (GOAWAY, resets, unanswered PINGs) and reopened.',
      labelNames: ['host'],
      registers: [registry],
    }),
  };
  metricsByRegistry.set(registry, m);
  return m;
}

/**
 * The `host` label: the server URL's host and port as written (client-go
 * uses url.Host, so `https://10.96.0.1:443` keeps its `:443`, which WHATWG
 * URL parsing would drop).
 */
export function hostLabel(server: string): string {
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(server)?.[1] ?? '';
  return authority.slice(authority.lastIndexOf('@') + 1);
}

/** The counters and gauges of one client: client-go's labels plus Flotilla's verb and resource. */
export class RequestMetrics {
  readonly #m: ClientMetrics;
  readonly #host: string;

  constructor(metrics: ClientMetrics, server: string) {
    this.#m = metrics;
    this.#host = hostLabel(server);
  }

  rateLimited(method: string, seconds: number): void {
    this.#m.rateLimiterWait.labels(method, this.#host).observe(seconds);
  }

  /** Marks a request in flight; call the returned function when it ends. */
  started(verb: Verb, resource: string): () => void {
    const gauge = this.#m.apiInFlight.labels(verb, resource);
    gauge.inc();
    return () => gauge.dec();
  }

  /** One answered (`code`) or failed (`<error>`) request. */
  completed(verb: Verb, method: string, resource: string, code: number | '<error>'): void {
    const text = String(code);
    this.#m.requests.labels(text, method, this.#host).inc();
    this.#m.apiRequests.labels(verb, resource, text).inc();
  }

  latency(method: string, seconds: number): void {
    this.#m.duration.labels(method, this.#host).observe(seconds);
  }

  retried(method: string, code: number): void {
    this.#m.retries.labels(String(code), method, this.#host).inc();
  }
}
