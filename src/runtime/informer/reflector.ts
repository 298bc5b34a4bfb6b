import { Counter, Gauge, type Registry } from 'prom-client';
import { systemClock, type Clock, type TimerHandle } from '../actors/clock.ts';
import { sleep } from '../actors/clock-waits.ts';
import { isGone } from '../errors.ts';
import { internRepeatedStrings } from './intern.ts';
import type { WatchEvent } from '../kube/api-types.ts';
import type { ListerWatcher } from '../kube/interfaces.ts';
import { explainApiError } from '../kube/explain-error.ts';
import { problemLogFor, type ProblemLog } from '../kube/problem-log.ts';
import { resourceLabel, type KubeObject, type ResourceType } from '../kube/resource.ts';
import { silentLogger, type Logger } from '../../observability/logger.ts';
import { BackoffManager, retryDelayMs } from './backoff-manager.ts';
import { Store } from './store.ts';

export interface ReflectorOptions<T extends KubeObject> {
  client: ListerWatcher;
  type: ResourceType;
  store: Store<T>;
  registry: Registry;
  logger?: Logger;
  /** Restrict to one namespace (per-namespace informers); all namespaces when unset. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** LIST page size (client-go: 500). */
  pageSize?: number;
  /** Periodic resync to handlers; 0 disables. */
  resyncPeriodMs?: number;
  /** Server-side watch timeout is drawn from [min, 2×min) like client-go's. */
  minWatchTimeoutSeconds?: number;
  /** Defaults to client-go's reflector backoff on `clock`. */
  backoff?: BackoffManager;
  /** Times backoff waits and resyncs; the real clock unless a test drives time. */
  clock?: Clock;
  /** Applied to every object before it is cached (after managedFields are stripped). */
  transform?: (obj: T) => T;
}

interface ReflectorMetrics {
  lists: Counter<'resource' | 'result'>;
  relists: Counter<'resource' | 'reason'>;
  watches: Counter<'resource'>;
  watchRestarts: Counter<'resource' | 'reason'>;
  events: Counter<'resource' | 'type'>;
  lastSync: Gauge<'resource'>;
  objects: Gauge<'resource'>;
}

const metricsByRegistry = new WeakMap<Registry, ReflectorMetrics>();

function reflectorMetrics(registry: Registry): ReflectorMetrics {
  let m = metricsByRegistry.get(registry);
  if (m) return m;
  const registers = [registry];
  m = {
    lists: new Counter({ name: 'flotilla_reflector_lists_total', help: 'Complete LISTs (all pages) by result.', labelNames: ['resource', 'result'], registers }),
    relists: new Counter({
      name: 'flotilla_reflector_relists_total',
      help: 'LISTs after the first one, by reason (expired: watch got 410 Gone; error: watch could not resume).',
      labelNames: ['resource', 'reason'],
      registers,
    }),
    watches: new Counter({ name: 'flotilla_reflector_watches_total', help: 'WATCH requests started.', labelNames: ['resource'], registers }),
    watchRestarts: new Counter({
      name: 'flotilla_reflector_watch_restarts_total',
      help: 'Watches that ended and were restarted, by reason (timeout: server closed it normally; expired; error).',
      labelNames: ['resource', 'reason'],
      registers,
    }),
    events: new Counter({ name: 'flotilla_reflector_events_total', help: 'Watch events received by type.', labelNames: ['resource', 'type'], registers }),
    lastSync: new Gauge({
      name: 'flotilla_reflector_last_sync_timestamp_seconds',
      help: 'Unix time of the last successful LIST or watch event.',
      labelNames: ['resource'],
      registers,
    }),
    objects: new Gauge({ name: 'flotilla_reflector_objects', help: 'Objects in the informer cache.', labelNames: ['resource'], registers }),
  };
  metricsByRegistry.set(registry, m);
  return m;
}

/**
 * List+watch loop for one resource type, feeding a Store. It never throws
 * into the process and never exits it: every failure is logged, counted and
 * retried with client-go's backoff, and a failed LIST keeps the previous
 * cache (a failed list is never "everything was deleted"). A watch that ends
 * normally resumes from the last resourceVersion; 410 Gone relists.
 */
export class Reflector<T extends KubeObject = KubeObject> {
  readonly store: Store<T>;
  readonly type: ResourceType;
  readonly #opts: ReflectorOptions<T>;
  readonly #log: Logger;
  readonly #metrics: ReflectorMetrics;
  readonly #resource: string;
  readonly #backoff: BackoffManager;
  readonly #clock: Clock;
  /** Shared per API client: explains fixable failures once, not per retry. */
  readonly #problems: ProblemLog;
  readonly #abort = new AbortController();
  #resourceVersion = '';
  #hasSynced = false;
  /** Aborted to end the current retry wait early (retryNow); undefined while not waiting. */
  #wake: AbortController | undefined;
  #resolveSynced!: () => void;
  #loop: Promise<void> | undefined;
  #resyncTimer: TimerHandle | undefined;
  readonly synced: Promise<void>;

  constructor(opts: ReflectorOptions<T>) {
    this.#opts = opts;
    this.store = opts.store;
    this.type = opts.type;
    this.#resource = resourceLabel(opts.type) + (opts.namespace ? `@${opts.namespace}` : '');
    this.#log = (opts.logger ?? silentLogger).child({ reflector: this.#resource });
    this.#metrics = reflectorMetrics(opts.registry);
    this.#clock = opts.clock ?? systemClock;
    const clock = this.#clock;
    this.#backoff = opts.backoff ?? new BackoffManager({ now: () => clock.now() });
    this.#problems = problemLogFor(opts.client, opts.logger ?? silentLogger);
    this.synced = new Promise((resolve) => (this.#resolveSynced = resolve));
  }

  get name(): string {
    return this.#resource;
  }

  /** Whether it is waiting to retry a failed LIST or WATCH. */
  get retrying(): boolean {
    return this.#wake !== undefined;
  }

  /**
   * Ends a pending retry wait at once: the caller knows the server answers
   * again (after a long outage the backoff may otherwise wait up to its cap).
   * Does nothing while the reflector is not waiting.
   */
  retryNow(): void {
    this.#wake?.abort();
  }

  hasSynced(): boolean {
    return this.#hasSynced;
  }

  get lastResourceVersion(): string {
    return this.#resourceVersion;
  }

  start(): void {
    if (this.#loop) return;
    this.#loop = this.#run().catch((err: unknown) => {
      // #run handles its own errors; reaching here is a bug, never a crash.
      this.#log.fatal({ err }, 'reflector loop ended unexpectedly');
    });
    const period = this.#opts.resyncPeriodMs ?? 0;
    if (period > 0) this.#scheduleResync(period);
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    if (this.#resyncTimer) this.#clock.clearTimer(this.#resyncTimer);
    await this.#loop;
  }

  #scheduleResync(periodMs: number): void {
    this.#resyncTimer = this.#clock.setTimer(() => {
      if (this.#abort.signal.aborted) return;
      if (this.#hasSynced) this.store.resync();
      this.#scheduleResync(periodMs);
    }, periodMs);
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    let needList = true;
    let relistReason = '';
    while (!signal.aborted) {
      try {
        if (needList) {
          if (this.#hasSynced) this.#metrics.relists.labels(this.#resource, relistReason || 'error').inc();
          await this.#listAndReplace(signal);
          needList = false;
        }
        await this.#watch(signal);
        this.#metrics.watchRestarts.labels(this.#resource, 'timeout').inc();
      } catch (err) {
        if (signal.aborted) break;
        if (isGone(err)) {
          // The resourceVersion we hold was compacted away: only a fresh
          // LIST can tell us what changed meanwhile.
          this.#log.info({ resourceVersion: this.#resourceVersion }, 'watch expired (410 Gone); relisting');
          this.#metrics.watchRestarts.labels(this.#resource, 'expired').inc();
          needList = true;
          relistReason = 'expired';
          this.#resourceVersion = '';
          continue;
        }
        const waitMs = retryDelayMs(err, this.#backoff);
        const phase = needList ? 'list' : 'watch';
        if (!needList) this.#metrics.watchRestarts.labels(this.#resource, 'error').inc();
        const problem = explainApiError(err, { server: this.#opts.client.server, verb: phase, type: this.#opts.type, namespace: this.#opts.namespace });
        if (problem) this.#problems.report(this.#resource, problem);
        // An explained problem is logged (de-duplicated) by the problem log; the per-retry line is detail.
        this.#log[problem ? 'debug' : 'warn']({ err, phase, retryInMs: waitMs, cachedObjects: this.store.size }, `${phase} failed; keeping cache and retrying`);
        // Resume the watch from the last resourceVersion if we have one: the
        // cache stays valid, and if the version is too old we get 410.
        if (!needList && this.#resourceVersion === '') needList = true;
        relistReason = 'error';
        // Kept alive: a process waiting for its caches waits on this retry.
        const wake = new AbortController();
        this.#wake = wake;
        try {
          await sleep(this.#clock, waitMs, AbortSignal.any([signal, wake.signal]), { keepAlive: true });
        } finally {
          this.#wake = undefined;
        }
      }
    }
  }

  async #listAndReplace(signal: AbortSignal): Promise<void> {
    const { client, type, namespace, labelSelector, fieldSelector } = this.#opts;
    const items: T[] = [];
    let continueToken: string | undefined;
    let resourceVersion = '';
    try {
      do {
        // A consistent (resourceVersion unset) paginated read: the result is
        // at least as new as any write acknowledged before it started.
        const page = await client.list<T>(type, {
          namespace,
          labelSelector,
          fieldSelector,
          limit: this.#opts.pageSize ?? 500,
          continue: continueToken,
          signal,
        });
        for (const item of page.items) items.push(this.#prepare(item));
        continueToken = page.metadata.continue || undefined;
        resourceVersion = page.metadata.resourceVersion ?? '';
      } while (continueToken);
    } catch (err) {
      this.#metrics.lists.labels(this.#resource, 'error').inc();
      throw err;
    }
    this.#metrics.lists.labels(this.#resource, 'success').inc();
    this.#problems.resolve(this.#resource);
    const initial = !this.#hasSynced;
    const diff = this.store.replace(items, initial);
    this.#resourceVersion = resourceVersion;
    this.#metrics.lastSync.labels(this.#resource).set(Date.now() / 1000);
    this.#metrics.objects.labels(this.#resource).set(this.store.size);
    this.#log.info({ objects: items.length, resourceVersion, ...diff, initial }, 'listed');
    if (initial) {
      this.#hasSynced = true;
      this.#resolveSynced();
    }
  }

  async #watch(signal: AbortSignal): Promise<void> {
    const min = this.#opts.minWatchTimeoutSeconds ?? 300;
    const timeoutSeconds = Math.floor(min * (1 + Math.random()));
    this.#metrics.watches.labels(this.#resource).inc();
    const events = this.#metrics.events;
    await this.#opts.client.watch<T>(
      this.#opts.type,
      {
        namespace: this.#opts.namespace,
        labelSelector: this.#opts.labelSelector,
        fieldSelector: this.#opts.fieldSelector,
        resourceVersion: this.#resourceVersion,
        timeoutSeconds,
        allowWatchBookmarks: true,
        signal,
      },
      (event: WatchEvent<T>) => {
        events.labels(this.#resource, event.type).inc();
        this.#problems.resolve(this.#resource);
        const rv = event.object.metadata?.resourceVersion;
        switch (event.type) {
          case 'ADDED':
          case 'MODIFIED':
            this.store.upsert(this.#prepare(event.object));
            break;
          case 'DELETED':
            this.store.delete(this.#prepare(event.object));
            break;
          case 'BOOKMARK':
            break;
        }
        if (rv) this.#resourceVersion = rv;
        this.#metrics.lastSync.labels(this.#resource).set(Date.now() / 1000);
        this.#metrics.objects.labels(this.#resource).set(this.store.size);
      },
    );
  }

  #prepare(obj: T): T {
    // managedFields are often larger than the object itself and nothing in
    // a controller reads them.
    if (obj.metadata.managedFields) delete obj.metadata.managedFields;
    if (obj.apiVersion === undefined) obj.apiVersion = this.#opts.type.group ? `${this.#opts.type.group}/${this.#opts.type.version}` : this.#opts.type.version;
    if (obj.kind === undefined) obj.kind = this.#opts.type.kind;
    // One copy of the strings many objects repeat (intern.ts): ~a fifth of a BundleDeployment's heap.
    internRepeatedStrings(obj);
    return this.#opts.transform ? this.#opts.transform(obj) : obj;
  }
}
