import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * Metrics of the actor runtime, under the names the ecosystem's dashboards
 * already use: client-go's workqueue metrics (label `name`) and
 * controller-runtime's reconcile metrics (label `controller`), plus
 * Flotilla's coalescing and dead-letter metrics.
 *
 * Per-event cost matters (an enqueue is a handful of field writes), so
 * counters and gauges are plain numbers on the controller, copied into
 * prom-client only when the registry is scraped (`collect`). Only the three
 * histograms are observed per reconcile, through children bound once.
 */

/**
 * Kubernetes' workqueue metrics provider (k8s.io/component-base):
 * `ExponentialBuckets(10e-9, 10, 10)`, 10 ns … 10 s. (controller-runtime's
 * own provider uses 12 buckets, up to 1000 s.)
 */
const WORKQUEUE_BUCKETS = Array.from({ length: 10 }, (_, i) => Number((1e-8 * 10 ** i).toPrecision(1)));

/** controller-runtime's `controller_runtime_reconcile_time_seconds` buckets. */
const RECONCILE_TIME_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5, 1.75,
  2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];

/** Plain counters a controller bumps on its hot paths. */
export class ControllerCounters {
  adds = 0;
  coalesced = 0;
  retries = 0;
  success = 0;
  error = 0;
  requeueAfter = 0;
  deadLetterTerminal = 0;
  deadLetterMaxAttempts = 0;
}

/** What a controller exposes for scrape-time metrics. */
export interface ControllerMetricsSource {
  readonly name: string;
  readonly counters: ControllerCounters;
  depth(): number;
  activeWorkers(): number;
  maxConcurrentReconciles(): number;
  deadLetterKeys(): number;
  /** Seconds of work in progress and the longest single one, at `collect` time. */
  unfinishedWork(): { totalSeconds: number; longestSeconds: number };
}

/** What an ActorSystem exposes for scrape-time metrics. */
export interface SystemMetricsSource {
  /** The limit on reconciles in flight in effect now. */
  limit(): number;
  /** Decreases of the adaptive limit so far, by signal. */
  readonly decreases: Readonly<Record<'throttled' | 'latency', number>>;
}

/** Histogram observers pre-bound to one controller's labels. */
export interface ControllerObservers {
  queueDuration(seconds: number): void;
  workDuration(seconds: number): void;
  reconcileTime(seconds: number): void;
}

const byRegistry = new WeakMap<Registry, ActorMetrics>();

export class ActorMetrics {
  readonly #sources = new Map<string, ControllerMetricsSource>();
  readonly #systems = new Set<SystemMetricsSource>();
  readonly #queueDuration: Histogram<'name'>;
  readonly #workDuration: Histogram<'name'>;
  readonly #reconcileTime: Histogram<'controller'>;

  /**
   * The metrics of `registry`, created on first use. Several runtimes may
   * share a registry (tests, benchmarks); controller names must then differ.
   */
  static of(registry: Registry): ActorMetrics {
    let metrics = byRegistry.get(registry);
    if (metrics === undefined) {
      metrics = new ActorMetrics(registry);
      byRegistry.set(registry, metrics);
    }
    return metrics;
  }

  private constructor(registry: Registry) {
    const sources = this.#sources;
    const systems = this.#systems;
    const registers = [registry];
    const counter = <L extends string>(
      name: string,
      help: string,
      labelNames: readonly L[],
      fill: (metric: Counter<L>, source: ControllerMetricsSource) => void,
    ): void => {
      new Counter<L>({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          for (const source of sources.values()) fill(this, source);
        },
      });
    };
    const gauge = <L extends string>(
      name: string,
      help: string,
      labelName: L,
      value: (source: ControllerMetricsSource) => number,
    ): void => {
      new Gauge<L>({
        name,
        help,
        labelNames: [labelName],
        registers,
        collect() {
          this.reset();
          for (const source of sources.values()) {
            this.set({ [labelName]: source.name } as Record<L, string>, value(source));
          }
        },
      });
    };

    gauge('workqueue_depth', 'Current depth of workqueue', 'name', (s) => s.depth());
    counter('workqueue_adds_total', 'Total number of adds handled by workqueue', ['name'], (m, s) =>
      m.inc({ name: s.name }, s.counters.adds),
    );
    counter('workqueue_retries_total', 'Total number of retries handled by workqueue', ['name'], (m, s) =>
      m.inc({ name: s.name }, s.counters.retries),
    );
    gauge(
      'workqueue_unfinished_work_seconds',
      'How many seconds of work has been done that is in progress and hasn\'t been observed by work_duration. Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate at which this increases.',
      'name',
      (s) => s.unfinishedWork().totalSeconds,
    );
    gauge(
      'workqueue_longest_running_processor_seconds',
      'How many seconds has the longest running processor for workqueue been running.',
      'name',
      (s) => s.unfinishedWork().longestSeconds,
    );
    counter(
      'flotilla_workqueue_coalesced_total',
      'Enqueues that collapsed into an already pending reconcile of the same key',
      ['name'],
      (m, s) => m.inc({ name: s.name }, s.counters.coalesced),
    );
    counter(
      'controller_runtime_reconcile_total',
      'Total number of reconciliations per controller',
      ['controller', 'result'],
      (m, s) => {
        const c = s.counters;
        m.inc({ controller: s.name, result: 'success' }, c.success);
        m.inc({ controller: s.name, result: 'error' }, c.error);
        // No `requeue` result: like controller-runtime ≥ 0.21 (Result.Requeue
        // deprecated) time-based requeues use requeueAfter. Kept at 0 for dashboards.
        m.inc({ controller: s.name, result: 'requeue' }, 0);
        m.inc({ controller: s.name, result: 'requeue_after' }, c.requeueAfter);
      },
    );
    counter(
      'controller_runtime_reconcile_errors_total',
      'Total number of reconciliation errors per controller',
      ['controller'],
      (m, s) => m.inc({ controller: s.name }, s.counters.error),
    );
    gauge('controller_runtime_active_workers', 'Number of currently used workers per controller', 'controller', (s) =>
      s.activeWorkers(),
    );
    gauge(
      'controller_runtime_max_concurrent_reconciles',
      'Maximum number of concurrent reconciles per controller',
      'controller',
      (s) => s.maxConcurrentReconciles(),
    );
    counter(
      'flotilla_dead_letter_total',
      'Keys moved to the dead-letter state, by cause (terminal error or attempts exhausted)',
      ['controller', 'cause'],
      (m, s) => {
        m.inc({ controller: s.name, cause: 'terminal' }, s.counters.deadLetterTerminal);
        m.inc({ controller: s.name, cause: 'max_attempts' }, s.counters.deadLetterMaxAttempts);
      },
    );
    gauge('flotilla_dead_letter_keys', 'Keys currently dead-lettered (waiting for their object to change)', 'controller', (s) =>
      s.deadLetterKeys(),
    );

    // System-wide, so no controller label. A process has one ActorSystem;
    // runtimes sharing a registry (tests, benchmarks) add up.
    new Gauge({
      name: 'flotilla_reconcile_concurrency_limit',
      help: 'Limit on reconciles in flight in effect now: concurrency.maxConcurrentReconciles, or lower while the adaptive limit backs off from API throttling or latency',
      registers,
      collect() {
        let sum = 0;
        for (const system of systems) sum += system.limit();
        this.set(sum);
      },
    });
    new Counter<'signal'>({
      name: 'flotilla_reconcile_concurrency_limit_decreases_total',
      help: 'Times the adaptive limit on reconciles in flight was lowered, by signal (throttled: a 429 from the API server; latency: requests much slower than their baseline)',
      labelNames: ['signal'],
      registers,
      collect() {
        this.reset();
        for (const signal of ['throttled', 'latency'] as const) {
          let sum = 0;
          for (const system of systems) sum += system.decreases[signal];
          this.inc({ signal }, sum);
        }
      },
    });

    this.#queueDuration = new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames: ['name'],
      buckets: WORKQUEUE_BUCKETS,
      registers,
    });
    this.#workDuration = new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes',
      labelNames: ['name'],
      buckets: WORKQUEUE_BUCKETS,
      registers,
    });
    this.#reconcileTime = new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: ['controller'],
      buckets: RECONCILE_TIME_BUCKETS,
      registers,
    });
  }

  /** Adds an ActorSystem's series. */
  registerSystem(source: SystemMetricsSource): void {
    this.#systems.add(source);
  }

  /** Adds a controller's series; its name must be unique in this registry. */
  register(source: ControllerMetricsSource): ControllerObservers {
    if (this.#sources.has(source.name)) {
      throw new Error(`a controller named "${source.name}" is already registered in this metrics registry`);
    }
    this.#sources.set(source.name, source);
    const queue = this.#queueDuration.labels({ name: source.name });
    const work = this.#workDuration.labels({ name: source.name });
    const reconcile = this.#reconcileTime.labels({ controller: source.name });
    // Zero the histograms so every series exists from the start (dashboards
    // and `rate()` behave better than with series appearing on first use).
    this.#queueDuration.zero({ name: source.name });
    this.#workDuration.zero({ name: source.name });
    this.#reconcileTime.zero({ controller: source.name });
    return {
      queueDuration: (s) => queue.observe(s),
      workDuration: (s) => work.observe(s),
      reconcileTime: (s) => reconcile.observe(s),
    };
  }
}
