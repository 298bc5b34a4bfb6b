import { ConditionStatus, ConditionType, Finalizer, Kind } from '../api/constants.ts';
import type { BundleStatus } from '../api/bundle.ts';
import { contentDigest } from '../api/content-name.ts';
import { bundleDeploymentID, desiredBundleDeployment, diffBundleDeployments } from '../placement/bundle-deployments.ts';
import { validateBundleResources } from '../placement/bundle-validation.ts';
import { findCondition } from '../placement/conditions.ts';
import { deploymentNamespaceFor } from '../placement/deployment-namespace.ts';
import type { BundleProblem } from '../placement/problems.ts';
import { computeBundleStatus, statusEqual } from '../placement/summary.ts';
import { computePlacement } from '../placement/targeting.ts';
import type { ReconcileContext, ReconcileResult } from '../runtime/actors/index.ts';
import { ApiError } from '../runtime/errors.ts';
import type { KubeObject } from '../runtime/kube/resource.ts';
import { splitKey } from '../runtime/kube/resource.ts';
import { forEachLimit } from './parallel.ts';
import { withoutStalled } from './dead-letter.ts';
import { offboardBundle, retainsOrphans } from './offboarding.ts';
import { isInvalidInputReason } from './invalid-objects.ts';
import { desiredContentName, Index, type BundleObject, type PlacementContext } from './placement-context.ts';

/** Writes of one Bundle reconcile run this many at a time. */
const WRITE_PARALLELISM = 16;
/** Delay of the status follow-up after BundleDeployment writes (it runs in the low lane). */
const STATUS_AFTER_DEPLOYMENTS_MS = 50;
/** Validation results by Content name: parsing megabytes of YAML once, not per reconcile. */
const VALIDATION_MEMO_SIZE = 2048;

/**
 * Bundle: targets → desired set → Content + BundleDeployments → summary.
 * Reads only the informer caches, writes only differences, and writes its
 * status only when it changed.
 */
export class BundleReconciler {
  readonly #ctx: PlacementContext;
  readonly #validation = new Map<string, readonly BundleProblem[]>();
  /** Content creates in flight, by name: Bundles sharing a Content wait for one create. */
  readonly #contentCreates = new Map<string, Promise<void>>();

  constructor(ctx: PlacementContext) {
    this.#ctx = ctx;
  }

  async reconcile(rc: ReconcileContext): Promise<ReconcileResult | void> {
    const ctx = this.#ctx;
    const bundle = ctx.writer.fresher(Kind.Bundle, rc.key, ctx.bundles.store.get(rc.key));
    const existing = ctx.writer.bundleDeploymentsOf(rc.key, ctx.bundleDeployments.store.byIndex(Index.bdBundle, rc.key));
    if (!bundle) {
      // Gone without our cleanup (finalizer removed by hand, or never added):
      // its BundleDeployments must not outlive it — unless its namespace was
      // offboarded with `retain`, which leaves them as they are.
      if (retainsOrphans(ctx, splitKey(rc.key).namespace)) return;
      await this.#deleteAll(existing, 'BundleDeleted', rc.signal);
      return;
    }
    if (!ctx.isWorkspace(bundle.metadata.namespace)) return offboardBundle(ctx, bundle, existing, rc.signal);
    const finalizers = bundle.metadata.finalizers ?? [];

    if (bundle.metadata.deletionTimestamp) {
      if (!finalizers.includes(Finalizer.BundleCleanup)) return;
      await this.#deleteAll(existing, 'BundleDeleted', rc.signal);
      if (existing.length > 0) return; // their deletion events bring us back
      await ctx.writer.setFinalizers(Kind.Bundle, bundle, finalizers.filter((f) => f !== Finalizer.BundleCleanup), 'CleanupDone', rc.signal);
      return;
    }
    if (!finalizers.includes(Finalizer.BundleCleanup)) {
      await ctx.writer.setFinalizers(Kind.Bundle, bundle, [...finalizers, Finalizer.BundleCleanup], 'FinalizerAdded', rc.signal);
    }

    const workspace = bundle.metadata.namespace ?? '';
    const contentName = desiredContentName(bundle);
    const contentProblems = this.#validate(bundle, contentName);
    const validContent = contentName !== undefined && contentProblems.length === 0 ? contentName : undefined;

    const clusters = ctx.clusters.store.byIndex(Index.namespace, workspace).filter((c) => !c.metadata.deletionTimestamp);
    const groups = ctx.clusterGroups.store.byIndex(Index.namespace, workspace);
    const placement = computePlacement(bundle, clusters, groups);
    const problems = [...contentProblems, ...placement.problems];

    let desiredDeploymentID: string | undefined;
    let wroteDeployments = false;
    if (validContent) {
      await this.#ensureContent(bundle, validContent, rc.signal);
      const byName = new Map(clusters.map((c) => [c.metadata.name, c]));
      const desired = [];
      for (const name of placement.desired.keys()) {
        const cluster = byName.get(name)!;
        // A BundleDeployment can only be written once its Cluster's
        // deployment namespace exists; the namespace's add event fans out
        // to this Bundle again.
        const nsName = deploymentNamespaceFor(workspace, name);
        const ns = ctx.writer.fresher('Namespace', nsName, ctx.namespaces.store.get(nsName));
        if (!ns || ns.metadata.deletionTimestamp) continue;
        desired.push(desiredBundleDeployment({ bundle, cluster, contentName: validContent }));
      }
      desiredDeploymentID = bundleDeploymentID(bundle, validContent);
      const pausedClusters = new Set(clusters.filter((c) => c.spec?.paused === true).map((c) => c.metadata.name));
      const diff = diffBundleDeployments(desired, existing, { bundlePaused: bundle.spec.paused === true, pausedClusters });
      await forEachLimit(diff.create, WRITE_PARALLELISM, (bd) => ctx.writer.apply(Kind.BundleDeployment, bd as KubeObject, 'TargetMatched', rc.signal));
      await forEachLimit(diff.update, WRITE_PARALLELISM, (u) =>
        ctx.writer.apply(Kind.BundleDeployment, u.desired as KubeObject, u.changes.some((c) => c.startsWith('spec.')) ? 'SpecChanged' : 'LabelsChanged', rc.signal),
      );
      await this.#deleteAll(diff.delete, 'TargetUnmatched', rc.signal);
      wroteDeployments = diff.create.length + diff.update.length + diff.delete.length > 0;
    }

    const status = computeBundleStatus({
      bundle: { ...bundle, status: withoutStalled(bundle.status) },
      targetedClusters: placement.desired.keys(),
      excludedClusters: placement.excluded.size,
      bundleDeployments: existing,
      desiredDeploymentID,
      contentName: validContent,
      problems,
      now: new Date(),
    });
    if (statusEqual(status, bundle.status)) return;
    // BundleDeployments first, summaries after: when a Cluster label flips
    // thousands of Bundles, their status writes would otherwise share the
    // API server with the BundleDeployment writes and double the time until
    // the last BundleDeployment exists (Fleet #3163 is about exactly that
    // time). The status is written by a low-priority follow-up, which also
    // sees the BundleDeployments just written; still one status write.
    if (wroteDeployments) return { requeueAfterMs: STATUS_AFTER_DEPLOYMENTS_MS };
    const { namespace, name } = splitKey(rc.key);
    await ctx.writer.applyStatus(Kind.Bundle, { metadata: { name, namespace }, status } as KubeObject, 'StatusChanged', rc.signal);
    this.#reportProblems(bundle, bundle.status, status);
  }

  /** Validation of the resources, memoised by their content hash. */
  #validate(bundle: BundleObject, contentName: string | undefined): readonly BundleProblem[] {
    const key = contentName ? `${contentName}\u0000${bundle.spec.options?.defaultNamespace ?? ''}` : undefined;
    const cached = key ? this.#validation.get(key) : undefined;
    if (cached) return cached;
    const problems = validateBundleResources(bundle.spec.resources, { defaultNamespace: bundle.spec.options?.defaultNamespace });
    if (key) {
      this.#validation.set(key, problems);
      if (this.#validation.size > VALIDATION_MEMO_SIZE) this.#validation.delete(this.#validation.keys().next().value!);
    }
    return problems;
  }

  /**
   * Bundles with the same resources share one Content. Their reconciles run
   * concurrently and all see it missing until the informer delivers it, so
   * one create is made per name and the others wait for it: otherwise each
   * would send a create and get 409 (a needless write per sharing Bundle).
   */
  #ensureContent(bundle: BundleObject, contentName: string, signal: AbortSignal): Promise<void> {
    if (this.#ctx.writer.fresher(Kind.Content, contentName, this.#ctx.contents.store.get(contentName))) return Promise.resolve();
    const inFlight = this.#contentCreates.get(contentName);
    if (inFlight) return inFlight;
    const created = this.#createContent(bundle, contentName, signal).finally(() => this.#contentCreates.delete(contentName));
    this.#contentCreates.set(contentName, created);
    return created;
  }

  async #createContent(bundle: BundleObject, contentName: string, signal: AbortSignal): Promise<void> {
    try {
      await this.#ctx.writer.create(
        Kind.Content,
        {
          metadata: { name: contentName, finalizers: [Finalizer.ContentInUse] },
          spec: { sha256: contentDigest(bundle.spec.resources ?? []), resources: bundle.spec.resources ?? [] },
        } as KubeObject,
        'ContentCreated',
        signal,
      );
    } catch (err) {
      // It exists already (created before our cache saw it, e.g. by the
      // previous leader): shared, nothing to do.
      if (!(err instanceof ApiError && err.statusCode === 409)) throw err;
    }
  }

  async #deleteAll(bds: readonly KubeObject[], reason: string, signal: AbortSignal): Promise<void> {
    const live = bds.filter((bd) => !bd.metadata.deletionTimestamp);
    await forEachLimit(live, WRITE_PARALLELISM, async (bd) => {
      try {
        await this.#ctx.writer.delete(Kind.BundleDeployment, bd, reason, signal);
      } catch (err) {
        if (!(err instanceof ApiError && err.statusCode === 404)) throw err;
      }
    });
  }

  /** A Warning Event when the Bundle newly has a problem (not on every reconcile). */
  #reportProblems(bundle: BundleObject, previous: BundleStatus | undefined, next: BundleStatus): void {
    for (const type of [ConditionType.Ready, ConditionType.Targeted]) {
      const now = findCondition(next.conditions, type);
      if (!now || now.status !== ConditionStatus.False || !isInvalidInputReason(now.reason)) continue;
      const before = findCondition(previous?.conditions, type);
      if (before?.reason === now.reason && before.message === now.message) continue;
      void this.#ctx.events.record(bundle, 'Warning', now.reason, now.message);
    }
  }
}
