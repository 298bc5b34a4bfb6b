/**
 * Flotilla's memory, read so that it means something: after a burst the
 * heap holds garbage not yet collected and the recent-writes overlay holds
 * objects the informer has not delivered yet, so a reading then is an upper
 * bound, not the cost of the cache. A *settled* reading waits until the
 * overlay has drained (`flotilla_recent_writes` 0), then asks the controller
 * for full garbage collections (the benchmark starts it with `--expose-gc`;
 * SIGUSR2, see src/observability/forced-gc.ts) and reads the heaps and RSS
 * after them.
 *
 * The marginal cost per cached object is that heap minus the heap of a fresh
 * controller over an empty world (the baseline: V8, libraries, metrics,
 * informers with nothing in them), divided by the objects cached, next to
 * their JSON size.
 */
import { readFileSync } from 'node:fs';
import { FORCED_GC_DONE_MESSAGE, FORCED_GC_ENABLED_MESSAGE, FORCED_GC_SIGNAL } from '../../src/observability/forced-gc.ts';
import { waitFor } from '../../src/util/wait.ts';
import type { SystemProcess } from './launch.ts';
import type { Observer } from './observer.ts';

export interface SettledMemory {
  /** Whether the reading follows forced full GCs (false: the process did not enable them, e.g. under a profiler). */
  forcedGc: boolean;
  /** Overlay entries when read (0 once drained; the wait gives up after `drainTimeoutMs`). */
  recentWrites: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  /** All worker isolates together, and how many there were. */
  workerHeapUsedBytes: number;
  workerThreads: number;
  rssBytes: number | null;
  externalBytes: number;
  arrayBuffersBytes: number;
}

export interface MemoryBaseline {
  /** Settled reading of a fresh controller over an empty world. */
  reading: SettledMemory;
  note: string;
}

const readLog = (system: SystemProcess): string => {
  try {
    return readFileSync(system.logFile, 'utf8');
  } catch {
    return '';
  }
};

export function forcedGcEnabled(system: SystemProcess): boolean {
  return readLog(system).includes(FORCED_GC_ENABLED_MESSAGE);
}

function forcedGcsLogged(system: SystemProcess): number {
  return readLog(system).split(FORCED_GC_DONE_MESSAGE).length - 1;
}

/** Waits for the overlay to drain, forces full GCs if the process allows, and reads its memory. */
export async function settledMemory(system: SystemProcess, { drainTimeoutMs = 30_000 } = {}): Promise<SettledMemory> {
  let m = await system.metrics();
  try {
    await waitFor(
      async () => {
        m = await system.metrics();
        return m.sum('flotilla_recent_writes') === 0;
      },
      { timeoutMs: drainTimeoutMs, intervalMs: 200, description: 'the recent-writes overlay to drain' },
    );
  } catch {
    // Reported as recentWrites > 0: entries of no-op writes settle only when read or after 120 s.
  }
  const forcedGc = forcedGcEnabled(system);
  if (forcedGc) {
    // The controller logs each forced collection once it is done (the gc metric counts forced collections unreliably).
    const before = forcedGcsLogged(system);
    process.kill(system.measuredPid(), FORCED_GC_SIGNAL);
    await waitFor(() => forcedGcsLogged(system) > before, { timeoutMs: 15_000, intervalMs: 100, description: 'the forced garbage collection' });
  }
  m = await system.metrics();
  const heap = (thread: string | RegExp, type: string) => m.sum('flotilla_heap_bytes', { thread, type });
  return {
    forcedGc,
    recentWrites: m.sum('flotilla_recent_writes'),
    heapUsedBytes: heap('main', 'used'),
    heapTotalBytes: heap('main', 'total'),
    workerHeapUsedBytes: heap(/^worker-/, 'used'),
    workerThreads: m.sum('flotilla_pool_threads'),
    rssBytes: system.sample()?.rssBytes ?? null,
    externalBytes: m.sum('flotilla_process_memory_bytes', { type: 'external' }),
    arrayBuffersBytes: m.sum('flotilla_process_memory_bytes', { type: 'array_buffers' }),
  };
}

/** Pure: the figures of one settled reading against what is cached and the baseline. */
export function memoryReport(reading: SettledMemory, cache: { objects: number; bytes: number }, baseline: SettledMemory | undefined): Record<string, number | boolean | string | null> {
  const perObject = (bytes: number) => (cache.objects > 0 ? Math.round(bytes / cache.objects) : null);
  const jsonPerObject = perObject(cache.bytes);
  const marginal = baseline ? perObject(reading.heapUsedBytes - baseline.heapUsedBytes) : null;
  return {
    cachedObjects: cache.objects,
    cachedJsonBytes: cache.bytes,
    jsonBytesPerObject: jsonPerObject,
    forcedGc: reading.forcedGc,
    recentWrites: reading.recentWrites,
    heapUsedBytes: reading.heapUsedBytes,
    heapTotalBytes: reading.heapTotalBytes,
    workerHeapUsedBytes: reading.workerHeapUsedBytes,
    workerThreads: reading.workerThreads,
    rssBytes: reading.rssBytes,
    externalBytes: reading.externalBytes,
    arrayBuffersBytes: reading.arrayBuffersBytes,
    baselineHeapUsedBytes: baseline?.heapUsedBytes ?? null,
    baselineRssBytes: baseline?.rssBytes ?? null,
    heapBytesPerObject: marginal,
    heapPerJson: marginal !== null && jsonPerObject ? Math.round((marginal / jsonPerObject) * 100) / 100 : null,
    heapBytesPerObjectWithBaseline: perObject(reading.heapUsedBytes),
  };
}

/** Settled reading of Flotilla now, against what the benchmark's observer caches (the same objects). */
export async function memoryFigures(system: SystemProcess, observer: Observer, baseline: MemoryBaseline | undefined): Promise<Record<string, number | boolean | string | null>> {
  const reading = await settledMemory(system);
  return {
    ...memoryReport(reading, observer.cachedJson(), baseline?.reading),
    note: `main-thread heap after ${reading.forcedGc ? 'forced full GCs' : 'no forced GC (upper bound)'}, recent-writes overlay drained${reading.recentWrites > 0 ? ` except ${reading.recentWrites}` : ''}; heapBytesPerObject = (heap − the empty-world baseline's) / cached objects${baseline ? '' : ' (no baseline measured)'}`,
  };
}

/** One line for the report: the cache's marginal cost against its JSON. */
export function memoryNote(m: Record<string, unknown>): string {
  const mib = (v: unknown) => (typeof v === 'number' ? `${(v / 2 ** 20).toFixed(1)} MiB` : '–');
  const perObject = typeof m.heapBytesPerObject === 'number' ? `${m.heapBytesPerObject} B per object over the empty-world baseline (${String(m.heapPerJson)}× its JSON)` : 'no baseline';
  return `Flotilla memory, settled (overlay drained${m.forcedGc ? ', forced GC' : ', NO forced GC'}): ${String(m.cachedObjects)} cached objects of ${String(m.jsonBytesPerObject)} B JSON; main heap ${mib(m.heapUsedBytes)} (baseline ${mib(m.baselineHeapUsedBytes)}) = ${perObject}; RSS ${mib(m.rssBytes)} (baseline ${mib(m.baselineRssBytes)}), ${String(m.workerThreads)} worker thread(s) holding ${mib(m.workerHeapUsedBytes)} of heap.`;
}
