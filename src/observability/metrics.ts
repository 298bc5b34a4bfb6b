import {
  Counter,
  Gauge,
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

/**
 * The counter registered under `config.name` in `registry`, created on first
 * use. Components that may be constructed more than once per registry (a
 * watcher recreated in a test, two servers) share one series instead of
 * failing with "metric has already been registered".
 */
export function registeredCounter<T extends string>(
  registry: Registry,
  config: Omit<CounterConfiguration<T>, 'registers'>,
): Counter<T> {
  const existing = registry.getSingleMetric(config.name);
  if (existing instanceof Counter) return existing as Counter<T>;
  if (existing !== undefined) throw new TypeError(`metric ${config.name} is already registered with another type`);
  return new Counter<T>({ ...config, registers: [registry] });
}

/** Like `registeredCounter`, for gauges. */
export function registeredGauge<T extends string>(
  registry: Registry,
  config: Omit<GaugeConfiguration<T>, 'registers'>,
): Gauge<T> {
  const existing = registry.getSingleMetric(config.name);
  if (existing instanceof Gauge) return existing as Gauge<T>;
  if (existing !== undefined) throw new TypeError(`metric ${config.name} is already registered with another type`);
  return new Gauge<T>({ ...config, registers: [registry] });
}
