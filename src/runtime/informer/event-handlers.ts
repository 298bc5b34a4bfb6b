import type { EnqueueOptions } from '../actors/types.ts';
import { objectKey, type KubeObject } from '../kube/resource.ts';
import type { StoreHandler } from './store.ts';

/** Anything keys can be enqueued on (an actor-registry controller). */
export interface Enqueuer {
  enqueue(key: string, opts?: EnqueueOptions): void;
}

/** Decides whether an update is worth a reconcile (controller-runtime's predicates). */
export type UpdatePredicate<T extends KubeObject> = (oldObj: T, newObj: T) => boolean;

export const predicates = {
  /** spec changes bump metadata.generation; status-only writes do not. */
  generationChanged: (a: KubeObject, b: KubeObject) => a.metadata.generation !== b.metadata.generation,
  labelsChanged: (a: KubeObject, b: KubeObject) => !shallowEqual(a.metadata.labels, b.metadata.labels),
  deletionStarted: (a: KubeObject, b: KubeObject) => !a.metadata.deletionTimestamp && !!b.metadata.deletionTimestamp,
  finalizersChanged: (a: KubeObject, b: KubeObject) => !arrayEqual(a.metadata.finalizers, b.metadata.finalizers),
  /** Any change to `status` (the API server serialises a stored object the same way every time). */
  statusChanged: (a: KubeObject, b: KubeObject) => JSON.stringify((a as { status?: unknown }).status) !== JSON.stringify((b as { status?: unknown }).status),
  any:
    <T extends KubeObject>(...ps: Array<UpdatePredicate<T>>): UpdatePredicate<T> =>
    (a, b) =>
      ps.some((p) => p(a, b)),
} as const;

/**
 * Maps informer events to keys on a controller, with the priority lanes the
 * runtime promises: objects from the initial LIST and periodic resyncs go to
 * the low lane (so a user's change is never stuck behind a startup storm),
 * real changes to the high lane. `toKeys` maps an object to the keys to
 * reconcile (itself by default; an owner or dependants otherwise).
 */
export function enqueueHandler<T extends KubeObject>(
  target: Enqueuer,
  opts: {
    toKeys?: (obj: T) => Iterable<string>;
    /** Only updates passing this reach the controller (resyncs always do). */
    updatePredicate?: UpdatePredicate<T>;
    reason?: 'change' | 'dependency';
  } = {},
): StoreHandler<T> {
  const toKeys = opts.toKeys ?? ((obj: T) => [objectKey(obj)]);
  const reason = opts.reason ?? 'change';
  const enqueueAll = (obj: T, options: EnqueueOptions): void => {
    for (const key of toKeys(obj)) target.enqueue(key, options);
  };
  return {
    onAdd: (obj, initialList) => enqueueAll(obj, initialList ? { priority: 'low', reason: 'initial' } : { priority: 'high', reason }),
    onUpdate: (oldObj, newObj, resync) => {
      if (resync) return enqueueAll(newObj, { priority: 'low', reason: 'resync' });
      if (opts.updatePredicate && !opts.updatePredicate(oldObj, newObj)) return;
      enqueueAll(newObj, { priority: 'high', reason });
    },
    onDelete: (obj) => enqueueAll(obj, { priority: 'high', reason }),
  };
}

function shallowEqual(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  if (a === b) return true;
  const ak = a ? Object.keys(a) : [];
  const bk = b ? Object.keys(b) : [];
  if (ak.length !== bk.length) return false;
  for (const k of ak) if (a![k] !== b?.[k]) return false;
  return true;
}

function arrayEqual(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return x.length === y.length && x.every((v, i) => v === y[i]);
}
