import { Finalizer, Kind } from '../api/constants.ts';
import type { ReconcileContext } from '../runtime/actors/index.ts';
import { ApiError } from '../runtime/errors.ts';
import { Index, type PlacementContext } from './placement-context.ts';

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
    try {
      let current: typeof content = content;
      if (finalizers.includes(Finalizer.ContentInUse)) {
        current = (await ctx.writer.setFinalizers(Kind.Content, content, finalizers.filter((f) => f !== Finalizer.ContentInUse), 'Unreferenced', rc.signal)) as typeof content;
      }
      if (!current.metadata.deletionTimestamp) await ctx.writer.delete(Kind.Content, current, 'Unreferenced', rc.signal);
    } catch (err) {
      if (!(err instanceof ApiError && err.statusCode === 404)) throw err;
    }
  }
}
