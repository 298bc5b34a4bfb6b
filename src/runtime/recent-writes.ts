import type { KubeObject } from './kube/resource.ts';
import { addToSetMap, removeFromSetMap } from '../util/set-map.ts';

interface Entry {
  /** The server's answer to our write; `null` once deleted. */
  obj: KubeObject | null;
  rv: bigint;
  at: number;
  group: string | undefined;
}

/** Backstop: an entry whose watch event never came (a lost event, a stalled watch) is dropped after this. */
export const MAX_AGE_MS = 120_000;
/**
 * Hard bound on entries. They normally live only for the watch's lag (the
 * informer delivering our write drops it), so this is reached only when the
 * watch stalls during a burst; the oldest entries go first. Evicting one
 * costs at most a repeated write (an apply of what the cache does not show
 * yet, answered the same), never a wrong one.
 */
export const DEFAULT_MAX_ENTRIES = 10_000;

/** Why entries left the overlay before the cache caught up with them. */
export type EvictionReason = 'expired' | 'size_limit';

export interface RecentWritesOptions {
  now?: () => number;
  maxEntries?: number;
  /** Told about entries dropped before the cache caught up (metrics). */
  onEvicted?: (reason: EvictionReason, count: number) => void;
}

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
 *
 * An entry lives until the informer delivers the object at (or past) the
 * written version, or its deletion (`observed`, `observedDeleted`): the
 * overlay holds the watch's lag, not every write of the last two minutes.
 * The age bound and the size bound are backstops for a watch that stalls.
 */
export class RecentWrites {
  /** In insertion order (a rewrite moves the key to the end), so the first entries are the oldest. */
  readonly #entries = new Map<string, Entry>();
  /** Keys of recently written objects by group (e.g. BundleDeployments by Bundle). */
  readonly #groups = new Map<string, Set<string>>();
  readonly #now: () => number;
  readonly #maxEntries: number;
  readonly #onEvicted: (reason: EvictionReason, count: number) => void;
  #lastSweep: number;
  /** Caught-up entries to drop once the informer's handlers for the event have all run (see `observed`). */
  #caughtUp: Array<[string, bigint]> = [];

  constructor(options: RecentWritesOptions | (() => number) = {}) {
    const opts = typeof options === 'function' ? { now: options } : options;
    this.#now = opts.now ?? Date.now;
    this.#maxEntries = opts.maxEntries ?? DEFAULT_MAX_ENTRIES;
    if (!Number.isInteger(this.#maxEntries) || this.#maxEntries < 1) throw new RangeError(`maxEntries must be an integer >= 1, got ${this.#maxEntries}`);
    this.#onEvicted = opts.onEvicted ?? (() => undefined);
    this.#lastSweep = this.#now();
  }

  get size(): number {
    return this.#entries.size;
  }

  written(id: string, obj: KubeObject, group?: string): void {
    this.#sweep();
    const rv = rvOf(obj);
    if (rv === undefined) return;
    if (obj.metadata.managedFields) delete obj.metadata.managedFields;
    this.#set(id, { obj, rv, at: this.#now(), group });
  }

  deleted(id: string, lastKnown: KubeObject, group?: string): void {
    this.#sweep();
    const rv = rvOf(lastKnown);
    if (rv === undefined) return;
    this.#set(id, { obj: null, rv, at: this.#now(), group });
  }

  /**
   * The informer delivered `id` at `seen`'s version (added or updated): a
   * write of ours at or below it is in the cache now, so its entry goes.
   * Not at once: the other handlers of the same event ask `isOwnWrite` about
   * this very version (echo detection), so the entry is dropped in a
   * microtask, after the store's synchronous dispatch of the event.
   */
  observed(id: string, seen: KubeObject): void {
    const entry = this.#entries.get(id);
    if (entry === undefined || entry.obj === null) return;
    const rv = rvOf(seen);
    if (rv === undefined || rv < entry.rv) return;
    if (this.#caughtUp.length === 0) queueMicrotask(() => this.#dropCaughtUp());
    this.#caughtUp.push([id, rv]);
  }

  #dropCaughtUp(): void {
    const caughtUp = this.#caughtUp;
    this.#caughtUp = [];
    for (const [id, rv] of caughtUp) {
      const entry = this.#entries.get(id);
      // A write of ours newer than what was seen (issued since) stays.
      if (entry !== undefined && entry.obj !== null && entry.rv <= rv) this.#delete(id, entry);
    }
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
    if (rv === undefined || entry.rv <= rv) this.#delete(id, entry);
  }

  #set(id: string, entry: Entry): void {
    const previous = this.#entries.get(id);
    if (previous !== undefined) this.#delete(id, previous); // re-inserted last: the newest
    this.#entries.set(id, entry);
    if (entry.group !== undefined) addToSetMap(this.#groups, entry.group, id);
    let evicted = 0;
    for (const [oldId, old] of this.#entries) {
      if (this.#entries.size <= this.#maxEntries) break;
      this.#delete(oldId, old);
      evicted++;
    }
    if (evicted > 0) this.#onEvicted('size_limit', evicted);
  }

  #delete(id: string, entry: Entry): void {
    this.#entries.delete(id);
    if (entry.group !== undefined) removeFromSetMap(this.#groups, entry.group, id);
  }

  /**
   * Entries are normally settled when the informer delivers them or a
   * reconcile reads them; one whose event never came would otherwise be kept
   * (with its whole body) forever. Amortised: at most one pass per `MAX_AGE_MS`.
   */
  #sweep(): void {
    const now = this.#now();
    if (now - this.#lastSweep < MAX_AGE_MS) return;
    this.#lastSweep = now;
    let expired = 0;
    for (const [id, entry] of this.#entries) {
      if (now - entry.at > MAX_AGE_MS) {
        this.#delete(id, entry);
        expired++;
      }
    }
    if (expired > 0) this.#onEvicted('expired', expired);
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
    const entry = this.#entries.get(id);
    if (entry !== undefined) this.#delete(id, entry);
  }

  /** The newest we know of `id`: our write's result if the cache has not seen it yet. */
  fresher<T extends KubeObject>(id: string, cached: T | undefined): T | undefined {
    const entry = this.#entries.get(id);
    if (!entry) return cached;
    const cachedRv = rvOf(cached);
    if (this.#now() - entry.at > MAX_AGE_MS) return this.#settle(id, entry, cached);
    if (entry.obj === null) {
      // Deleted by us: gone from the cache (caught up), or recreated since.
      if (cached === undefined) return this.#settle(id, entry, undefined);
      if (cachedRv !== undefined && cachedRv > entry.rv) return this.#settle(id, entry, cached);
      return undefined;
    }
    if (cached !== undefined && (cachedRv === undefined || cachedRv >= entry.rv)) return this.#settle(id, entry, cached);
    return entry.obj as T;
  }

  #settle<T>(id: string, entry: Entry, answer: T): T {
    this.#delete(id, entry);
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
    for (const id of [...keys]) {
      const fresh = this.fresher(id, out.get(id));
      if (fresh === undefined) out.delete(id);
      else out.set(id, fresh);
    }
    return [...out.values()];
  }
}
