import type { Registry } from 'prom-client';
import { systemClock, type Clock } from '../actors/clock.ts';
import type { ListerWatcher } from '../kube/interfaces.ts';
import { resourceLabel, type KubeObject, type ResourceType } from '../kube/resource.ts';
import { silentLogger, type Logger } from '../../observability/logger.ts';
import { BackoffManager, type BackoffSettings } from './backoff-manager.ts';
import { Reflector } from './reflector.ts';
import { Store, type BuiltinIndex, type IndexFunc } from './store.ts';

export interface InformerOptions<T extends KubeObject> {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  indexers?: Record<string, IndexFunc<T>>;
  builtinIndexes?: readonly BuiltinIndex[];
  transform?: (obj: T) => T;
}

export interface InformerFactoryOptions {
  client: ListerWatcher;
  registry: Registry;
  logger?: Logger;
  resyncPeriodMs?: number;
  /** Objects per LIST page of every reflector. */
  listPageSize?: number;
  /** Each reflector backs off on its own, with these settings. */
  reflectorBackoff?: BackoffSettings;
  clock?: Clock;
}

export interface Informer<T extends KubeObject = KubeObject> {
  readonly store: Store<T>;
  readonly reflector: Reflector<T>;
}

/**
 * One reflector and store per (type, namespace, selectors), shared by every
 * controller that watches it, as client-go's SharedInformerFactory does: N
 * controllers watching Clusters cost one LIST and one WATCH, not N.
 */
export class InformerFactory {
  readonly #client: ListerWatcher;
  readonly #registry: Registry;
  readonly #log: Logger;
  readonly #resyncPeriodMs: number;
  readonly #listPageSize: number | undefined;
  readonly #reflectorBackoff: BackoffSettings;
  readonly #clock: Clock;
  readonly #informers = new Map<string, Informer<KubeObject>>();
  #started = false;

  constructor(opts: InformerFactoryOptions) {
    this.#client = opts.client;
    this.#registry = opts.registry;
    this.#log = opts.logger ?? silentLogger;
    this.#resyncPeriodMs = opts.resyncPeriodMs ?? 0;
    this.#listPageSize = opts.listPageSize;
    this.#reflectorBackoff = opts.reflectorBackoff ?? {};
    this.#clock = opts.clock ?? systemClock;
  }

  for<T extends KubeObject>(type: ResourceType, opts: InformerOptions<T> = {}): Informer<T> {
    const id = [resourceLabel(type), opts.namespace ?? '', opts.labelSelector ?? '', opts.fieldSelector ?? ''].join('|');
    const existing = this.#informers.get(id);
    if (existing) {
      for (const [name, fn] of Object.entries(opts.indexers ?? {})) {
        (existing.store as unknown as Store<T>).addIndexer(name, fn);
      }
      return existing as unknown as Informer<T>;
    }
    const store = new Store<T>({
      ...(opts.indexers ? { indexers: opts.indexers } : {}),
      ...(opts.builtinIndexes ? { builtinIndexes: opts.builtinIndexes } : {}),
      logger: this.#log,
    });
    const clock = this.#clock;
    const reflector = new Reflector<T>({
      client: this.#client,
      type,
      store,
      registry: this.#registry,
      logger: this.#log,
      resyncPeriodMs: this.#resyncPeriodMs,
      backoff: new BackoffManager({ ...this.#reflectorBackoff, now: () => clock.now() }),
      clock,
      ...(this.#listPageSize !== undefined ? { pageSize: this.#listPageSize } : {}),
      ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
      ...(opts.labelSelector !== undefined ? { labelSelector: opts.labelSelector } : {}),
      ...(opts.fieldSelector !== undefined ? { fieldSelector: opts.fieldSelector } : {}),
      ...(opts.transform ? { transform: opts.transform } : {}),
    });
    const informer: Informer<T> = { store, reflector };
    this.#informers.set(id, informer as unknown as Informer<KubeObject>);
    if (this.#started) reflector.start();
    return informer;
  }

  /** Stops and forgets one informer (e.g. a namespace that was offboarded). */
  async remove(informer: Informer<KubeObject>): Promise<void> {
    for (const [id, candidate] of this.#informers) {
      if (candidate === informer) {
        this.#informers.delete(id);
        await candidate.reflector.stop();
      }
    }
  }

  start(): void {
    this.#started = true;
    for (const informer of this.#informers.values()) informer.reflector.start();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#informers.values()].map((i) => i.reflector.stop()));
  }

  /** Whether some reflector is waiting to retry a failed LIST or WATCH. */
  retrying(): boolean {
    for (const informer of this.#informers.values()) if (informer.reflector.retrying) return true;
    return false;
  }

  /** Ends every pending retry wait at once (the API server is known to answer again). */
  retryNow(): void {
    for (const informer of this.#informers.values()) informer.reflector.retryNow();
  }

  /** Names of informers whose first LIST has not completed (for /readyz). */
  unsynced(): string[] {
    return [...this.#informers.values()].filter((i) => !i.reflector.hasSynced()).map((i) => i.reflector.name);
  }

  async waitForCacheSync(signal?: AbortSignal): Promise<void> {
    const all = Promise.all([...this.#informers.values()].map((i) => i.reflector.synced));
    if (!signal) {
      await all;
      return;
    }
    await Promise.race([
      all,
      new Promise<never>((_, reject) => {
        const onAbort = () => reject(signal.reason ?? new Error('aborted'));
        if (signal.aborted) onAbort();
        else signal.addEventListener('abort', onAbort, { once: true });
      }),
    ]);
  }
}
