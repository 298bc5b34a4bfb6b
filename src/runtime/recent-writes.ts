import type { KubeObject } from './kube/resource.ts';
import { addToSetMap } from '../util/set-map.ts';

interface Entry {
  /** The server's answer to our write; `null` once deleted. */
  obj: KubeObject | null;
  rv: bigint;
  at: number;
}

const MAX_AGE_MS = 120_000;

function rvOf(obj: KubeObject | undefined | null): bigint | undefined {
  const rv = obj?.metadata.resourceVersion;
  if (!rv || !/^\d+$/.test(rv)) return undefined;
  return BigInt(rv);
}

/**
 * Our own writes, until the informer cache has caught up with them.
 *
 * A reconcile that runs between a write and its watch event would otherwise
 * see the stale cached object and repeat the write (a needless write, or a
 * 409 on an optimistic-lock patch). Kubernetes' built-in controllers solve
 * this with "expectations"; here every write's response is kept and
 * preferred over the cache while it is newer. resourceVersions are opaque
 * by contract, but one etcd's are increasing integers; when they are not
 * numeric the cache wins, which is merely the behaviour without this overlay.
 */
export class RecentWrites {
  readonly #entries = new Map<string, Entry>();
  /** Keys of recently written objects by group (e.g. BundleDeployments by Bundle). */
  readonly #groups = new Map<string, Set<string>>();
  readonly #now: () => number;
  #lastSweep: number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
    this.#lastSweep = now();
  }

  get size(): number {
    return this.#entries.size;
  }

  written(id: string, obj: KubeObject, group?: string): void {
    this.#sweep();
    const rv = rvOf(obj);
    if (rv === undefined) return;
    if (obj.metadata.managedFields) delete obj.metadata.managedFields;
    this.#entries.set(id, { obj, rv, at: this.#now() });
    if (group !== undefined) addToSetMap(this.#groups, group, id);
  }

  deleted(id: string, lastKnown: KubeObject, group?: string): void {
    this.#sweep();
    const rv = rvOf(lastKnown);
    if (rv === undefined) return;
    this.#entries.set(id, { obj: null, rv, at: this.#now() });
    if (group !== undefined) addToSetMap(this.#groups, group, id);
  }

  /**
   * The informer saw `id` deleted (`final` is its last state). A write of
   * ours at or below that version is history: without this, a reconcile
   * that runs after the deletion finds the cache empty, takes our earlier
   * write for one the cache has not seen yet, and does not recreate the
   * object (for up to MAX_AGE_MS, and nothing would bring it back after).
   * A write newer than the deletion (we recreated it) stays.
   */
  observedDeleted(id: string, final: KubeObject): void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return;
    const rv = rvOf(final);
    if (rv === undefined || entry.rv <= rv) this.#entries.delete(id);
  }

  /**
   * Entries are normally settled when a reconcile reads them; one for an
   * object nobody reconciles again would otherwise be kept (with its whole
   * body) forever. Amortised: at most one pass per `MAX_AGE_MS`.
   */
  #sweep(): void {
    const now = this.#now();
    if (now - this.#lastSweep < MAX_AGE_MS) return;
    this.#lastSweep = now;
    for (const [id, entry] of this.#entries) if (now - entry.at > MAX_AGE_MS) this.#entries.delete(id);
    for (const [group, keys] of this.#groups) {
      for (const id of keys) if (!this.#entries.has(id)) keys.delete(id);
      if (keys.size === 0) this.#groups.delete(group);
    }
  }

  /**
   * Whether `resourceVersion` of `id` is the result of our own latest write:
   * its watch event coming back to us. Lets a controller react to someone
   * else's change of a field it owns (status) without reacting to its own.
   * Not knowing (no entry, settled, a non-numeric version) answers false,
   * which costs one reconcile that finds nothing to do.
   */
  isOwnWrite(id: string, resourceVersion: string | undefined): boolean {
    const entry = this.#entries.get(id);
    if (entry === undefined || entry.obj === null || resourceVersion === undefined || !/^\d+$/.test(resourceVersion)) return false;
    return entry.rv === BigInt(resourceVersion);
  }

  /** Drops what we know of `id` (its owner is gone, and the cache is the authority on that). */
  forget(id: string): void {
    this.#entries.delete(id);
  }

  /** The newest we know of `id`: our write's result if the cache has not seen it yet. */
  fresher<T extends KubeObject>(id: string, cached: T | undefined): T | undefined {
    const entry = this.#entries.get(id);
    if (!entry) return cached;
    const cachedRv = rvOf(cached);
    if (this.#now() - entry.at > MAX_AGE_MS) return this.#settle(id, cached);
    if (entry.obj === null) {
      // Deleted by us: gone from the cache (caught up), or recreated since.
      if (cached === undefined) return this.#settle(id, undefined);
      if (cachedRv !== undefined && cachedRv > entry.rv) return this.#settle(id, cached);
      return undefined;
    }
    if (cached !== undefined && (cachedRv === undefined || cachedRv >= entry.rv)) return this.#settle(id, cached);
    return entry.obj as T;
  }

  #settle<T>(id: string, answer: T): T {
    this.#entries.delete(id);
    return answer;
  }

  /**
   * `cached` members of a group merged with our recent writes in it: written
   * but not yet cached objects are added, deleted ones dropped.
   */
  merge<T extends KubeObject>(group: string, cached: readonly T[], idOf: (obj: T) => string): T[] {
    const keys = this.#groups.get(group);
    if (!keys || keys.size === 0) return [...cached];
    const out = new Map<string, T>();
    for (const obj of cached) out.set(idOf(obj), obj);
    for (const id of keys) {
      const fresh = this.fresher(id, out.get(id));
      if (fresh === undefined) out.delete(id);
      else out.set(id, fresh);
      if (!this.#entries.has(id)) keys.delete(id);
    }
    if (keys.size === 0) this.#groups.delete(group);
    return [...out.values()];
  }
}
