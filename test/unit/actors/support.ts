import { createRegistry } from '../../../src/observability/metrics.ts';
import { ActorSystem, ManualClock, type ActorSystemOptions } from '../../../src/runtime/actors/index.ts';
import type { Registry } from 'prom-client';

/** Polls `condition` once per event-loop turn until it holds or the deadline passes. */
export async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await turn();
  }
}

/** One event-loop turn (the scheduler dispatches from `setImmediate`). */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Lets the scheduler reach quiescence before asserting that something did
 * *not* happen. With a ManualClock no timer can fire, dispatch happens in the
 * next `setImmediate` and completions in microtasks, so a handful of turns is
 * a deterministic bound — it counts turns, not time.
 */
export async function quiesce(turns = 10): Promise<void> {
  for (let i = 0; i < turns; i++) await turn();
}

export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export interface Harness {
  system: ActorSystem;
  registry: Registry;
  clock: ManualClock;
}

/** An ActorSystem on a manual clock and its own registry; jitter off unless `random` is given. */
export function harness(options: Partial<ActorSystemOptions> = {}): Harness {
  const registry = createRegistry({ defaultMetrics: false });
  const clock = new ManualClock(1_000);
  const system = new ActorSystem({ maxInFlight: 4, registry, clock, random: () => 0.5, ...options });
  return { system, registry, clock };
}

/** Value of one sample of a metric, by labels. */
export async function metricValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return undefined;
  const data = await metric.get();
  const sample = data.values.find((v) => Object.entries(labels).every(([k, val]) => (v.labels as Record<string, unknown>)[k] === val));
  return sample?.value;
}
