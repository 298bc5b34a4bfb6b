import { objectKey, type KubeObject } from '../kube/resource.ts';
import { silentLogger, type Logger } from '../../observability/logger.ts';
import { addToSetMap, removeFromSetMap } from '../../util/set-map.ts';

/** Returns the index values an object is filed under (may be empty). */
export type IndexFunc<T> = (obj: T) => readonly string[];

export interface StoreHandler<T> {
  /** `initialList` is true for objects delivered by the reflector's first successful LIST. */
  onAdd?(obj: T, initialList: boolean): void;
  /** `resync` is true for periodic resync deliveries, where old and new are the same object. */
  onUpdate?(oldObj: T, newObj: T, resync: boolean): void;
  onDelete?(obj: T): void;
}

/** Indexes every store offers (client-go's cache.NamespaceIndex, plus label and owner). */
export const builtinIndexers = {
  namespace: (obj: KubeObject): readonly string[] => (obj.metadata.namespace ? [obj.metadata.namespace] : []),
  /** `key=value` for every label, and `key` alone so "has label" queries are cheap. */
  label: (obj: KubeObject): readonly string[] => {
    const labels = obj.metadata.labels;
    if (!labels) return [];
    const out: string[] = [];
    for (const k in labels) out.push(k, `${k}=${labels[k]}`);
    return out;
  },
  owner: (obj: KubeObject): readonly string[] => obj.metadata.ownerReferences?.map((o) => o.uid) ?? [],
} as const;

export type BuiltinIndex = keyof typeof builtinIndexers;

const emptyKeys: ReadonlySet<string> = new Set();

/**
 * The informer cache: plain-JSON objects by `namespace/name`, with secondary
 * indexes kept in step on every mutation. Only the owning reflector mutates
 * it; everybody else reads. Handlers run synchronously after the cache is
 * updated, so a handler always sees the store already reflecting its event;
 * a throwing handler is logged and never breaks the cache or other handlers.
 */
export class Store<T extends KubeObject = KubeObject> {
  readonly #items = new Map<string, T>();
  readonly #indexers = new Map<string, IndexFunc<T>>();
  readonly #indexes = new Map<string, Map<string, Set<string>>>();
  readonly #handlers = new Set<StoreHandler<T>>();
  readonly #log: Logger;

  constructor(
    opts: { indexers?: Record<string, IndexFunc<T>>; builtinIndexes?: readonly BuiltinIndex[]; logger?: Logger } = {},
  ) {
    this.#log = opts.logger ?? silentLogger;
    for (const name of opts.builtinIndexes ?? (['namespace', 'label', 'owner'] as const)) {
      this.addIndexer(name, builtinIndexers[name] as IndexFunc<T>);
    }
    for (const [name, fn] of Object.entries(opts.indexers ?? {})) this.addIndexer(name, fn);
  }

  get size(): number {
    return this.#items.size;
  }

  get(key: string): T | undefined {
    return this.#items.get(key);
  }

  getByName(namespace: string | undefined, name: string): T | undefined {
    return this.#items.get(namespace ? `${namespace}/${name}` : name);
  }

  has(key: string): boolean {
    return this.#items.has(key);
  }

  keys(): IterableIterator<string> {
    return this.#items.keys();
  }

  values(): IterableIterator<T> {
    return this.#items.values();
  }

  list(): T[] {
    return [...this.#items.values()];
  }

  /** Keys filed under `value` in index `name` (a live view: do not mutate). */
  indexKeys(name: string, value: string): ReadonlySet<string> {
    const index = this.#indexes.get(name);
    if (!index) throw new Error(`store has no index named ${JSON.stringify(name)}`);
    return index.get(value) ?? emptyKeys;
  }

  byIndex(name: string, value: string): T[] {
    const out: T[] = [];
    for (const key of this.indexKeys(name, value)) {
      const obj = this.#items.get(key);
      if (obj) out.push(obj);
    }
    return out;
  }

  /** Distinct values present in an index (e.g. every namespace with objects). */
  indexValues(name: string): string[] {
    const index = this.#indexes.get(name);
    if (!index) throw new Error(`store has no index named ${JSON.stringify(name)}`);
    return [...index.keys()];
  }

  /** Adds an index; existing objects are indexed at once. */
  addIndexer(name: string, fn: IndexFunc<T>): void {
    if (this.#indexers.has(name)) throw new Error(`index ${JSON.stringify(name)} already exists`);
    this.#indexers.set(name, fn);
    const index = new Map<string, Set<string>>();
    this.#indexes.set(name, index);
    for (const [key, obj] of this.#items) for (const v of fn(obj)) addToSetMap(index, v, key);
  }

  addHandler(handler: StoreHandler<T>): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  // ---- mutations: reflector only -----------------------------------------

  /** Inserts or replaces; returns the previous object. Skips identical resourceVersions. */
  upsert(obj: T, initialList = false): T | undefined {
    const key = objectKey(obj);
    const old = this.#items.get(key);
    if (old && old.metadata.resourceVersion === obj.metadata.resourceVersion && obj.metadata.resourceVersion) return old;
    this.#items.set(key, obj);
    this.#reindex(key, old, obj);
    if (old) this.#emit((h) => h.onUpdate?.(old, obj, false));
    else this.#emit((h) => h.onAdd?.(obj, initialList));
    return old;
  }

  delete(keyOrObj: string | T): T | undefined {
    const key = typeof keyOrObj === 'string' ? keyOrObj : objectKey(keyOrObj);
    const old = this.#items.get(key);
    if (!old) return undefined;
    this.#items.delete(key);
    this.#reindex(key, old, undefined);
    this.#emit((h) => h.onDelete?.(old));
    return old;
  }

  /**
   * Makes the cache equal to a complete LIST result, emitting only real
   * differences: objects whose resourceVersion is unchanged produce no event,
   * so a relist after a watch expiry does not flood the controllers.
   */
  replace(items: readonly T[], initialList: boolean): { added: number; updated: number; deleted: number } {
    const seen = new Set<string>();
    let added = 0;
    let updated = 0;
    for (const obj of items) {
      const key = objectKey(obj);
      seen.add(key);
      const old = this.#items.get(key);
      if (!old) added++;
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) updated++;
      this.upsert(obj, initialList);
    }
    let deleted = 0;
    for (const key of [...this.#items.keys()]) {
      if (!seen.has(key)) {
        this.delete(key);
        deleted++;
      }
    }
    return { added, updated, deleted };
  }

  /** Periodic resync: every handler sees every object again as an update. */
  resync(): void {
    for (const obj of this.#items.values()) this.#emit((h) => h.onUpdate?.(obj, obj, true));
  }

  #reindex(key: string, old: T | undefined, next: T | undefined): void {
    for (const [name, fn] of this.#indexers) {
      const index = this.#indexes.get(name)!;
      const oldValues = old ? fn(old) : [];
      const newValues = next ? fn(next) : [];
      if (oldValues.length === newValues.length && oldValues.every((v, i) => v === newValues[i])) continue;
      for (const v of oldValues) removeFromSetMap(index, v, key);
      for (const v of newValues) addToSetMap(index, v, key);
    }
  }

  #emit(call: (h: StoreHandler<T>) => void): void {
    for (const h of this.#handlers) {
      try {
        call(h);
      } catch (err) {
        this.#log.error({ err }, 'informer event handler threw; event dropped for that handler only');
      }
    }
  }
}
