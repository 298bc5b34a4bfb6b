/**
 * The placement controllers' parts on in-memory stores, for unit tests of
 * the reconcilers (pure logic on caches; no server). Writes go through the
 * real `Writer` to an in-memory object tracker (in the spirit of client-go's
 * fake ObjectTracker) that keeps resourceVersion, generation, finalizers and
 * deletion semantics and echoes every write into the stores, as a watch
 * would. Integration tests stay on the real control plane.
 */
import { Registry } from 'prom-client';
import { ApiError } from '../../src/runtime/errors.ts';
import { Store } from '../../src/runtime/informer/store.ts';
import { objectKey, type KubeObject, type ResourceType } from '../../src/runtime/kube/resource.ts';
import { silentLogger } from '../../src/observability/logger.ts';
import { jsonEqual } from '../../src/placement/json-equal.ts';
import { PlacementContext, placementCacheSpecs, type BundleObject, type ClusterObject, type PlacementCaches } from '../../src/controllers/placement-context.ts';
import { Finalizer } from '../../src/api/constants.ts';
import { deploymentNamespaceFor, deploymentNamespaceLabels } from '../../src/placement/deployment-namespace.ts';
import { WorkspaceMembership } from '../../src/controllers/workspaces.ts';
import { Writer, type WriteClient } from '../../src/controllers/writer.ts';
import { defaultConfig } from '../../src/config/defaults.ts';
import type { ReconcileContext } from '../../src/runtime/actors/index.ts';

type AnyStore = Store<KubeObject>;

export interface RecordedWrite {
  verb: 'create' | 'apply' | 'patch' | 'delete';
  kind: string;
  key: string;
  subresource?: string;
}

export interface RecordedEvent {
  key: string;
  type: string;
  reason: string;
  message: string;
}

/** An in-memory API for the placement kinds: each write lands in the matching store. */
class InMemoryApi implements WriteClient {
  readonly writes: RecordedWrite[] = [];
  // Above any resourceVersion a test seeds its caches with.
  #version = 1_000_000;
  #uid = 1;
  readonly #stores: ReadonlyMap<string, AnyStore>;

  constructor(stores: ReadonlyMap<string, AnyStore>) {
    this.#stores = stores;
  }

  async create<T extends KubeObject>(type: ResourceType, obj: T): Promise<T> {
    const store = this.#store(type);
    const key = objectKey(obj);
    this.writes.push({ verb: 'create', kind: type.kind, key });
    if (store.get(key)) throw conflict('create', type, `${type.kind} "${key}" already exists`, 'AlreadyExists');
    return this.#save(store, { ...structuredClone(obj), metadata: { ...structuredClone(obj.metadata), uid: `uid-${this.#uid++}`, generation: 1 } });
  }

  async apply<T extends KubeObject>(type: ResourceType, obj: T, opts: { subresource?: 'status' } = {}): Promise<T> {
    const store = this.#store(type);
    const key = objectKey(obj);
    this.writes.push({ verb: 'apply', kind: type.kind, key, ...(opts.subresource ? { subresource: opts.subresource } : {}) });
    const existing = store.get(key);
    const applied = structuredClone(obj) as KubeObject & { spec?: unknown; status?: unknown };
    if (opts.subresource === 'status') {
      if (!existing) throw notFound('apply', type, key);
      return this.#save(store, { ...structuredClone(existing), status: applied.status } as KubeObject) as Promise<T>;
    }
    if (!existing) return this.create(type, obj);
    const before = existing as KubeObject & { spec?: unknown };
    const metadata = { ...structuredClone(existing.metadata), labels: { ...existing.metadata.labels, ...applied.metadata.labels } };
    const spec = applied.spec ?? before.spec;
    if (!jsonEqual(spec, before.spec)) metadata.generation = (existing.metadata.generation ?? 1) + 1;
    return this.#save(store, { ...structuredClone(existing), metadata, spec } as KubeObject) as Promise<T>;
  }

  async patch<T extends KubeObject>(type: ResourceType, name: string, namespace: string | undefined, patch: unknown): Promise<T> {
    const store = this.#store(type);
    const key = namespace ? `${namespace}/${name}` : name;
    this.writes.push({ verb: 'patch', kind: type.kind, key });
    const existing = store.get(key);
    if (!existing) throw notFound('patch', type, key);
    const wanted = (patch as { metadata?: { resourceVersion?: string; finalizers?: string[] } }).metadata ?? {};
    if (wanted.resourceVersion !== undefined && wanted.resourceVersion !== existing.metadata.resourceVersion) {
      throw conflict('patch', type, 'the object has been modified', 'Conflict');
    }
    const next = structuredClone(existing);
    if (wanted.finalizers !== undefined) next.metadata.finalizers = wanted.finalizers;
    if (next.metadata.deletionTimestamp && (next.metadata.finalizers ?? []).length === 0) {
      store.delete(key);
      return next as T;
    }
    return this.#save(store, next) as Promise<T>;
  }

  async delete(type: ResourceType, name: string, namespace?: string, opts: { preconditions?: { uid?: string } } = {}): Promise<unknown> {
    const store = this.#store(type);
    const key = namespace ? `${namespace}/${name}` : name;
    this.writes.push({ verb: 'delete', kind: type.kind, key });
    const existing = store.get(key);
    if (!existing) throw notFound('delete', type, key);
    if (opts.preconditions?.uid !== undefined && opts.preconditions.uid !== existing.metadata.uid) {
      throw conflict('delete', type, 'precondition failed: uid', 'Conflict');
    }
    if ((existing.metadata.finalizers ?? []).length === 0) {
      store.delete(key);
      return {};
    }
    if (!existing.metadata.deletionTimestamp) {
      await this.#save(store, { ...structuredClone(existing), metadata: { ...structuredClone(existing.metadata), deletionTimestamp: '2026-01-01T00:00:00Z' } });
    }
    return {};
  }

  /** A write by someone other than the controller (an agent): stored with the next resourceVersion, not recorded in `writes`. */
  external<T extends KubeObject>(kind: string, obj: T): Promise<T> {
    return this.#save(this.#store({ kind } as ResourceType), structuredClone(obj));
  }

  async #save<T extends KubeObject>(store: AnyStore, obj: T): Promise<T> {
    obj.metadata.resourceVersion = String(++this.#version);
    store.upsert(obj);
    return structuredClone(obj);
  }

  #store(type: ResourceType): AnyStore {
    const store = this.#stores.get(type.kind);
    if (!store) throw new Error(`no in-memory store for ${type.kind}`);
    return store;
  }
}

function notFound(verb: string, type: ResourceType, key: string): ApiError {
  return new ApiError({ statusCode: 404, reason: 'NotFound', message: `${type.kind} "${key}" not found`, verb, resource: type.plural });
}

function conflict(verb: string, type: ResourceType, message: string, reason: string): ApiError {
  return new ApiError({ statusCode: 409, reason, message, verb, resource: type.plural });
}

/** Placement caches, writer and events on in-memory stores, plus what the reconciles wrote and recorded. */
export class PlacementWorld {
  readonly caches: PlacementCaches;
  readonly ctx: PlacementContext;
  readonly events: RecordedEvent[] = [];
  /** Best-effort (Normal, transition) Events, apart from `events` (the problems). */
  readonly announcements: RecordedEvent[] = [];
  readonly #api: InMemoryApi;
  #reconciles = 0;

  constructor(workspaces: readonly string[] = ['ws']) {
    const store = <T extends KubeObject>(spec: { builtinIndexes: readonly ('namespace' | 'label')[]; indexers?: object }) =>
      new Store<T>(spec as ConstructorParameters<typeof Store<T>>[0]);
    const s = placementCacheSpecs;
    this.caches = {
      namespaces: { store: store(s.namespaces) },
      clusters: { store: store(s.clusters) },
      clusterGroups: { store: store(s.clusterGroups) },
      bundles: { store: store(s.bundles) },
      bundleDeployments: { store: store(s.bundleDeployments) },
      contents: { store: store(s.contents) },
      agentLeases: { store: store(s.agentLeases) },
    };
    const byKind = new Map<string, AnyStore>([
      [s.namespaces.type.kind, this.caches.namespaces.store],
      [s.clusters.type.kind, this.caches.clusters.store as unknown as AnyStore],
      [s.clusterGroups.type.kind, this.caches.clusterGroups.store as unknown as AnyStore],
      [s.bundles.type.kind, this.caches.bundles.store as unknown as AnyStore],
      [s.bundleDeployments.type.kind, this.caches.bundleDeployments.store as unknown as AnyStore],
      [s.contents.type.kind, this.caches.contents.store as unknown as AnyStore],
      [s.agentLeases.type.kind, this.caches.agentLeases.store as unknown as AnyStore],
    ]);
    this.#api = new InMemoryApi(byKind);
    const registry = new Registry();
    const config = defaultConfig();
    this.ctx = new PlacementContext({
      caches: this.caches,
      writer: new Writer(this.#api, registry),
      events: {
        record: async (obj, type, reason, message) => {
          this.events.push({ key: objectKey(obj), type, reason, message });
        },
        recordBestEffort: async (obj, type, reason, message) => {
          this.announcements.push({ key: objectKey(obj), type, reason, message });
        },
      },
      workspaces: new WorkspaceMembership({ ...config.workspaces, mode: 'static', names: [...workspaces] }, config.leaderElection.namespace),
      registry,
      log: silentLogger,
    });
    for (const name of workspaces) this.caches.namespaces.store.upsert(this.object({ metadata: { name } }));
  }

  /** Writes sent so far. */
  get writes(): readonly RecordedWrite[] {
    return this.#api.writes;
  }

  /** Puts an object into its cache as if the informer had listed it, with a resourceVersion and uid. */
  object<T extends KubeObject>(obj: T): T {
    const copy = structuredClone(obj);
    copy.metadata.resourceVersion ??= '1';
    copy.metadata.uid ??= `seed-${objectKey(copy)}`;
    copy.metadata.generation ??= 1;
    return copy;
  }

  /** A Cluster of workspace "ws" in the cache, with its finalizer and (unless told otherwise) its own deployment namespace. */
  cluster(name: string, labels: Record<string, string> = {}, withNamespace = true): ClusterObject {
    const c = this.object({ metadata: { name, namespace: 'ws', labels, finalizers: [Finalizer.ClusterCleanup] }, spec: {} } as ClusterObject);
    this.caches.clusters.store.upsert(c);
    if (withNamespace) {
      const nsName = deploymentNamespaceFor('ws', name);
      this.caches.namespaces.store.upsert(this.object({ metadata: { name: nsName, labels: deploymentNamespaceLabels('ws', name) } }));
    }
    return c;
  }

  /** A Bundle of workspace "ws" in the cache, with its finalizer. */
  bundle(name: string, spec: Record<string, unknown>): BundleObject {
    const b = this.object({ metadata: { name, namespace: 'ws', finalizers: [Finalizer.BundleCleanup] }, spec } as unknown as BundleObject);
    this.caches.bundles.store.upsert(b);
    return b;
  }

  /**
   * What an agent reports on a BundleDeployment's status (not a controller
   * write): `ready` applies the spec's deployment ID and is ready;
   * `notReady` applies it and is not.
   */
  async agentReport(bdKey: string, state: 'ready' | 'notReady'): Promise<void> {
    const bd = this.caches.bundleDeployments.store.get(bdKey);
    if (!bd) throw new Error(`no BundleDeployment ${bdKey}`);
    await this.#api.external('BundleDeployment', { ...bd, status: { appliedDeploymentID: bd.spec.deploymentID, ready: state === 'ready' } });
  }

  /** A change of an object by someone else (a user editing a Bundle, an agent renewing its Lease), stored as the API would. */
  external<T extends KubeObject>(kind: string, obj: T): Promise<T> {
    return this.#api.external(kind, obj);
  }

  /** Reconciles until a pass writes nothing (each write is echoed into the caches, as a watch would). */
  async converge(reconcile: () => Promise<unknown>, passes = 5): Promise<void> {
    for (let i = 0; i < passes; i++) {
      const before = this.writes.length;
      await reconcile();
      if (this.writes.length === before) return;
    }
    throw new Error(`no fixed point after ${passes} reconciles: ${JSON.stringify(this.writes.slice(-5))}`);
  }

  /** A reconcile context for `key`, as the scheduler would hand it over. */
  reconcileContext(key: string): ReconcileContext {
    return { key, reconcileID: `r${++this.#reconciles}`, attempt: 1, priority: 'high', signal: new AbortController().signal, log: silentLogger };
  }
}
