import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { MainThreadMetrics } from '../../../src/observability/main-thread-metrics.ts';
import { waitFor } from '../../../src/util/wait.ts';

async function value(registry: Registry, name: string, suffix = ''): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  return metric?.values.find((v) => (v as { metricName?: string }).metricName === `${name}${suffix}` || suffix === '')?.value ?? Number.NaN;
}

test('main-thread CPU only grows, and the event-loop delay histogram fills while sampling', async () => {
  const registry = new Registry();
  const metrics = new MainThreadMetrics(registry, { intervalMs: 2 }).start();
  try {
    const first = await value(registry, 'flotilla_main_thread_cpu_seconds_total');
    let spin = 0;
    for (let i = 0; i < 2e6; i++) spin += i % 7;
    assert.ok(spin > 0);
    const second = await value(registry, 'flotilla_main_thread_cpu_seconds_total');
    assert.ok(first > 0 && second >= first, `${first} then ${second}`);
    await waitFor(async () => (await value(registry, 'flotilla_event_loop_delay_seconds', '_count')) >= 3, { timeoutMs: 5000, description: 'three delay samples' });
  } finally {
    metrics.stop();
  }
  // A second runtime on the same registry shares the series instead of failing to register.
  new MainThreadMetrics(registry).stop();
});
