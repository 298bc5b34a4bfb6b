/**
 * Pool metrics (prom-client, registered in the registry the caller passes;
 * never the global one). Label children are cached: the inline path runs in
 * about a microsecond and must not pay a label lookup per observation.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type TaskPath = 'pooled' | 'inline';
/** `error`: the task itself failed (its error class travelled back); `worker_failure`: the worker crashed/OOMed/was terminated. */
export type TaskResult = 'success' | 'error' | 'worker_failure';

export interface PoolGauges {
  /** Tasks waiting: in Piscina's queue plus callers awaiting admission. */
  queueDepth(): number;
  /** Live worker threads. */
  threads(): number;
}

export interface TaskObserver {
  observe(seconds: number, path: TaskPath, result: TaskResult): void;
}

export class PoolMetrics {
  readonly #duration: Histogram<'task'>;
  readonly #tasks: Counter<'task' | 'path' | 'result'>;
  readonly #restarts: Counter;
  readonly #observers = new Map<string, TaskObserver>();

  constructor(registry: Registry, gauges: PoolGauges) {
    const registers = [registry];
    new Gauge({
      name: 'flotilla_pool_queue_depth',
      help: 'Selector pool tasks waiting for a worker (queued in the pool plus callers held back by backpressure).',
      registers,
      collect() {
        this.set(gauges.queueDepth());
      },
    });
    new Gauge({
      name: 'flotilla_pool_threads',
      help: 'Live selector pool worker threads.',
      registers,
      collect() {
        this.set(gauges.threads());
      },
    });
    this.#duration = new Histogram({
      name: 'flotilla_pool_task_duration_seconds',
      help: 'Selector pool task latency as the caller sees it (admission wait, queueing and execution; inline or pooled).',
      labelNames: ['task'],
      buckets: [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.#tasks = new Counter({
      name: 'flotilla_pool_tasks_total',
      help: 'Selector pool tasks by task, path (pooled = worker thread, inline = main-thread fast path) and result.',
      labelNames: ['task', 'path', 'result'],
      registers,
    });
    this.#restarts = new Counter({
      name: 'flotilla_pool_worker_restarts_total',
      help: 'Selector pool workers that died (crash, out of memory, unresponsive) and were replaced.',
      registers,
    });
  }

  /** A pre-bound observer for one task name. */
  task(name: string): TaskObserver {
    let observer = this.#observers.get(name);
    if (observer) return observer;
    const duration = this.#duration.labels(name);
    const counters = new Map<string, Counter.Internal>();
    observer = {
      observe: (seconds, path, result) => {
        duration.observe(seconds);
        const key = `${path}/${result}`;
        let counter = counters.get(key);
        if (!counter) counters.set(key, (counter = this.#tasks.labels(name, path, result)));
        counter.inc();
      },
    };
    this.#observers.set(name, observer);
    return observer;
  }

  workerRestarted(): void {
    this.#restarts.inc();
  }
}
