/**
 * What the process's memory consists of, for operators and the benchmarks:
 * the V8 heap of the main thread and of each worker thread (each isolate has
 * its own heap, invisible in `nodejs_heap_*`, which is the main thread's),
 * and `process.memoryUsage()` (RSS, and what lives outside the V8 heaps:
 * external memory and ArrayBuffers). RSS minus the heaps is code, stacks,
 * the allocator's own and what libraries hold natively.
 */
import { getHeapStatistics, type HeapInfo } from 'node:v8';
import type { Registry } from 'prom-client';
import { registeredGauge } from './metrics.ts';

export interface MemorySources {
  /** Heap statistics of each live worker thread (the selector pool's); none when there are none. */
  workerHeaps?: () => Promise<ReadonlyArray<{ threadId: number; heap: HeapInfo }>>;
}

/** The `type` values of one isolate's heap, from its HeapInfo. */
export function heapFigures(heap: HeapInfo): Record<'used' | 'total' | 'external', number> {
  return { used: heap.used_heap_size, total: heap.total_heap_size, external: heap.external_memory };
}

export function registerMemoryMetrics(registry: Registry, sources: MemorySources = {}): void {
  registeredGauge(registry, {
    name: 'flotilla_heap_bytes',
    help: 'V8 heap of each thread (each isolate has its own): thread main or worker-<threadId>; type used (live objects and garbage not yet collected), total (committed to the heap), external (memory outside the heap that its objects hold).',
    labelNames: ['thread', 'type'],
    async collect() {
      const heaps: Array<[string, HeapInfo]> = [['main', getHeapStatistics()]];
      for (const w of (await sources.workerHeaps?.()) ?? []) heaps.push([`worker-${w.threadId}`, w.heap]);
      this.reset(); // a worker that is gone leaves no series behind
      for (const [thread, heap] of heaps) for (const [type, bytes] of Object.entries(heapFigures(heap))) this.labels(thread, type).set(bytes);
    },
  });
  registeredGauge(registry, {
    name: 'flotilla_process_memory_bytes',
    help: 'process.memoryUsage(): type rss (resident set, all threads), heap_total and heap_used (main thread), external (C++ objects bound to JavaScript ones, all threads), array_buffers (ArrayBuffers and Buffers, part of external).',
    labelNames: ['type'],
    collect() {
      const m = process.memoryUsage();
      this.labels('rss').set(m.rss);
      this.labels('heap_total').set(m.heapTotal);
      this.labels('heap_used').set(m.heapUsed);
      this.labels('external').set(m.external);
      this.labels('array_buffers').set(m.arrayBuffers);
    },
  });
}
