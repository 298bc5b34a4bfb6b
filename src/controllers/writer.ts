import type { Counter, Registry } from 'prom-client';
import { registeredCounter, registeredGauge } from '../observability/metrics.ts';
import { KindResources } from '../api/kinds.ts';
import type { Kind } from '../api/constants.ts';
import type { ObjectWriter } from '../runtime/kube/interfaces.ts';

/** The requests the writer sends: any client with these (the API client; an in-memory one in unit tests). */
export type WriteClient = Pick<ObjectWriter, 'apply' | 'create' | 'patch' | 'delete'>;
import { PatchType } from '../runtime/kube/client.ts';
import { builtinTypes, objectKey, type KubeObject, type ResourceType } from '../runtime/kube/resource.ts';
import { owningBundleKey } from '../placement/bundle-deployments.ts';
import { RecentWrites } from '../runtime/recent-writes.ts';
import { ignoreNotFound, isNotFound } from '../runtime/errors.ts';
import { predicates } from '../runtime/informer/event-handlers.ts';

export type WrittenKind = Kind | 'Namespace';

function typeOf(kind: WrittenKind): ResourceType {
  return kind === 'Namespace' ? builtinTypes.namespace : KindResources[kind];
}

/**
 * Every write the controllers make goes through here, so that
 * `flotilla_writes_total{kind, verb, reason}` accounts for each one: the
 * "zero needless writes" promise is checked against this counter. Reasons
 * are CamelCase and say why the write was needed.
 */
export class Writer {
  readonly #client: WriteClient;
  readonly #recent: RecentWrites;
  readonly #writes: Counter<'kind' | 'verb' | 'reason'>;
  readonly #listeners: Array<(kind: WrittenKind, key: string) => void> = [];

  constructor(client: WriteClient, registry: Registry) {
    this.#client = client;
    const evicted = registeredCounter(registry, {
      name: 'flotilla_recent_writes_evicted_total',
      help: 'Own writes dropped from the recent-writes overlay before the informer cache showed them: reason expired (older than 120 s) or size_limit (the overlay was full). Rising means a watch lags or stalls.',
      labelNames: ['reason'],
    });
    this.#recent = new RecentWrites({ onEvicted: (reason, n) => evicted.labels(reason).inc(n) });
    const recent = this.#recent;
    registeredGauge(registry, {
      name: 'flotilla_recent_writes',
      help: 'Own writes the informer cache has not shown yet (the recent-writes overlay): about the watch lag times the write rate.',
      collect() {
        this.set(recent.size);
      },
    });
    this.#writes = registeredCounter(registry, {
      name: 'flotilla_writes_total',
      help: 'Writes the controllers sent to the API server, by kind, verb (create, apply, patch, delete) and reason (status writes: reason StatusChanged).',
      labelNames: ['kind', 'verb', 'reason'],
    });
  }

  /**
   * Called after each write is remembered (its result now shows in
   * `fresher`): for state derived from what the reconciles read, such as the
   * pool's placement records, which must see our writes as soon as they do.
   */
  onWrite(listener: (kind: WrittenKind, key: string) => void): void {
    this.#listeners.push(listener);
  }

  /** Server-side apply of the fields the controller owns (forced: it is their source of truth). */
  async apply<T extends KubeObject>(kind: WrittenKind, obj: T, reason: string, signal?: AbortSignal): Promise<T> {
    this.#writes.labels(kind, 'apply', reason).inc();
    return this.#remember(kind, await this.#client.apply(typeOf(kind), obj, { force: true, signal }));
  }

  /**
   * Server-side apply of `status` (via the status subresource). Resolves
   * `undefined` when the object is gone: it was deleted after the cache
   * showed it, so there is nothing left to describe and nothing to retry
   * (its deletion event brings the key back to a reconcile that sees it gone).
   */
  async applyStatus<T extends KubeObject>(kind: WrittenKind, obj: T, reason: string, signal?: AbortSignal): Promise<T | undefined> {
    this.#writes.labels(kind, 'apply', reason).inc();
    const applied = await ignoreNotFound(this.#client.apply(typeOf(kind), obj, { force: true, subresource: 'status', signal }));
    return applied === undefined ? undefined : this.#remember(kind, applied);
  }

  async create<T extends KubeObject>(kind: WrittenKind, obj: T, reason: string, signal?: AbortSignal): Promise<T> {
    this.#writes.labels(kind, 'create', reason).inc();
    return this.#remember(kind, await this.#client.create(typeOf(kind), obj, { signal }));
  }

  /**
   * Replaces `metadata.finalizers` with an optimistic lock on the cached
   * resourceVersion (controller-runtime's MergeFromWithOptimisticLock): a
   * concurrent change to the list becomes a 409 and a retry from fresh cache
   * state instead of silently dropping someone else's finalizer.
   */
  async setFinalizers(kind: WrittenKind, obj: KubeObject, finalizers: string[], reason: string, signal?: AbortSignal): Promise<KubeObject> {
    this.#writes.labels(kind, 'patch', reason).inc();
    try {
      const patched = await this.#client.patch(
        typeOf(kind),
        obj.metadata.name ?? '',
        obj.metadata.namespace,
        { metadata: { finalizers, resourceVersion: obj.metadata.resourceVersion } },
        { contentType: PatchType.merge, signal },
      );
      return this.#remember(kind, patched);
    } catch (err) {
      // Releasing a finalizer of an object that is already gone (a stale
      // cache after a restart) has nothing left to do.
      const releasing = finalizers.length < (obj.metadata.finalizers?.length ?? 0);
      if (releasing && isNotFound(err)) return obj;
      throw err;
    }
  }

  async delete(kind: WrittenKind, obj: KubeObject, reason: string, signal?: AbortSignal): Promise<void> {
    this.#writes.labels(kind, 'delete', reason).inc();
    await this.#client.delete(typeOf(kind), obj.metadata.name ?? '', obj.metadata.namespace, {
      propagationPolicy: 'Background',
      ...(obj.metadata.uid ? { preconditions: { uid: obj.metadata.uid } } : {}),
      ...(signal ? { signal } : {}),
    });
    this.#recent.deleted(`${kind}:${objectKey(obj)}`, obj, groupOf(kind, obj));
    this.#notify(kind, objectKey(obj));
  }

  /**
   * The newest state of an object we know: the result of our own latest
   * write while the informer cache has not caught up with it. Reconciles
   * read through this so that a cache lag never causes a repeated write.
   */
  fresher<T extends KubeObject>(kind: WrittenKind, key: string, cached: T | undefined): T | undefined {
    return this.#recent.fresher(`${kind}:${key}`, cached);
  }

  /** Whether this version of the object is the result of our own latest write (see RecentWrites.isOwnWrite). */
  isOwnWrite(kind: WrittenKind, key: string, resourceVersion: string | undefined): boolean {
    return this.#recent.isOwnWrite(`${kind}:${key}`, resourceVersion);
  }

  /**
   * Someone else changed a status we own (status-only writes do not bump the
   * generation, so generation predicates miss them): a reconcile puts ours
   * back. Our own status writes echoing through the watch are recognised by
   * resourceVersion and are not foreign.
   */
  isForeignStatusChange(kind: WrittenKind, old: KubeObject, obj: KubeObject): boolean {
    return predicates.statusChanged(old, obj) && !this.isOwnWrite(kind, objectKey(obj), obj.metadata.resourceVersion);
  }

  /** The informer delivered `obj` (added or updated): our writes of it up to that version are cached now (see RecentWrites.observed). */
  observed(kind: WrittenKind, obj: KubeObject): void {
    this.#recent.observed(`${kind}:${objectKey(obj)}`, obj);
  }

  /** The informer saw `obj` deleted: forget our writes of it that the deletion supersedes (see RecentWrites.observedDeleted). */
  observedDelete(kind: WrittenKind, obj: KubeObject): void {
    this.#recent.observedDeleted(`${kind}:${objectKey(obj)}`, obj);
  }

  /** A Bundle's cached BundleDeployments with our not-yet-cached writes applied. */
  bundleDeploymentsOf<T extends KubeObject>(bundleKey: string, cached: readonly T[]): T[] {
    return this.#recent.merge(`bd-of:${bundleKey}`, cached, (bd) => `BundleDeployment:${objectKey(bd)}`);
  }

  #remember<T extends KubeObject>(kind: WrittenKind, obj: T): T {
    this.#recent.written(`${kind}:${objectKey(obj)}`, obj, groupOf(kind, obj));
    this.#notify(kind, objectKey(obj));
    return obj;
  }

  #notify(kind: WrittenKind, key: string): void {
    for (const listener of this.#listeners) listener(kind, key);
  }
}

/** Our writes of BundleDeployments are grouped by Bundle, as the reconcile reads them. */
function groupOf(kind: WrittenKind, obj: KubeObject): string | undefined {
  const bundleKey = kind === 'BundleDeployment' ? owningBundleKey(obj) : undefined;
  return bundleKey === undefined ? undefined : `bd-of:${bundleKey}`;
}
