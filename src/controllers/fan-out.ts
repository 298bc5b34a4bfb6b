import type { Labels } from '../labels/selector.ts';
import { targetDependencies } from '../placement/target-dependencies.ts';
import type { SelectorMatchPool } from '../runtime/pool/index.ts';
import { objectKey } from '../runtime/kube/resource.ts';
import type { Logger } from '../observability/logger.ts';
import { Index, type BundleObject, type ClusterGroupObject, type PlacementContext } from './placement-context.ts';

const GROUP_PREFIX = 'group\u0000';
const BUNDLE_SEPARATOR = '\u0000';

export interface FanOutTargets {
  bundles: Set<string>;
  groups: Set<string>;
}

/**
 * Finds the Bundles (and ClusterGroups) a Cluster change may affect, through
 * the selector index replicated into the pool's workers: every
 * `clusterSelector` of every Bundle target and every ClusterGroup's member
 * selector is registered there, per workspace, and a Cluster label change
 * asks which of them flip. Nothing re-matches every Bundle on the main
 * thread; small workspaces are answered inline by the pool's fast path.
 */
export class ClusterFanOut {
  readonly #ctx: PlacementContext;
  readonly #pool: SelectorMatchPool;
  readonly #log: Logger;
  /** Selector ids registered per Bundle, to drop stale ones when targets change. */
  readonly #registered = new Map<string, string[]>();

  constructor(ctx: PlacementContext, pool: SelectorMatchPool, log: Logger) {
    this.#ctx = ctx;
    this.#pool = pool;
    this.#log = log;
  }

  /** Keeps the index in step with a Bundle's targets (call on add/update). */
  bundleChanged(bundle: BundleObject): void {
    const key = objectKey(bundle);
    const workspace = bundle.metadata.namespace ?? '';
    const ids: string[] = [];
    for (const dep of targetDependencies(bundle).clusterSelectors) {
      const id = `${key}${BUNDLE_SEPARATOR}${dep.field}`;
      this.#pool.upsertSelector(id, workspace, dep.selector);
      ids.push(id);
    }
    for (const stale of this.#registered.get(key) ?? []) if (!ids.includes(stale)) this.#pool.removeSelector(stale);
    if (ids.length > 0) this.#registered.set(key, ids);
    else this.#registered.delete(key);
  }

  bundleDeleted(bundle: BundleObject): void {
    const key = objectKey(bundle);
    for (const id of this.#registered.get(key) ?? []) this.#pool.removeSelector(id);
    this.#registered.delete(key);
  }

  groupChanged(group: ClusterGroupObject): void {
    this.#pool.upsertSelector(GROUP_PREFIX + objectKey(group), group.metadata.namespace ?? '', group.spec?.selector ?? null);
  }

  groupDeleted(group: ClusterGroupObject): void {
    this.#pool.removeSelector(GROUP_PREFIX + objectKey(group));
  }

  /**
   * Bundles and groups whose result may differ between `before` and `after`
   * (either may be null: the Cluster appeared or went away).
   */
  async affected(workspace: string, clusterName: string, before: Labels | null, after: Labels | null): Promise<FanOutTargets> {
    const out: FanOutTargets = { bundles: new Set(), groups: new Set() };
    let ids: string[];
    try {
      ids = await this.#pool.selectorsChangedBetween(workspace, before, after);
    } catch (err) {
      // Never lose a fan-out: without an answer, every Bundle and group of
      // the workspace is a candidate.
      this.#log.warn({ err: (err as Error).message, workspace }, 'selector index query failed; fanning out to the whole workspace');
      for (const key of this.#ctx.bundles.store.indexKeys(Index.namespace, workspace)) out.bundles.add(key);
      for (const key of this.#ctx.clusterGroups.store.indexKeys(Index.namespace, workspace)) out.groups.add(key);
      return out;
    }
    for (const id of ids) {
      if (id.startsWith(GROUP_PREFIX)) {
        const groupKey = id.slice(GROUP_PREFIX.length);
        out.groups.add(groupKey);
        for (const b of this.#ctx.bundles.store.indexKeys(Index.bundleGroupRef, groupKey)) out.bundles.add(b);
        // Group selectors pick groups by the group's own labels; a member
        // change of any group can matter to them.
        for (const b of this.#ctx.bundles.store.indexKeys(Index.bundleGroupSelector, workspace)) out.bundles.add(b);
      } else {
        out.bundles.add(id.slice(0, id.indexOf(BUNDLE_SEPARATOR)));
      }
    }
    // `clusterName` criteria flip only when the Cluster appears or goes.
    if (before === null || after === null) {
      for (const b of this.#ctx.bundles.store.indexKeys(Index.bundleClusterRef, `${workspace}/${clusterName}`)) out.bundles.add(b);
    }
    return out;
  }
}
