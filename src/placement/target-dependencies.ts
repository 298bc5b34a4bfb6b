/**
 * Fan-out support (docs/architecture.md#fan-out): which facts a Bundle's
 * targeting depends on, so that when a Cluster or ClusterGroup changes, only
 * the Bundles whose decision may change are reconciled.
 *
 * A Bundle's decision for a Cluster is a function of the results of its
 * targets' criteria for that Cluster. If no criterion's result changes, the
 * decision cannot change; so "some criterion flips" is a safe (never
 * missing) and tight test. The criteria are:
 *   - `clusterName`: depends on the Cluster's existence only;
 *   - `clusterSelector`: a selector on Cluster labels;
 *   - `clusterGroup`: the named group's member selector on Cluster labels,
 *     and on that group's existence and selector;
 *   - `clusterGroupSelector`: a selector on ClusterGroup labels, and the
 *     member selectors of the groups it selects.
 *
 * `targetDependencies` lists these per Bundle. A controller can file the
 * selectors in a `SelectorIndex` (ids like `<ns>/<bundle>#<field>`, one
 * partition per workspace) and ask `selectorsChangedBetween` on a relabel,
 * or call the predicates below for a direct check.
 */
import type { CompiledSelector, Labels } from '../labels/selector.ts';
import { tryCompileSelector } from '../labels/selector.ts';
import { childPath } from '../labels/validation.ts';
import { jsonEqual } from './json-equal.ts';
import { compileTargets } from './target-criteria.ts';
import { isBeingDeleted, type BundleTargetsFacts, type ClusterFacts, type ClusterGroupFacts } from './targeting.ts';

/** A selector a Bundle's targeting evaluates, and the field it comes from. */
export interface SelectorDependency {
  /** e.g. `spec.targets[2].clusterSelector`; unique within the Bundle. */
  readonly field: string;
  readonly selector: CompiledSelector;
}

export interface TargetDependencies {
  readonly workspace: string;
  /** `clusterName` criteria (sorted, unique). */
  readonly clusterNames: readonly string[];
  /** `clusterSelector` criteria: selectors on Cluster labels. */
  readonly clusterSelectors: readonly SelectorDependency[];
  /** `clusterGroup` criteria (sorted, unique), also of targets that can never match. */
  readonly clusterGroupNames: readonly string[];
  /** `clusterGroupSelector` criteria: selectors on ClusterGroup labels. */
  readonly clusterGroupSelectors: readonly SelectorDependency[];
}

/**
 * The facts `bundle`'s targets depend on. Targets that can never match
 * (no criterion, or an invalid one) are left out: their result never flips.
 */
export function targetDependencies(bundle: BundleTargetsFacts): TargetDependencies {
  const workspace = bundle.metadata.namespace ?? '';
  const clusterNames = new Set<string>();
  const clusterGroupNames = new Set<string>();
  const clusterSelectors: SelectorDependency[] = [];
  const clusterGroupSelectors: SelectorDependency[] = [];
  for (const t of compileTargets(bundle.spec.targets).targets) {
    // The Bundle's status names a missing group even on a target that can
    // never match, so the group's coming and going concerns it all the same.
    if (t.clusterGroup !== undefined) clusterGroupNames.add(t.clusterGroup);
    if (t.matchesNothing) continue;
    if (t.clusterName !== undefined) clusterNames.add(t.clusterName);
    if (t.clusterSelector !== undefined) {
      clusterSelectors.push({ field: childPath(t.field, 'clusterSelector'), selector: t.clusterSelector });
    }
    if (t.clusterGroupSelector !== undefined) {
      clusterGroupSelectors.push({ field: childPath(t.field, 'clusterGroupSelector'), selector: t.clusterGroupSelector });
    }
  }
  return {
    workspace,
    clusterNames: [...clusterNames].sort(),
    clusterSelectors,
    clusterGroupNames: [...clusterGroupNames].sort(),
    clusterGroupSelectors,
  };
}

/** Whether the Bundle uses ClusterGroups at all (if not, group changes never concern it). */
export function dependsOnClusterGroups(deps: TargetDependencies): boolean {
  return deps.clusterGroupNames.length > 0 || deps.clusterGroupSelectors.length > 0;
}

/**
 * Whether a change of one Cluster (`before` → `after`; `null` for "did not
 * exist" / "was deleted") may change the Bundle's decision for it. `groups`
 * are the workspace's ClusterGroups (others are ignored). A Cluster of
 * another namespace, or one being deleted, counts as absent, as in
 * `decideForCluster`.
 */
export function clusterChangeAffectsBundle(
  deps: TargetDependencies,
  before: ClusterFacts | null,
  after: ClusterFacts | null,
  groups: Iterable<ClusterGroupFacts>,
): boolean {
  const old = visibleLabels(deps, before);
  const now = visibleLabels(deps, after);
  if (old === undefined && now === undefined) return false;

  const name = (after ?? before)?.metadata.name ?? '';
  // Name criteria only see existence (a Cluster's name never changes).
  if ((old === undefined) !== (now === undefined) && deps.clusterNames.includes(name)) return true;

  const flips = (selector: CompiledSelector) =>
    (old !== undefined && selector.matches(old)) !== (now !== undefined && selector.matches(now));
  if (deps.clusterSelectors.some((d) => flips(d.selector))) return true;

  if (!dependsOnClusterGroups(deps)) return false;
  for (const group of groups) {
    if (group.metadata.namespace !== deps.workspace) continue;
    if (!groupReferenced(deps, group)) continue;
    const members = memberSelector(group);
    if (members !== undefined && flips(members)) return true;
  }
  return false;
}

/**
 * Whether a change of one ClusterGroup (`null` for absent) may change the
 * Bundle's decisions: the group is (or was) referenced by name or selected
 * by a `clusterGroupSelector`, and its existence, member selector or the
 * set of Bundle selectors selecting it changed. Status-only changes of a
 * referenced group are not a reason to reconcile.
 */
export function clusterGroupChangeAffectsBundle(
  deps: TargetDependencies,
  before: ClusterGroupFacts | null,
  after: ClusterGroupFacts | null,
): boolean {
  const old = before !== null && before.metadata.namespace === deps.workspace ? before : null;
  const now = after !== null && after.metadata.namespace === deps.workspace ? after : null;
  const referencedBefore = old !== null && groupReferenced(deps, old);
  const referencedAfter = now !== null && groupReferenced(deps, now);
  if (!referencedBefore && !referencedAfter) return false;
  if (old === null || now === null) return true;
  if (old.metadata.name !== now.metadata.name) return true;
  if (!jsonEqual(old.spec?.selector ?? null, now.spec?.selector ?? null)) return true;
  const oldLabels = old.metadata.labels ?? {};
  const newLabels = now.metadata.labels ?? {};
  return deps.clusterGroupSelectors.some((d) => d.selector.matches(oldLabels) !== d.selector.matches(newLabels));
}

/** The facts of a Cluster whose change can concern Bundles (an API `Cluster` fits). */
export interface ClusterFanOutFacts extends ClusterFacts {
  readonly spec?: { readonly paused?: boolean } | null;
  readonly status?: { readonly namespace?: string } | null;
}

/**
 * Event filter for Cluster updates: status heartbeats must never fan out
 * (Fleet #3796; docs/architecture.md#fan-out). True when labels, spec, the
 * deployment namespace (`status.namespace`: BundleDeployments can only be
 * created once it exists) or deletion state differ.
 */
export function clusterChangeTriggersFanOut(before: ClusterFanOutFacts, after: ClusterFanOutFacts): boolean {
  return (
    before.metadata.name !== after.metadata.name ||
    before.metadata.namespace !== after.metadata.namespace ||
    isBeingDeleted(before) !== isBeingDeleted(after) ||
    !jsonEqual(before.metadata.labels ?? {}, after.metadata.labels ?? {}) ||
    !jsonEqual(before.spec ?? {}, after.spec ?? {}) ||
    (before.status?.namespace ?? '') !== (after.status?.namespace ?? '')
  );
}

function visibleLabels(deps: TargetDependencies, cluster: ClusterFacts | null): Labels | undefined {
  if (cluster === null || cluster.metadata.namespace !== deps.workspace) return undefined;
  if (isBeingDeleted(cluster)) return undefined;
  return cluster.metadata.labels ?? {};
}

function groupReferenced(deps: TargetDependencies, group: ClusterGroupFacts): boolean {
  if (deps.clusterGroupNames.includes(group.metadata.name)) return true;
  const labels = group.metadata.labels ?? {};
  return deps.clusterGroupSelectors.some((d) => d.selector.matches(labels));
}

function memberSelector(group: ClusterGroupFacts): CompiledSelector | undefined {
  const result = tryCompileSelector(group.spec?.selector);
  return result.ok ? result.selector : undefined;
}
