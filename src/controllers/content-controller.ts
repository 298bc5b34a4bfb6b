import { Finalizer, Kind } from '../api/constants.ts';
import type { ReconcileContext } from '../runtime/actors/index.ts';
import { ignoreNotFound } from '../runtime/errors.ts';
import { objectKey } from '../runtime/kube/resource.ts';
import { Lane, objectEvents, requests, watch, type ObjectEvent } from '../runtime/watches.ts';
import type { PlacementController } from './controller-definition.ts';
import { desiredContentName, Index, type BundleDeploymentObject, type BundleObject, type ContentObject, type PlacementContext } from './placement-context.ts';

/**
 * Content lifetime: a Content lives while any Bundle's current resources
 * hash to it or any BundleDeployment still points at it (a Bundle whose
 * resources changed keeps the old Content until its BundleDeployments have
 * moved on). Its finalizer, set at creation, keeps a referenced Content from
 * being deleted by hand; once unreferenced, it is released and deleted.
 */
export class ContentReconciler {
  readonly #ctx: PlacementContext;

  constructor(ctx: PlacementContext) {
    this.#ctx = ctx;
  }

  referenced(name: string): boolean {
    return (
      this.#ctx.bundles.store.indexKeys(Index.bundleContent, name).size > 0 ||
      this.#ctx.bundleDeployments.store.indexKeys(Index.bdContent, name).size > 0
    );
  }

  async reconcile(rc: ReconcileContext): Promise<void> {
    const ctx = this.#ctx;
    const content = ctx.writer.fresher(Kind.Content, rc.key, ctx.contents.store.get(rc.key));
    if (!content || this.referenced(rc.key)) return;
    const finalizers = content.metadata.finalizers ?? [];
    await ignoreNotFound(
      (async () => {
        let current: typeof content = content;
        if (finalizers.includes(Finalizer.ContentInUse)) {
          current = (await ctx.writer.setFinalizers(Kind.Content, content, finalizers.filter((f) => f !== Finalizer.ContentInUse), 'Unreferenced', rc.signal)) as typeof content;
        }
        if (!current.metadata.deletionTimestamp) await ctx.writer.delete(Kind.Content, current, 'Unreferenced', rc.signal);
      })(),
    );
  }
}

/** The Content controller: its Contents, and every Bundle or BundleDeployment that stops pointing at one. */
export function contentController(ctx: PlacementContext): PlacementController {
  const reconciler = new ContentReconciler(ctx);
  return {
    name: 'content',
    reconcile: (rc) => reconciler.reconcile(rc),
    watches: [
      watch(objectEvents(ctx.contents), (e: ObjectEvent<ContentObject>) => {
        if (e.type === 'added') return requests(objectKey(e.obj), e.initialList ? Lane.initial : Lane.change);
        if (e.type === 'updated') return requests(objectKey(e.obj), e.resync ? Lane.resync : Lane.change);
        return undefined; // gone: nothing left to release
      }),
      watch(objectEvents(ctx.bundles), (e: ObjectEvent<BundleObject>) => {
        if (e.type === 'deleted') return requests(desiredContentName(e.obj), Lane.dependency);
        if (e.type !== 'updated' || e.resync) return undefined;
        const before = desiredContentName(e.old);
        return before !== undefined && before !== desiredContentName(e.obj) ? requests(before, Lane.dependency) : undefined;
      }),
      watch(objectEvents(ctx.bundleDeployments), (e: ObjectEvent<BundleDeploymentObject>) => {
        if (e.type === 'deleted') return requests(e.obj.spec?.contentName, Lane.dependency);
        if (e.type !== 'updated' || e.resync) return undefined;
        const before = e.old.spec?.contentName;
        return before && before !== e.obj.spec?.contentName ? requests(before, Lane.dependency) : undefined;
      }),
    ],
  };
}
