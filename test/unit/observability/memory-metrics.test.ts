import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getHeapStatistics } from 'node:v8';
import { Registry } from 'prom-client';
import { heapFigures, registerMemoryMetrics } from '../../../src/observability/memory-metrics.ts';
import { parseMetrics } from '../../support/metrics.ts';

test('flotilla_heap_bytes has the main thread and each live worker; flotilla_process_memory_bytes has RSS and what lies outside the heaps', async () => {
  const registry = new Registry();
  let workers = [{ threadId: 3, heap: { ...getHeapStatistics(), used_heap_size: 1234, total_heap_size: 5678, external_memory: 9 } }];
  registerMemoryMetrics(registry, { workerHeaps: () => Promise.resolve(workers) });
  const m = parseMetrics(await registry.metrics());
  assert.ok(m.sum('flotilla_heap_bytes', { thread: 'main', type: 'used' }) > 1_000_000);
  assert.equal(m.sum('flotilla_heap_bytes', { thread: 'worker-3', type: 'used' }), 1234);
  assert.equal(m.sum('flotilla_heap_bytes', { thread: 'worker-3', type: 'total' }), 5678);
  assert.equal(m.sum('flotilla_heap_bytes', { thread: 'worker-3', type: 'external' }), 9);
  assert.ok(m.sum('flotilla_process_memory_bytes', { type: 'rss' }) > m.sum('flotilla_process_memory_bytes', { type: 'heap_used' }));
  assert.ok(m.sum('flotilla_process_memory_bytes', { type: 'array_buffers' }) >= 0);
  workers = [];
  const after = parseMetrics(await registry.metrics());
  assert.equal(after.sum('flotilla_heap_bytes', { thread: 'worker-3' }), 0, 'a worker that is gone leaves no series');
});

test('heapFigures picks used, total and external from V8 heap statistics', () => {
  const h = getHeapStatistics();
  assert.deepEqual(heapFigures(h), { used: h.used_heap_size, total: h.total_heap_size, external: h.external_memory });
});
