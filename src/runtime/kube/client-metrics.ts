import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** client-go's rest_client_* metrics, so dashboards built for Go controllers read ours too. */
export interface ClientMetrics {
  requests: Counter<'verb' | 'resource' | 'code'>;
  duration: Histogram<'verb' | 'resource'>;
  rateLimiterWait: Histogram<'verb'>;
  inFlight: Gauge<'verb'>;
  retries: Counter<'verb' | 'resource' | 'code'>;
}

// One set per registry: several clients (tests, the quick start) may share a registry.
const metricsByRegistry = new WeakMap<Registry, ClientMetrics>();

export function clientMetrics(registry: Registry): ClientMetrics {
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
