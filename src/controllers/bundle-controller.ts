import { ConditionStatus, ConditionType, Finalizer, Kind, Label } from '../api/constants.ts';
import type { BundleStatus } from '../api/bundle.ts';
import { contentDigest } from '../api/content-name.ts';
import { bundleDeploymentID, desiredBundleDeployment, type BundleDeploymentUpdate } from '../placement/bundle-deployments.ts';
import { performance } from 'node:perf_hooks';
import { plannerFor, type PlacementPlanner } from './placement-planner.ts';
import { validateBundleResources } from '../placement/bundle-validation.ts';
import { findCondition, type ConditionUpdate } from '../placement/conditions.ts';
import { planRollout, rolloutCondition } from '../placement/rollout.ts';
import type { BundleProblem } from '../placement/problems.ts';
import { computeBundleStatus, problemStatement, statusEqual } from '../placement/summary.ts';
import { bundleTransitions } from '../placement/transitions.ts';
import type { ReconcileContext, ReconcileResult } from '../runtime/actors/index.ts';
import { ignoreAlreadyExists, ignoreNotFound } from '../runtime/errors.ts';
import type { KubeObject } from '../runtime/kube/resource.ts';
import { splitKey } from '../runtime/kube/resource.ts';
import { forEachLimit } from './parallel.ts';
import { withoutStalled } from './dead-letter.ts';
import { offboardBundle, retainsOrphans } from './offboarding.ts';
import { isInvalidInputReason } from './invalid-objects.ts';
import { owningBundleKey } from '../placement/bundle-deployments.ts';
import { predicates } from '../runtime/informer/event-handlers.ts';
import type { Store } from '../runtime/informer/store.ts';
import { objectKey } from '../runtime/kube/resource.ts';
import { forObjects, Lane, objectEvents, requests, watch, type ObjectEvent } from '../runtime/watches.ts';
import type { PlacementController, PlacementSources } from './controller-definition.ts';
import type { FanOutTargets } from './fan-out.ts';
import {
  desiredContentName,
  Index,
  type BundleDeploymentObject,
  type BundleObject,
  type ClusterGroupObject,
  type ContentObject,
  PlacementContext,
} from './placement-context.ts';
import type { WorkspaceChange } from './workspace-events.ts';

/** Writes of one Bundle reconcile run this many at a time. */
const WRITE_PARALLELISM = 16;
/** Delay of the status follow-up after BundleDeployment writes (it runs deferred: after other Bundles' writes). */
const STATUS_AFTER_DEPLOYMENTS_MS = 50;
/**
 * Validation results by Content name: parsing megabytes of YAML once, not per
 * reconcile. Sized above the Bundles of a large fleet and evicting the least
 * recently used: with 2,048 entries and insertion-order eviction, a fan-out
 * over 3,000 Bundles re-parsed every Bundle's YAML (15% of the controller's
 * CPU in the label-flip profile). Valid Contents share one empty result.
 */
const VALIDATION_MEMO_SIZE = 32_768;
const NO_PROBLEMS: readonly BundleProblem[] = Object.freeze([]);

/**
 * Bundle: targets → desired set → Content + BundleDeployments → summary.
 * Reads only the informer caches, writes only differences, and writes its
 * status only when it changed.
 */
export class BundleReconciler {
  readonly #ctx: PlacementContext;
  readonly #planner: PlacementPlanner;
  readonly #validation = new Map<string, readonly BundleProblem[]>();
  /** Content creates in flight, by name: Bundles sharing a Content wait for one create. */
  readonly #contentCreates = new Map<string, Promise<void>>();

  constructor(ctx: PlacementContext) {
    this.#ctx = ctx;
    this.#planner = plannerFor(ctx);
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

    // Placement + diff run on the planner's records (inline, or in a worker for
    // large workspaces) while the Content is ensured; the main thread then
    // builds only the objects it writes. `mainThreadMs` sums the wall time of
    // the step's synchronous parts (nothing waits inside them; the thread CPU
    // clock only advances in scheduler ticks, too coarse for one reconcile).
    let mainThreadMs = -performance.now();
    const pendingPlan = this.#planner.plan({
      bundle: {
        name: bundle.metadata.name,
        namespace: workspace,
        targets: bundle.spec.targets ?? null,
        options: bundle.spec.options ?? null,
        paused: bundle.spec.paused === true,
      },
      ...(validContent ? { contentName: validContent } : {}),
    });
    mainThreadMs += performance.now();
    if (validContent) await this.#ensureContent(bundle, validContent, rc.signal);
    const plan = await pendingPlan;
    mainThreadMs -= performance.now();
    const targeted = new Set(plan.desired);
    const problems = [...contentProblems, ...plan.problems];

    let desiredDeploymentID: string | undefined;
    let wroteDeployments = false;
    let rollout: ConditionUpdate | undefined;
    if (validContent) {
      const desiredOn = (clusterName: string) => {
        const cluster = ctx.clusters.store.get(`${workspace}/${clusterName}`);
        return cluster && desiredBundleDeployment({ bundle, cluster, contentName: validContent });
      };
      const fresh = (key: string) => ctx.writer.fresher(Kind.BundleDeployment, key, ctx.bundleDeployments.store.get(key));
      // The plan names what changed; a Cluster or BundleDeployment gone since is left to the reconcile its event brings.
      const create = plan.create.map(desiredOn).filter((bd) => bd !== undefined);
      const updates: BundleDeploymentUpdate<BundleDeploymentObject>[] = [];
      for (const u of plan.update) {
        const have = fresh(u.key);
        const want = desiredOn(u.cluster);
        if (have && want) updates.push({ desired: want, existing: have, changes: u.changes });
      }
      const remove = plan.delete.map(fresh).filter((bd) => bd !== undefined);
      desiredDeploymentID = bundleDeploymentID(bundle, validContent);
      // maxUnavailable holds back updates to a new deployment ID (placement/rollout.ts).
      const rolloutPlan = planRollout({
        updates,
        targetedDeployments: existing.filter((bd) => targeted.has(bd.metadata.labels?.[Label.ClusterName] ?? '')),
        targeted: targeted.size,
        maxUnavailable: bundle.spec.rolloutStrategy?.maxUnavailable,
        deploymentID: desiredDeploymentID,
      });
      rollout = rolloutCondition(rolloutPlan, targeted.size, findCondition(bundle.status?.conditions, ConditionType.Rollout) !== undefined);
      mainThreadMs += performance.now();
      await forEachLimit(create, WRITE_PARALLELISM, (bd) => ctx.writer.apply(Kind.BundleDeployment, bd as KubeObject, 'TargetMatched', rc.signal));
      await forEachLimit(rolloutPlan.proceed, WRITE_PARALLELISM, (u) =>
        ctx.writer.apply(Kind.BundleDeployment, u.desired as KubeObject, u.changes.some((c) => c.startsWith('spec.')) ? 'SpecChanged' : 'LabelsChanged', rc.signal),
      );
      await this.#deleteAll(remove, 'TargetUnmatched', rc.signal);
      wroteDeployments = create.length + rolloutPlan.proceed.length + remove.length > 0;
    } else {
      mainThreadMs += performance.now();
    }
    this.#planner.observeMainThread(mainThreadMs / 1000);

    const status = computeBundleStatus({
      bundle: { ...bundle, status: withoutStalled(bundle.status) },
      targetedClusters: plan.desired,
      excludedClusters: plan.excluded,
      bundleDeployments: existing,
      desiredDeploymentID,
      contentName: validContent,
      problems,
      rollout,
      now: new Date(),
    });
    if (statusEqual(status, bundle.status)) return;
    // BundleDeployments first, summaries after: when a Cluster label flips
    // thousands of Bundles, their status writes would otherwise share the
    // API server with the BundleDeployment writes and double the time until
    // the last BundleDeployment exists (Fleet #3163 is about exactly that
    // time). The status is written by a deferred follow-up, which runs once
    // no other Bundle's writes wait (at the latest after
    // concurrency.maxSummaryDeferralSeconds) and also sees the
    // BundleDeployments just written; still one status write.
    if (wroteDeployments) return { requeueAfterMs: STATUS_AFTER_DEPLOYMENTS_MS, requeuePriority: 'deferred' };
    const { namespace, name } = splitKey(rc.key);
    const written = await ctx.writer.applyStatus(Kind.Bundle, { metadata: { name, namespace }, status } as KubeObject, 'StatusChanged', rc.signal);
    if (written) {
      this.#reportProblems(bundle, bundle.status, status);
      for (const e of bundleTransitions(bundle.status, status)) void ctx.events.recordBestEffort(bundle, e.type, e.reason, e.note);
    }
  }

  /** Validation of the resources, memoised by their content hash. */
  #validate(bundle: BundleObject, contentName: string | undefined): readonly BundleProblem[] {
    const key = contentName ? `${contentName}\u0000${bundle.spec.options?.defaultNamespace ?? ''}` : undefined;
    const cached = key ? this.#validation.get(key) : undefined;
    if (cached) {
      // Least recently used goes first: a hit moves to the end.
      this.#validation.delete(key!);
      this.#validation.set(key!, cached);
      return cached;
    }
    const found = validateBundleResources(bundle.spec.resources, { defaultNamespace: bundle.spec.options?.defaultNamespace });
    const problems = found.length === 0 ? NO_PROBLEMS : found;
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
    // It may exist already (created before our cache saw it, e.g. by the
    // previous leader): shared, nothing to do.
    await ignoreAlreadyExists(
      this.#ctx.writer.create(
        Kind.Content,
        {
          metadata: { name: contentName, finalizers: [Finalizer.ContentInUse] },
          spec: { sha256: contentDigest(bundle.spec.resources ?? []), resources: bundle.spec.resources ?? [] },
        } as KubeObject,
        'ContentCreated',
        signal,
      ),
    );
  }

  async #deleteAll(bds: readonly KubeObject[], reason: string, signal: AbortSignal): Promise<void> {
    const live = bds.filter((bd) => !bd.metadata.deletionTimestamp);
    await forEachLimit(live, WRITE_PARALLELISM, (bd) => ignoreNotFound(this.#ctx.writer.delete(Kind.BundleDeployment, bd, reason, signal)));
  }

  /**
   * A Warning Event when the Bundle newly has a problem: not on every
   * reconcile, and not when only the counts in the message moved (a Cluster
   * joining the workspace does not make an invalid Bundle newly invalid).
   */
  #reportProblems(bundle: BundleObject, previous: BundleStatus | undefined, next: BundleStatus): void {
    for (const type of [ConditionType.Ready, ConditionType.Targeted]) {
      const now = findCondition(next.conditions, type);
      if (!now || now.status !== ConditionStatus.False || !isInvalidInputReason(now.reason)) continue;
      const before = findCondition(previous?.conditions, type);
      if (before?.status === now.status && before.reason === now.reason && problemStatement(before) === problemStatement(now)) continue;
      void this.#ctx.events.record(bundle, 'Warning', now.reason, now.message);
    }
  }
}

/**
 * The Bundle controller: its Bundles, their BundleDeployments, the
 * ClusterGroups and Contents they use, the Clusters the fan-out finds, and
 * workspace changes.
 */
export function bundleController(ctx: PlacementContext, sources: PlacementSources): PlacementController {
  const reconciler = new BundleReconciler(ctx);
  const store = ctx.bundles.store;
  const groupUsers = (group: ClusterGroupObject) => [
    requests(store.indexKeys(Index.bundleGroupRef, objectKey(group)), Lane.dependency),
    requests(store.indexKeys(Index.bundleGroupSelector, group.metadata.namespace ?? ''), Lane.dependency),
  ].filter((r) => r !== undefined);
  return {
    name: 'bundle',
    reconcile: (rc) => reconciler.reconcile(rc),
    reportsOn: { kind: Kind.Bundle, store: store as unknown as Store<KubeObject> },
    watches: [
      forObjects(
        ctx.bundles,
        (old, b) =>
          predicates.generationChanged(old, b) ||
          predicates.deletionStarted(old, b) ||
          predicates.finalizersChanged(old, b) ||
          ctx.writer.isForeignStatusChange(Kind.Bundle, old, b),
      ),
      watch(objectEvents(ctx.clusterGroups), (e: ObjectEvent<ClusterGroupObject>) => {
        if (e.type === 'added') return e.initialList ? undefined : groupUsers(e.obj);
        if (e.type === 'deleted') return groupUsers(e.obj);
        if (e.resync) return undefined;
        const meaningful = predicates.generationChanged(e.old, e.obj) || predicates.labelsChanged(e.old, e.obj) || predicates.deletionStarted(e.old, e.obj);
        return meaningful ? groupUsers(e.obj) : undefined;
      }),
      watch(objectEvents(ctx.bundleDeployments), (e: ObjectEvent<BundleDeploymentObject>) => {
        const owner = owningBundleKey(e.obj);
        if (e.type === 'added') {
          if (!e.initialList) {
            // The echo of our own create: the Bundle that wrote it only has
            // its summary left to do, which must not delay other Bundles' writes.
            const own = ctx.writer.isOwnWrite(Kind.BundleDeployment, objectKey(e.obj), e.obj.metadata.resourceVersion);
            return requests(owner, own ? Lane.ownEcho : Lane.dependency);
          }
          // At start-up every Bundle is enqueued from its own list, but a
          // BundleDeployment whose Bundle is gone (its finalizer removed by
          // hand, or a write of a killed replica that landed after the
          // cleanup) is reachable only through that Bundle's key: enqueue it,
          // or the orphan outlives its Bundle forever.
          return owner !== undefined && store.get(owner) === undefined ? requests(owner, Lane.initial) : undefined;
        }
        if (e.type === 'updated' && e.resync) return undefined;
        return requests(owner, Lane.dependency);
      }),
      watch(objectEvents(ctx.contents), (e: ObjectEvent<ContentObject>) =>
        e.type === 'deleted' ? requests(store.indexKeys(Index.bundleContent, objectKey(e.obj)), Lane.dependency) : undefined,
      ),
      watch(sources.fanOut, ({ bundles }: FanOutTargets) => requests(bundles, Lane.dependency)),
      // Onboarding looks at every Bundle again, and at every Bundle that has
      // BundleDeployments but is gone (deleted while the namespace was
      // offboarded with retain): their keys sweep the orphans.
      watch(sources.workspaceChanges, ({ workspace }: WorkspaceChange) => [
        requests(store.indexKeys(Index.namespace, workspace), Lane.dependency)!,
        requests(goneOwners(ctx, workspace), Lane.dependency)!,
      ]),
    ],
  };
}

/** Keys of Bundles of `workspace` that BundleDeployments name but the cache no longer has. */
function goneOwners(ctx: PlacementContext, workspace: string): Set<string> {
  const gone = new Set<string>();
  for (const bd of ctx.bundleDeployments.store.byIndex(Index.bdWorkspace, workspace)) {
    const owner = owningBundleKey(bd);
    if (owner !== undefined && ctx.bundles.store.get(owner) === undefined) gone.add(owner);
  }
  return gone;
}
