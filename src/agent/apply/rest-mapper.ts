/**
 * Kind → resource mapping from API discovery, as client-go's deferred
 * discovery REST mapper does it: a manifest names apiVersion and kind, a
 * request needs the plural resource name and whether it is namespaced.
 *
 * Discovery is read one group-version at a time (`/apis/<group>/<version>`),
 * only for the versions manifests actually use: an agent deploying a few
 * kinds never pays for the dozens of groups a cluster serves. A miss
 * re-reads that group-version, but at most once per `minRefreshIntervalMs`,
 * so a bundle naming a kind that does not exist cannot turn every apply into
 * a discovery storm; after that the answer is `undefined` (unknown kind).
 * `invalidate()` forgets everything at once: the applier calls it when a CRD
 * it applied has become Established, so its kinds are found straight away.
 */
import { ApiError } from '../../runtime/errors.ts';
import type { RequestSpec } from '../../runtime/kube/api-types.ts';
import type { ResourceType } from '../../runtime/kube/resource.ts';

/** The one client method discovery needs (KubeClient has it). */
export interface DiscoveryClient {
  request<T>(spec: RequestSpec): Promise<T>;
}

interface ApiResourceList {
  resources?: Array<{ name: string; kind: string; namespaced: boolean }>;
}

interface ApiGroup {
  preferredVersion?: { version?: string };
  versions?: Array<{ version?: string }>;
}

interface Entry<T> {
  value: T;
  fetchedAt: number;
}

export const DEFAULT_MIN_REFRESH_INTERVAL_MS = 5_000;

export class RestMapper {
  readonly #client: DiscoveryClient;
  readonly #minRefreshIntervalMs: number;
  readonly #now: () => number;
  /** apiVersion → kind → type; an empty map means "served nothing" (404). */
  #versions = new Map<string, Entry<Map<string, ResourceType>>>();
  /** group → preferred version, undefined when the group is not served. */
  #groups = new Map<string, Entry<string | undefined>>();
  /** In-flight reads, shared by concurrent callers. */
  #pending = new Map<string, Promise<unknown>>();
  #generation = 0;

  constructor(opts: { client: DiscoveryClient; minRefreshIntervalMs?: number; now?: () => number }) {
    this.#client = opts.client;
    this.#minRefreshIntervalMs = opts.minRefreshIntervalMs ?? DEFAULT_MIN_REFRESH_INTERVAL_MS;
    this.#now = opts.now ?? Date.now;
  }

  /** The resource serving `kind` in `apiVersion`, or undefined when the cluster does not serve it. */
  async resourceFor(apiVersion: string, kind: string): Promise<ResourceType | undefined> {
    const cached = this.#versions.get(apiVersion);
    const hit = cached?.value.get(kind);
    if (hit) return hit;
    if (cached && !this.#mayRefresh(cached)) return undefined;
    const fresh = await this.#once(`v:${apiVersion}`, () => this.#readVersion(apiVersion));
    return fresh.get(kind);
  }

  /**
   * The resource for a group-kind at the group's preferred version: what
   * pruning needs, since an ApplySet parent records group-kinds only.
   */
  async resourceForGroupKind(group: string, kind: string): Promise<ResourceType | undefined> {
    if (group === '') return this.resourceFor('v1', kind);
    let cached = this.#groups.get(group);
    if (!cached || (cached.value === undefined && this.#mayRefresh(cached))) {
      await this.#once(`g:${group}`, () => this.#readGroup(group));
      cached = this.#groups.get(group);
    }
    const version = cached?.value;
    return version === undefined ? undefined : this.resourceFor(`${group}/${version}`, kind);
  }

  /** Forget all discovery: the next lookup of every kind reads afresh (a CRD got established). */
  invalidate(): void {
    this.#generation += 1;
    this.#versions = new Map();
    this.#groups = new Map();
    this.#pending = new Map();
  }

  #mayRefresh(entry: Entry<unknown>): boolean {
    return this.#now() - entry.fetchedAt >= this.#minRefreshIntervalMs;
  }

  async #once<T>(key: string, read: () => Promise<T>): Promise<T> {
    const existing = this.#pending.get(key) as Promise<T> | undefined;
    if (existing) return existing;
    const pending = read().finally(() => {
      if (this.#pending.get(key) === pending) this.#pending.delete(key);
    });
    this.#pending.set(key, pending);
    return pending;
  }

  async #readVersion(apiVersion: string): Promise<Map<string, ResourceType>> {
    const generation = this.#generation;
    const slash = apiVersion.indexOf('/');
    const group = slash < 0 ? '' : apiVersion.slice(0, slash);
    const version = slash < 0 ? apiVersion : apiVersion.slice(slash + 1);
    const path = group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
    const list = await this.#discover<ApiResourceList>(path);
    const kinds = new Map<string, ResourceType>();
    for (const r of list?.resources ?? []) {
      // Subresources (`deployments/scale`) share the kind of their parent.
      if (r.name.includes('/')) continue;
      kinds.set(r.kind, { group, version, kind: r.kind, plural: r.name, namespaced: r.namespaced });
    }
    // An invalidate() while this read was in flight makes its answer stale: do not cache it.
    if (generation === this.#generation) this.#versions.set(apiVersion, { value: kinds, fetchedAt: this.#now() });
    return kinds;
  }

  async #readGroup(group: string): Promise<void> {
    const generation = this.#generation;
    const found = await this.#discover<ApiGroup>(`/apis/${group}`);
    const version = found?.preferredVersion?.version ?? found?.versions?.[0]?.version;
    if (generation === this.#generation) this.#groups.set(group, { value: version, fetchedAt: this.#now() });
  }

  /** GET a discovery document; undefined when the server does not serve it (404). */
  async #discover<T>(path: string): Promise<T | undefined> {
    try {
      return await this.#client.request<T>({ verb: 'get', method: 'GET', path, resource: 'discovery' });
    } catch (err) {
      if (err instanceof ApiError && err.statusCode === 404) return undefined;
      throw err;
    }
  }
}
