/**
 * Targeting: which Clusters of a Bundle's workspace receive it (Fleet's
 * semantics; docs/architecture.md#targeting).
 *
 * - All criteria set on a target must match: `clusterName` equal,
 *   `clusterSelector` on the Cluster's labels, `clusterGroup` (the Cluster is
 *   a member of the named group, i.e. the group's `spec.selector` matches
 *   its labels), `clusterGroupSelector` (selects groups by *their* labels;
 *   the Cluster matches when it is a member of any selected group).
 * - A target with no criterion matches nothing; `clusterSelector: {}`
 *   matches every Cluster.
 * - Targets are tried in order; the **first** matching target decides, and
 *   `doNotDeploy: true` on it excludes the Cluster.
 * - Only Clusters and ClusterGroups of the Bundle's own namespace count (the
 *   workspace is a tenant boundary); others passed in are ignored.
 * - A Cluster being deleted (`deletionTimestamp` set) is targeted by no
 *   Bundle: its finalizer is removing its deployment namespace, and a
 *   BundleDeployment created there now would only block that cleanup.
 *
 * A target naming a ClusterGroup that does not exist is reported as a
 * problem and **matches nothing** (membership is derived from the group's
 * selector; a group that does not exist has no members, as in Fleet); the
 * other targets still apply. The same holds for a group whose selector is
 * invalid. Note what this means for a `doNotDeploy` target: while its group
 * is missing it excludes nothing, so a later target may deploy to Clusters
 * it was meant to exclude. The problem message says so. The alternative
 * (treat the unknown group as "everyone") would instead remove the Bundle
 * from every later-targeted Cluster; both fail somewhere, and "no members"
 * is the rule users can predict from Kubernetes and Fleet.
 */
import type { CompiledSelector, LabelSelector, Labels } from '../labels/selector.ts';
import { tryCompileSelector } from '../labels/selector.ts';
import { childPath } from '../labels/validation.ts';
import { BundleProblemReason, bundleProblem, type BundleProblem } from './problems.ts';
import { compileTargets, type TargetCriteria, type TargetInput } from './target-criteria.ts';

/** The parts of a Cluster targeting reads (an API `Cluster` fits). */
export interface ClusterFacts {
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly deletionTimestamp?: string | null;
  };
}

/** The parts of a ClusterGroup targeting reads (an API `ClusterGroup` fits). */
export interface ClusterGroupFacts {
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
  };
  readonly spec?: { readonly selector?: LabelSelector | null } | null;
}

/** The parts of a Bundle targeting reads (an API `Bundle` fits). */
export interface BundleTargetsFacts {
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly spec: { readonly targets?: readonly TargetInput[] | null };
}

/** A Cluster the Bundle is deployed to, and the target that decided it. */
export interface Placement {
  readonly targetIndex: number;
  readonly targetName?: string;
  readonly doNotDeploy: false;
}

/** A Cluster excluded by a `doNotDeploy` target that matched it first. */
export interface Exclusion {
  readonly targetIndex: number;
  readonly targetName?: string;
  readonly doNotDeploy: true;
}

export type TargetDecision = Placement | Exclusion;

export interface PlacementResult {
  /** Cluster name → placement, in cluster-name order. */
  readonly desired: ReadonlyMap<string, Placement>;
  /** Cluster name → exclusion (`doNotDeploy`), in cluster-name order. */
  readonly excluded: ReadonlyMap<string, Exclusion>;
  /** Everything wrong with the targets, static and workspace-dependent, in target order. */
  readonly problems: readonly BundleProblem[];
}

/**
 * A target with its group criteria resolved against the workspace's
 * ClusterGroups: membership tests become selectors on Cluster labels.
 */
export interface ResolvedTarget {
  readonly criteria: TargetCriteria;
  /** The named group's member selector (`clusterGroup`); `undefined` when not set. */
  readonly groupMembership?: CompiledSelector;
  /** Member selectors of the groups `clusterGroupSelector` selects; `undefined` when not set. */
  readonly anyGroupMembership?: readonly CompiledSelector[];
  /** Matches no Cluster whatever its name and labels. */
  readonly matchesNothing: boolean;
}

export interface ResolvedTargets {
  readonly workspace: string;
  readonly targets: readonly ResolvedTarget[];
  readonly problems: readonly BundleProblem[];
}

/** A group's members as a selector on Cluster labels; invalid selectors are reported. */
interface GroupMembership {
  readonly labels: Labels;
  readonly members: CompiledSelector | undefined;
  readonly error: string | undefined;
}

/**
 * Compiles a Bundle's targets and resolves them against `groups` (only those
 * of the Bundle's namespace are used). Do this once per reconcile, then call
 * `decideForCluster` per Cluster.
 */
export function resolveTargets(bundle: BundleTargetsFacts, groups: Iterable<ClusterGroupFacts>): ResolvedTargets {
  const workspace = workspaceOf(bundle);
  const compiled = compileTargets(bundle.spec.targets);
  const problems: BundleProblem[] = [...compiled.problems];

  const byName = new Map<string, GroupMembership>();
  for (const group of groups) {
    if (group.metadata.namespace !== workspace) continue;
    byName.set(group.metadata.name, groupMembership(group));
  }

  const targets = compiled.targets.map((criteria) => resolveTarget(criteria, workspace, byName, problems));
  // Static problems come first from compileTargets; keep the whole list in target order.
  problems.sort((a, b) => targetIndexOf(a.field) - targetIndexOf(b.field));
  return { workspace, targets, problems };
}

function resolveTarget(
  criteria: TargetCriteria,
  workspace: string,
  groups: ReadonlyMap<string, GroupMembership>,
  problems: BundleProblem[],
): ResolvedTarget {
  let matchesNothing = criteria.matchesNothing;
  const hazard = criteria.doNotDeploy
    ? '; as this is a doNotDeploy target, Clusters it should exclude may be deployed to by later targets'
    : '';

  let groupMembership: CompiledSelector | undefined;
  if (criteria.clusterGroup !== undefined) {
    const field = childPath(criteria.field, 'clusterGroup');
    const group = groups.get(criteria.clusterGroup);
    if (group === undefined) {
      problems.push(
        bundleProblem(
          BundleProblemReason.ClusterGroupNotFound,
          field,
          `${field}: ClusterGroup "${criteria.clusterGroup}" not found in namespace "${workspace}"; ` +
            `the target matches no Cluster until it exists${hazard}`,
        ),
      );
      matchesNothing = true;
    } else if (group.members === undefined) {
      problems.push(invalidGroup(field, criteria.clusterGroup, workspace, group.error ?? '', hazard));
      matchesNothing = true;
    } else {
      groupMembership = group.members;
    }
  }

  let anyGroupMembership: CompiledSelector[] | undefined;
  if (criteria.clusterGroupSelector !== undefined) {
    const field = childPath(criteria.field, 'clusterGroupSelector');
    anyGroupMembership = [];
    // Sorted by group name so problems and evaluation order are deterministic.
    for (const name of [...groups.keys()].sort()) {
      const group = groups.get(name) as GroupMembership;
      if (!criteria.clusterGroupSelector.matches(group.labels)) continue;
      if (group.members === undefined) {
        problems.push(invalidGroup(field, name, workspace, group.error ?? '', hazard));
        continue;
      }
      anyGroupMembership.push(group.members);
    }
    // No selected group: nobody is a member of any, so nothing matches.
    if (anyGroupMembership.length === 0) matchesNothing = true;
  }

  const resolved: { -readonly [K in keyof ResolvedTarget]: ResolvedTarget[K] } = { criteria, matchesNothing };
  if (groupMembership !== undefined) resolved.groupMembership = groupMembership;
  if (anyGroupMembership !== undefined) resolved.anyGroupMembership = anyGroupMembership;
  return resolved;
}

function invalidGroup(field: string, name: string, workspace: string, error: string, hazard: string): BundleProblem {
  return bundleProblem(
    BundleProblemReason.InvalidClusterGroup,
    field,
    `${field}: ClusterGroup "${name}" in namespace "${workspace}" has an invalid spec.selector (${error}); ` +
      `it is treated as having no members until it is fixed${hazard}`,
  );
}

function groupMembership(group: ClusterGroupFacts): GroupMembership {
  const labels = group.metadata.labels ?? {};
  const result = tryCompileSelector(group.spec?.selector, { path: 'spec.selector' });
  if (result.ok) return { labels, members: result.selector, error: undefined };
  return { labels, members: undefined, error: result.errors.map((e) => e.message).join('; ') };
}

/**
 * Whether `target` matches a Cluster with this name and labels. Cheap
 * criteria first: a name comparison, then one selector, then group ones.
 */
export function targetMatches(target: ResolvedTarget, clusterName: string, labels: Labels): boolean {
  if (target.matchesNothing) return false;
  const c = target.criteria;
  if (c.clusterName !== undefined && c.clusterName !== clusterName) return false;
  if (c.clusterSelector !== undefined && !c.clusterSelector.matches(labels)) return false;
  if (target.groupMembership !== undefined && !target.groupMembership.matches(labels)) return false;
  if (target.anyGroupMembership !== undefined && !target.anyGroupMembership.some((m) => m.matches(labels))) {
    return false;
  }
  return true;
}

/**
 * The decision for one Cluster: the first matching target, or `undefined`
 * when no target matches (the Cluster does not get the Bundle). Clusters of
 * another namespace and Clusters being deleted are never targeted.
 */
export function decideForCluster(resolved: ResolvedTargets, cluster: ClusterFacts): TargetDecision | undefined {
  if (cluster.metadata.namespace !== resolved.workspace) return undefined;
  if (isBeingDeleted(cluster)) return undefined;
  const labels = cluster.metadata.labels ?? {};
  for (const target of resolved.targets) {
    if (!targetMatches(target, cluster.metadata.name, labels)) continue;
    const c = target.criteria;
    const base = c.name === undefined ? { targetIndex: c.index } : { targetIndex: c.index, targetName: c.name };
    return c.doNotDeploy ? { ...base, doNotDeploy: true } : { ...base, doNotDeploy: false };
  }
  return undefined;
}

/**
 * The desired placement of `bundle` over the workspace's Clusters and
 * ClusterGroups. Pure; bad targets or groups are returned as problems, never
 * thrown. Throws only for a Bundle without a namespace, which no cached
 * Bundle lacks (a programming error upstream).
 */
export function computePlacement(
  bundle: BundleTargetsFacts,
  clusters: Iterable<ClusterFacts>,
  groups: Iterable<ClusterGroupFacts>,
): PlacementResult {
  const resolved = resolveTargets(bundle, groups);
  const desired: [string, Placement][] = [];
  const excluded: [string, Exclusion][] = [];
  for (const cluster of clusters) {
    const decision = decideForCluster(resolved, cluster);
    if (decision === undefined) continue;
    if (decision.doNotDeploy) excluded.push([cluster.metadata.name, decision]);
    else desired.push([cluster.metadata.name, decision]);
  }
  return {
    desired: new Map(desired.sort(byKey)),
    excluded: new Map(excluded.sort(byKey)),
    problems: resolved.problems,
  };
}

/**
 * Whether `cluster` receives `bundle` (a placement, not an exclusion). For
 * fan-out checks on one Cluster without computing the whole placement.
 */
export function clusterMatchesBundle(resolved: ResolvedTargets, cluster: ClusterFacts): boolean {
  const decision = decideForCluster(resolved, cluster);
  return decision !== undefined && !decision.doNotDeploy;
}

/** Whether the Cluster has a deletion timestamp (its finalizer is cleaning up). */
export function isBeingDeleted(cluster: ClusterFacts): boolean {
  const ts = cluster.metadata.deletionTimestamp;
  return ts !== undefined && ts !== null;
}

/** The Bundle's workspace; a Bundle without a namespace is a programming error upstream. */
function workspaceOf(bundle: BundleTargetsFacts): string {
  const ns = bundle.metadata.namespace;
  if (ns === undefined || ns === '') {
    throw new TypeError(`Bundle "${bundle.metadata.name}" has no metadata.namespace; Bundles are namespaced`);
  }
  return ns;
}

function byKey<T>(a: readonly [string, T], b: readonly [string, T]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/** Target index from a field path `spec.targets[N]...`; non-target fields sort first. */
function targetIndexOf(field: string): number {
  const match = /^spec\.targets\[(\d+)\]/.exec(field);
  return match ? Number(match[1]) : -1;
}
