/**
 * What the main thread spends, for deciding what to move into the worker
 * pool (docs/architecture.md#worker-pool):
 *
 * - `flotilla_main_thread_cpu_seconds_total`: CPU time of the main thread
 *   alone (`process.threadCpuUsage()`), read at scrape time. Unlike
 *   `process_cpu_seconds_total` it leaves out the pool's workers and libuv's
 *   threads, so the difference between two scrapes divided by the reconciles
 *   in between (`controller_runtime_reconcile_total`) is the main-thread
 *   cost per reconcile, informer decoding and everything else the main thread
 *   did in that window included (async reconciles interleave, so there is no
 *   honest per-reconcile split of the whole).
 * - `flotilla_event_loop_delay_seconds`: a histogram of how late a 10 ms
 *   timer fires. Two scrapes' bucket differences give the delay distribution
 *   of exactly that window (its p99 with `histogram_quantile`), which a
 *   gauge reset at each scrape (`nodejs_eventloop_lag_p99_seconds`) cannot
 *   when anyone else scrapes in between. A block of length d shows as one
 *   sample of about d, as in `monitorEventLoopDelay`.
 */
import { performance } from 'node:perf_hooks';
import { Counter, Histogram, type Registry } from 'prom-client';

export const EVENT_LOOP_DELAY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Main-thread CPU seconds so far (user + system). */
export function mainThreadCpuSeconds(): number {
  const { user, system } = process.threadCpuUsage();
  return (user + system) / 1e6;
}

export class MainThreadMetrics {
  readonly #intervalMs: number;
  readonly #delay: Histogram;
  #timer: NodeJS.Timeout | undefined;
  #expected = 0;

  constructor(registry: Registry, options: { intervalMs?: number } = {}) {
    this.#intervalMs = options.intervalMs ?? 10;
    let reported = 0;
    // A registry shared by several runtimes in one process (tests) has them already: one thread, one series.
    const existingDelay = registry.getSingleMetric('flotilla_event_loop_delay_seconds');
    if (!registry.getSingleMetric('flotilla_main_thread_cpu_seconds_total')) new Counter({
      name: 'flotilla_main_thread_cpu_seconds_total',
      help: 'CPU time (user + system) of the main JavaScript thread alone, without the worker pool and libuv threads.',
      registers: [registry],
      collect() {
        const now = mainThreadCpuSeconds();
        if (now > reported) this.inc(now - reported);
        reported = Math.max(reported, now);
      },
    });
    this.#delay = existingDelay instanceof Histogram ? existingDelay : new Histogram({
      name: 'flotilla_event_loop_delay_seconds',
      help: `How late a ${this.#intervalMs} ms timer on the main thread fires: event-loop delay samples.`,
      buckets: EVENT_LOOP_DELAY_BUCKETS,
      registers: [registry],
    });
  }

  start(): this {
    if (this.#timer) return this;
    this.#schedule();
    return this;
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    this.#expected = performance.now() + this.#intervalMs;
    // Unref'd: sampling must never keep the process alive.
    this.#timer = setTimeout(() => {
      this.#delay.observe(Math.max(0, performance.now() - this.#expected) / 1000);
      this.#schedule();
    }, this.#intervalMs).unref();
  }
}
