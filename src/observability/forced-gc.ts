/**
 * A settled heap reading on request, for benchmarks and memory debugging
 * only: when the process was started with `--expose-gc` (never in the
 * shipped image or manifests), SIGUSR2 runs full garbage collections, so
 * that the heap figures read next (`flotilla_heap_bytes`,
 * `nodejs_heap_size_used_bytes`) hold live objects only, not garbage a busy
 * process has not collected yet. Without the flag nothing is installed and
 * SIGUSR2 keeps Node's default (terminate), as for any process.
 */
import type { Logger } from './logger.ts';

export const FORCED_GC_SIGNAL = 'SIGUSR2';
/** Logged after each forced collection, with the heap after it. */
export const FORCED_GC_DONE_MESSAGE = 'forced garbage collection (--expose-gc, SIGUSR2)';
/** Logged once installed: a benchmark signals only a process that said this (to any other, SIGUSR2 is fatal). */
export const FORCED_GC_ENABLED_MESSAGE = 'forced garbage collection on SIGUSR2 enabled (--expose-gc)';

/** Installs the handler when `gc` is exposed; returns whether it did, and a function removing it. */
export function installForcedGc(log: Logger, gc: (() => void) | undefined = (globalThis as { gc?: () => void }).gc): { installed: boolean; uninstall: () => void } {
  if (typeof gc !== 'function') return { installed: false, uninstall: () => undefined };
  const handler = (): void => {
    const before = process.memoryUsage();
    // Twice: objects with finalizers and weak references need a second pass.
    gc();
    gc();
    const after = process.memoryUsage();
    log.info({ heapUsedBefore: before.heapUsed, heapUsed: after.heapUsed, heapTotal: after.heapTotal, rss: after.rss }, FORCED_GC_DONE_MESSAGE);
  };
  process.on(FORCED_GC_SIGNAL, handler);
  log.info({ signal: FORCED_GC_SIGNAL }, FORCED_GC_ENABLED_MESSAGE);
  return { installed: true, uninstall: () => process.off(FORCED_GC_SIGNAL, handler) };
}
