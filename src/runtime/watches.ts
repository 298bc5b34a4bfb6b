/**
 * Declarative watches: a controller says what it reconciles and which events
 * lead to which of its keys, the way controller-runtime's builder does
 * (`For`, `Owns`, `Watches(src, EnqueueRequestsFromMapFunc(fn))`) and
 * kube-rs's `Controller::watches`/`owns`. The runtime subscribes the watches
 * and enqueues what they map to; a controller never touches another
 * controller's queue.
 *
 * Lanes: objects from the initial LIST and resyncs go to the low-priority
 * lane, so a user's change is never stuck behind a start-up storm; changes
 * and their consequences to the high one.
 */
import type { EnqueueOptions } from './actors/types.ts';
import { predicates } from './informer/event-handlers.ts';
import type { Store } from './informer/store.ts';
import { objectKey, type KubeObject } from './kube/resource.ts';

/** One informer notification, as one value. */
export type ObjectEvent<T> =
  | { readonly type: 'added'; readonly obj: T; readonly initialList: boolean }
  | { readonly type: 'updated'; readonly old: T; readonly obj: T; readonly resync: boolean }
  | { readonly type: 'deleted'; readonly obj: T };

/** Anything that emits events a controller can map to keys: an informer, the fan-out, workspace changes. */
export interface EventSource<E> {
  subscribe(listener: (event: E) => void): void;
}

/** The events of an informer's store, in the order the store delivers them. */
export function objectEvents<T extends KubeObject>(cache: { readonly store: Store<T> }): EventSource<ObjectEvent<T>> {
  return {
    subscribe: (listener) => {
      cache.store.addHandler({
        onAdd: (obj, initialList) => listener({ type: 'added', obj, initialList }),
        onUpdate: (old, obj, resync) => listener({ type: 'updated', old, obj, resync }),
        onDelete: (obj) => listener({ type: 'deleted', obj }),
      });
    },
  };
}

export const Lane = {
  initial: { priority: 'low', reason: 'initial' },
  resync: { priority: 'low', reason: 'resync' },
  change: { priority: 'high', reason: 'change' },
  dependency: { priority: 'high', reason: 'dependency' },
  /** A consequence of our own write: its follow-up work is bookkeeping (summaries), which waits while other keys' writes are ready (key-scheduler deferral). */
  ownEcho: { priority: 'deferred', reason: 'dependency' },
} as const satisfies Record<string, EnqueueOptions>;

/** Keys to reconcile, with how to enqueue them. */
export interface Requests {
  readonly keys: Iterable<string>;
  readonly lane: EnqueueOptions;
}

/** What a watch maps one event to: nothing, or keys in one lane, or several groups. */
export type MapResult = Requests | readonly Requests[] | undefined;

export interface Watch<E = unknown> {
  readonly source: EventSource<E>;
  readonly map: (event: E) => MapResult;
}

/** Builds a watch with its event type checked, stored type-erased in a controller's list. */
export function watch<E>(source: EventSource<E>, map: (event: E) => MapResult): Watch {
  return { source, map } as Watch;
}

/** Keys in a lane; `undefined` for none, so map functions can return it directly. */
export function requests(keys: Iterable<string> | string | undefined, lane: EnqueueOptions): Requests | undefined {
  if (keys === undefined) return undefined;
  return { keys: typeof keys === 'string' ? [keys] : keys, lane };
}

/**
 * The watch of a controller's own kind (controller-runtime's `For`): the
 * object's key on add and delete, on resync in the low lane, and on update
 * when `changed` says the update matters (by default: spec, labels,
 * finalizers or deletion; status-only writes do not).
 */
export function forObjects<T extends KubeObject>(
  cache: { readonly store: Store<T> },
  changed: (old: T, obj: T) => boolean = (old, obj) =>
    predicates.generationChanged(old, obj) || predicates.labelsChanged(old, obj) || predicates.finalizersChanged(old, obj) || predicates.deletionStarted(old, obj),
): Watch {
  return watch(objectEvents(cache), (e: ObjectEvent<T>) => {
    const key = objectKey(e.obj);
    switch (e.type) {
      case 'added':
        return requests(key, e.initialList ? Lane.initial : Lane.change);
      case 'updated':
        if (e.resync) return requests(key, Lane.resync);
        return changed(e.old, e.obj) ? requests(key, Lane.change) : undefined;
      case 'deleted':
        return requests(key, Lane.change);
    }
  });
}

/** What a controller declares: its reconciler and the events that lead to its keys. */
export interface ControllerDefinition<R> {
  readonly name: string;
  readonly reconcile: R;
  readonly watches: readonly Watch[];
}

/** Something keys can be enqueued on (the controller's key scheduler). */
export interface KeyQueue {
  enqueue(key: string, opts?: EnqueueOptions): void;
}

/** Subscribes each watch and enqueues what it maps events to on `queue`. */
export function subscribeWatches(watches: readonly Watch[], queue: KeyQueue): void {
  for (const w of watches) {
    w.source.subscribe((event) => {
      const result = w.map(event);
      if (result === undefined) return;
      for (const r of Array.isArray(result) ? (result as readonly Requests[]) : [result as Requests]) {
        for (const key of r.keys) queue.enqueue(key, r.lane);
      }
    });
  }
}

/** An event source a component emits into by hand (e.g. results computed asynchronously). */
export class Emitter<E> implements EventSource<E> {
  readonly #listeners: Array<(event: E) => void> = [];

  subscribe(listener: (event: E) => void): void {
    this.#listeners.push(listener);
  }

  emit(event: E): void {
    for (const listener of this.#listeners) listener(event);
  }
}
