import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The one registry every Flotilla metric registers in. A dedicated registry
 * (rather than prom-client's global one) keeps tests and benchmarks that run
 * several runtimes in one process from colliding on metric names: each
 * runtime can be handed its own via `createRegistry()`.
 */
export function createRegistry(options: { defaultMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}

/** Process-wide registry used by `flotilla run`. */
export const defaultRegistry: Registry = createRegistry();
