/**
 * What the agent applied, as it is now on the downstream cluster: one
 * informer per applied kind, label-selected on the ApplySet membership label
 * so it never caches the rest of the cluster. Every change to a member
 * (someone edits or deletes it, its controller updates its status) is mapped
 * to the BundleDeployment owning it, which re-evaluates drift and readiness.
 */
import { Emitter, type EventSource } from '../runtime/watches.ts';
import type { InformerFactory, Informer } from '../runtime/informer/informer-factory.ts';
import { resourceLabel, type KubeObject, type ResourceType } from '../runtime/kube/resource.ts';
import { ApplySetKeys } from './apply/types.ts';

const APPLYSET_PART_OF_LABEL = ApplySetKeys.partOf;

/** Some member of the ApplySet `applySetId` changed. */
export interface MemberEvent {
  readonly applySetId: string;
}

/** Fields the agent never reads: dropping them keeps the caches small. */
function slim<T extends KubeObject>(obj: T): T {
  const { managedFields: _managed, ...metadata } = obj.metadata;
  const annotations = metadata.annotations;
  if (annotations && 'kubectl.kubernetes.io/last-applied-configuration' in annotations) {
    const { 'kubectl.kubernetes.io/last-applied-configuration': _last, ...rest } = annotations;
    metadata.annotations = rest;
  }
  return { ...obj, metadata };
}

/** resourceVersions are opaque, but one etcd's are increasing integers; anything else compares as unknown. */
function numericRv(rv: string | undefined): bigint | undefined {
  return rv && /^\d+$/.test(rv) ? BigInt(rv) : undefined;
}

export class LiveObjects {
  readonly #informers: InformerFactory;
  readonly #byType = new Map<string, Informer<KubeObject>>();
  readonly #events = new Emitter<MemberEvent>();

  constructor(informers: InformerFactory) {
    this.#informers = informers;
  }

  /** Member changes, for the agent's watch. */
  get events(): EventSource<MemberEvent> {
    return this.#events;
  }

  get kinds(): number {
    return this.#byType.size;
  }

  /** Starts watching `type` (once). */
  watch(type: ResourceType): void {
    const label = resourceLabel(type);
    if (this.#byType.has(label)) return;
    const informer = this.#informers.for<KubeObject>(type, { labelSelector: APPLYSET_PART_OF_LABEL, transform: slim });
    this.#byType.set(label, informer);
    const emit = (obj: KubeObject) => {
      const id = obj.metadata.labels?.[APPLYSET_PART_OF_LABEL];
      if (id) this.#events.emit({ applySetId: id });
    };
    informer.store.addHandler({
      onAdd: (obj) => emit(obj),
      onUpdate: (old, obj, resync) => {
        if (resync) return;
        emit(obj);
        // Relabelled away from its ApplySet: the old owner lost a member.
        const before = old.metadata.labels?.[APPLYSET_PART_OF_LABEL];
        if (before && before !== obj.metadata.labels?.[APPLYSET_PART_OF_LABEL]) this.#events.emit({ applySetId: before });
      },
      onDelete: (obj) => emit(obj),
    });
  }

  /** Whether the watch of `type` has completed its first LIST (before that, absence proves nothing). */
  synced(type: ResourceType): boolean {
    return this.#byType.get(resourceLabel(type))?.reflector.hasSynced() ?? false;
  }

  /**
   * Resolves once the watches of `types` have listed (or after `timeoutMs`):
   * a status written right after an apply then already says whether the
   * resources are watched, instead of a second write a moment later.
   */
  async whenSynced(types: readonly ResourceType[], timeoutMs: number): Promise<void> {
    const pending = types.map((t) => this.#byType.get(resourceLabel(t))?.reflector).filter((r) => r !== undefined && !r.hasSynced());
    if (pending.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(pending.map((r) => r!.synced)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]).finally(() => clearTimeout(timer));
  }

  /**
   * The newest we know of an object we applied (`applied`: the apply's
   * answer): the cache's copy once it has caught up with the apply, the
   * apply's answer until then, and `undefined` once the watch has moved past
   * the apply without the object (deleted). Without this, a status written
   * right after an apply would report the object missing, and a moment later
   * ready: two writes where one says it all.
   */
  current(type: ResourceType, applied: KubeObject): KubeObject | undefined {
    const informer = this.#byType.get(resourceLabel(type));
    if (!informer || !informer.reflector.hasSynced()) return applied;
    const { namespace, name } = applied.metadata;
    const cached = informer.store.get(type.namespaced && namespace ? `${namespace}/${name}` : (name ?? ''));
    const appliedRv = numericRv(applied.metadata.resourceVersion);
    if (cached) {
      const cachedRv = numericRv(cached.metadata.resourceVersion);
      return appliedRv !== undefined && cachedRv !== undefined && cachedRv < appliedRv ? applied : cached;
    }
    const seenRv = numericRv(informer.reflector.lastResourceVersion);
    return appliedRv !== undefined && seenRv !== undefined && seenRv < appliedRv ? applied : undefined;
  }
}
