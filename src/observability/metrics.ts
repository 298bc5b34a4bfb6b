import {
  Counter,
  Gauge,
  Histogram,
  type HistogramConfiguration,
  Registry,
  collectDefaultMetrics,
  type CounterConfiguration,
  type GaugeConfiguration,
} from 'prom-client';

/**
 * A registry for one runtime's metrics. A dedicated registry per runtime
 * (rather than prom-client's global one) keeps tests and benchmarks that run
 * several runtimes in one process from colliding on metric names.
 */
export function createRegistry(options: { defaultMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}

/** The metric registered under `name` in `registry`, created by `create` on first use. */
function registered<M>(registry: Registry, name: string, type: abstract new (...args: never[]) => M, create: () => M): M {
  const existing = registry.getSingleMetric(name);
  if (existing instanceof type) return existing;
  if (existing !== undefined) throw new TypeError(`metric ${name} is already registered with another type`);
  return create();
}

/**
 * The counter registered under `config.name` in `registry`, created on first
 * use. Components that may be constructed more than once per registry (a
 * watcher recreated in a test, two servers) share one series instead of
 * failing with "metric has already been registered".
 */
export function registeredCounter<T extends string>(registry: Registry, config: Omit<CounterConfiguration<T>, 'registers'>): Counter<T> {
  return registered(registry, config.name, Counter<T>, () => new Counter<T>({ ...config, registers: [registry] }));
}

/** Like `registeredCounter`, for gauges. */
export function registeredGauge<T extends string>(registry: Registry, config: Omit<GaugeConfiguration<T>, 'registers'>): Gauge<T> {
  return registered(registry, config.name, Gauge<T>, () => new Gauge<T>({ ...config, registers: [registry] }));
}

/** Like `registeredCounter`, for histograms. */
export function registeredHistogram<T extends string>(registry: Registry, config: Omit<HistogramConfiguration<T>, 'registers'>): Histogram<T> {
  return registered(registry, config.name, Histogram<T>, () => new Histogram<T>({ ...config, registers: [registry] }));
}
