/**
 * The benchmark's own view of the world, independent of the system under
 * test: informers (the runtime's Reflector + Store, admin user) on every type
 * the systems write, so convergence is judged from what the API server holds
 * and every effective change is seen as a watch event.
 *
 * Effective writes: a write that changes an object bumps its resourceVersion
 * and produces exactly one watch event (ADDED, MODIFIED or DELETED); one that
 * changes nothing (the API server skips the etcd write when the result equals
 * the stored object) produces none. So, over a window in which only the
 * system under test writes, `events seen` = its effective writes, and
 * `successful write requests − events` = its no-op writes.
 */
import { performance } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import { createRegistry } from '../../src/observability/metrics.ts';
import type { KubeClient } from '../../src/runtime/kube/client.ts';
import { builtinTypes, type KubeObject, type ResourceType } from '../../src/runtime/kube/resource.ts';
import { Reflector } from '../../src/runtime/informer/reflector.ts';
import { Store } from '../../src/runtime/informer/store.ts';
import { KindResources as T } from '../../src/api/kinds.ts';

export type ObservedKind = 'Namespace' | 'Cluster' | 'Bundle' | 'BundleDeployment' | 'Content';

export interface ObservedEvent {
  kind: ObservedKind;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  obj: KubeObject;
  at: number;
}

export class Observer {
  readonly stores: Record<ObservedKind, Store<KubeObject>>;
  readonly #reflectors: Reflector<KubeObject>[] = [];
  readonly #registry: Registry = createRegistry({ defaultMetrics: false });
  readonly #listeners = new Set<(e: ObservedEvent) => void>();
  #counts = new Map<string, number>();

  constructor(client: KubeClient) {
    const types: Array<[ObservedKind, ResourceType]> = [
      ['Namespace', builtinTypes.namespace],
      ['Cluster', T.Cluster],
      ['Bundle', T.Bundle],
      ['BundleDeployment', T.BundleDeployment],
      ['Content', T.Content],
    ];
    this.stores = {} as Record<ObservedKind, Store<KubeObject>>;
    for (const [kind, type] of types) {
      const store = new Store<KubeObject>({ builtinIndexes: ['namespace'] });
      this.stores[kind] = store;
      store.addHandler({
        onAdd: (obj, initial) => {
          if (!initial) this.#emit({ kind, type: 'ADDED', obj, at: performance.now() });
        },
        onUpdate: (_old, obj, resync) => {
          if (!resync) this.#emit({ kind, type: 'MODIFIED', obj, at: performance.now() });
        },
        onDelete: (obj) => this.#emit({ kind, type: 'DELETED', obj, at: performance.now() }),
      });
      this.#reflectors.push(new Reflector<KubeObject>({ client, registry: this.#registry, type, store, minWatchTimeoutSeconds: 1800 }));
    }
  }

  async start(): Promise<void> {
    for (const r of this.#reflectors) r.start();
    await Promise.all(this.#reflectors.map((r) => r.synced));
  }

  async stop(): Promise<void> {
    await Promise.all(this.#reflectors.map((r) => r.stop()));
  }

  /** Calls `fn` for every event from now on; returns an unsubscribe function. */
  on(fn: (e: ObservedEvent) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Starts a new counting window. */
  resetCounts(): void {
    this.#counts = new Map();
  }

  /** Events since `resetCounts()`, by `kind` (and `kind,type`). */
  counts(): { total: number; byKind: Record<string, number> } {
    const byKind: Record<string, number> = {};
    let total = 0;
    for (const [key, n] of this.#counts) {
      byKind[key] = n;
      if (!key.includes(',')) total += n;
    }
    return { total, byKind };
  }

  /** Sum of the JSON sizes of every cached object (managedFields stripped, as a controller's cache holds them). */
  cachedJson(): { objects: number; bytes: number } {
    let objects = 0;
    let bytes = 0;
    for (const store of Object.values(this.stores)) {
      for (const obj of store.values()) {
        objects++;
        bytes += Buffer.byteLength(JSON.stringify(obj));
      }
    }
    return { objects, bytes };
  }

  #emit(e: ObservedEvent): void {
    this.#counts.set(e.kind, (this.#counts.get(e.kind) ?? 0) + 1);
    this.#counts.set(`${e.kind},${e.type}`, (this.#counts.get(`${e.kind},${e.type}`) ?? 0) + 1);
    for (const fn of this.#listeners) fn(e);
  }
}
