/**
 * An independent oracle for placement: which Clusters each Bundle should be
 * deployed to, computed from the objects as read from the API, straight from
 * the semantics in docs/architecture.md#targeting (Fleet's). Tests compare what the controller
 * really created against it.
 *
 * Deliberately written without `src/placement` or `src/labels`: an oracle
 * that shares code with the implementation shares its bugs. It favours
 * obviousness over speed (everything is a linear scan).
 *
 * Semantics implemented:
 * - Label selectors as Kubernetes evaluates them (`metav1.LabelSelectorAsSelector`):
 *   `matchLabels` and every `matchExpressions` requirement must hold (AND);
 *   `In` needs the key present with one of the values; `NotIn` holds when the
 *   key is absent or its value is not listed; `Exists` / `DoesNotExist` test
 *   presence only; `{}` matches everything. A malformed selector (unknown
 *   operator, `In`/`NotIn` without values, `Exists` with values) selects
 *   nothing.
 * - A target matches a Cluster when it sets at least one criterion and every
 *   criterion it sets matches: `clusterSelector` over the Cluster's labels;
 *   `clusterGroup` names a ClusterGroup of the same workspace whose
 *   `spec.selector` matches the Cluster (a missing group matches nothing);
 *   `clusterGroupSelector` selects ClusterGroups of the same workspace by
 *   their own labels, and the Cluster must be a member of at least one;
 *   `clusterName` equals the Cluster's name.
 * - Targets are tried in order; the first that matches decides: deployed,
 *   unless it says `doNotDeploy: true`.
 * - Only Clusters of the Bundle's own namespace, and only namespaces that
 *   are workspaces, take part. Objects being deleted (deletionTimestamp set)
 *   are gone as far as the desired state is concerned.
 */

export interface OracleLabelSelectorRequirement {
  key: string;
  operator: string;
  values?: string[] | null;
}

export interface OracleLabelSelector {
  matchLabels?: Record<string, string> | null;
  matchExpressions?: OracleLabelSelectorRequirement[] | null;
}

export interface OracleMeta {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  deletionTimestamp?: string | null;
}

export interface OracleCluster {
  metadata: OracleMeta;
}

export interface OracleClusterGroup {
  metadata: OracleMeta;
  spec?: { selector?: OracleLabelSelector | null } | null;
}

export interface OracleTarget {
  name?: string;
  clusterSelector?: OracleLabelSelector | null;
  clusterGroup?: string | null;
  clusterGroupSelector?: OracleLabelSelector | null;
  clusterName?: string | null;
  doNotDeploy?: boolean | null;
}

export interface OracleBundle {
  metadata: OracleMeta;
  spec?: { targets?: OracleTarget[] | null } | null;
}

export interface OracleWorld {
  clusters: readonly OracleCluster[];
  clusterGroups: readonly OracleClusterGroup[];
  bundles: readonly OracleBundle[];
  /** Which namespaces are workspaces. Default: every namespace is. */
  isWorkspace?: (namespace: string) => boolean;
}

/** One BundleDeployment that should exist: Bundle `bundleNamespace/bundleName` on Cluster `bundleNamespace/clusterName`. */
export interface Placement {
  bundleNamespace: string;
  bundleName: string;
  clusterName: string;
}

// ---------------------------------------------------------------------------
// Label selectors

/**
 * Whether `selector` matches `labels`. `undefined`/`null` selector → false
 * (no selector is not the empty selector). Malformed → false.
 */
export function selectorMatches(selector: OracleLabelSelector | null | undefined, labels: Record<string, string> | undefined): boolean {
  if (selector === undefined || selector === null) return false;
  if (!selectorIsValid(selector)) return false;
  const have = labels ?? {};
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (!Object.hasOwn(have, key) || have[key] !== value) return false;
  }
  for (const req of selector.matchExpressions ?? []) {
    const present = Object.hasOwn(have, req.key);
    const value = have[req.key];
    const values = req.values ?? [];
    switch (req.operator) {
      case 'In':
        if (!present || !values.includes(value as string)) return false;
        break;
      case 'NotIn':
        if (present && values.includes(value as string)) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** Kubernetes' structural rules for a selector (the CRD enforces the same). */
export function selectorIsValid(selector: OracleLabelSelector): boolean {
  for (const req of selector.matchExpressions ?? []) {
    const n = req.values?.length ?? 0;
    if (req.operator === 'In' || req.operator === 'NotIn') {
      if (n === 0) return false;
    } else if (req.operator === 'Exists' || req.operator === 'DoesNotExist') {
      if (n !== 0) return false;
    } else {
      return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------
// Targeting

function alive(meta: OracleMeta): boolean {
  return !meta.deletionTimestamp;
}

function groupHasMember(group: OracleClusterGroup, cluster: OracleCluster): boolean {
  return selectorMatches(group.spec?.selector, cluster.metadata.labels);
}

/** Whether `target` matches `cluster`, given the ClusterGroups of the cluster's workspace. */
export function targetMatches(target: OracleTarget, cluster: OracleCluster, groupsOfWorkspace: readonly OracleClusterGroup[]): boolean {
  let criteria = 0;
  if (target.clusterSelector !== undefined && target.clusterSelector !== null) {
    criteria++;
    if (!selectorMatches(target.clusterSelector, cluster.metadata.labels)) return false;
  }
  if (target.clusterGroup !== undefined && target.clusterGroup !== null && target.clusterGroup !== '') {
    criteria++;
    const group = groupsOfWorkspace.find((g) => g.metadata.name === target.clusterGroup);
    if (group === undefined || !groupHasMember(group, cluster)) return false;
  }
  if (target.clusterGroupSelector !== undefined && target.clusterGroupSelector !== null) {
    criteria++;
    const selected = groupsOfWorkspace.filter((g) => selectorMatches(target.clusterGroupSelector, g.metadata.labels));
    if (!selected.some((g) => groupHasMember(g, cluster))) return false;
  }
  if (target.clusterName !== undefined && target.clusterName !== null && target.clusterName !== '') {
    criteria++;
    if (cluster.metadata.name !== target.clusterName) return false;
  }
  return criteria > 0;
}

/**
 * What the first matching target decides for `cluster`: `deploy`, `exclude`
 * (a `doNotDeploy` target matched first), or `none` (no target matched).
 */
export function decide(
  targets: readonly OracleTarget[],
  cluster: OracleCluster,
  groupsOfWorkspace: readonly OracleClusterGroup[],
): 'deploy' | 'exclude' | 'none' {
  for (const target of targets) {
    if (targetMatches(target, cluster, groupsOfWorkspace)) return target.doNotDeploy === true ? 'exclude' : 'deploy';
  }
  return 'none';
}

/** Names of the Clusters `bundle` should be deployed to, sorted. */
export function targetedClusterNames(bundle: OracleBundle, world: OracleWorld): string[] {
  const ns = bundle.metadata.namespace ?? '';
  const isWorkspace = world.isWorkspace ?? (() => true);
  if (!alive(bundle.metadata) || !isWorkspace(ns)) return [];
  const targets = bundle.spec?.targets ?? [];
  const groups = world.clusterGroups.filter((g) => g.metadata.namespace === ns);
  return world.clusters
    .filter((c) => c.metadata.namespace === ns && alive(c.metadata))
    .filter((c) => decide(targets, c, groups) === 'deploy')
    .map((c) => c.metadata.name ?? '')
    .sort();
}

/** Every BundleDeployment that should exist, as (bundle, cluster) pairs, sorted by key. */
export function desiredPlacements(world: OracleWorld): Placement[] {
  const out: Placement[] = [];
  for (const bundle of world.bundles) {
    for (const clusterName of targetedClusterNames(bundle, world)) {
      out.push({ bundleNamespace: bundle.metadata.namespace ?? '', bundleName: bundle.metadata.name ?? '', clusterName });
    }
  }
  return out.sort((a, b) => compareKeys(placementKey(a), placementKey(b)));
}

export function placementKey(p: Placement): string {
  return `${p.bundleNamespace}/${p.bundleName}@${p.clusterName}`;
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------
// Comparing with what exists

export interface OracleBundleDeployment {
  metadata: OracleMeta;
  spec?: { deploymentID?: string; contentName?: string } | null;
  status?: { appliedDeploymentID?: string; ready?: boolean; nonModified?: boolean } | null;
}

const LABEL_BUNDLE_NAME = 'flotilla.dev/bundle-name';
const LABEL_BUNDLE_NAMESPACE = 'flotilla.dev/bundle-namespace';
const LABEL_CLUSTER_NAME = 'flotilla.dev/cluster-name';
const LABEL_CLUSTER_NAMESPACE = 'flotilla.dev/cluster-namespace';

/**
 * The (bundle, cluster) pair a BundleDeployment's labels claim, or a string
 * describing why they are inconsistent (missing label, bundle and cluster in
 * different workspaces, object name different from the bundle name).
 */
export function placementOf(bd: OracleBundleDeployment): Placement | string {
  const labels = bd.metadata.labels ?? {};
  const bundleName = labels[LABEL_BUNDLE_NAME];
  const bundleNamespace = labels[LABEL_BUNDLE_NAMESPACE];
  const clusterName = labels[LABEL_CLUSTER_NAME];
  const clusterNamespace = labels[LABEL_CLUSTER_NAMESPACE];
  const where = `${bd.metadata.namespace}/${bd.metadata.name}`;
  if (!bundleName || !bundleNamespace || !clusterName || !clusterNamespace) {
    return `${where}: missing placement labels (${JSON.stringify(labels)})`;
  }
  if (bundleNamespace !== clusterNamespace) return `${where}: bundle namespace ${bundleNamespace} != cluster namespace ${clusterNamespace}`;
  if (bd.metadata.name !== bundleName) return `${where}: named differently from its bundle ${bundleName}`;
  return { bundleNamespace, bundleName, clusterName };
}

export interface PlacementDiff {
  /** Desired but absent. */
  missing: string[];
  /** Present but not desired (orphans). */
  unexpected: string[];
  /** Present more than once. */
  duplicates: string[];
  /** BundleDeployments whose labels do not describe a placement, or that sit in the wrong namespace. */
  malformed: string[];
}

/**
 * Compares existing BundleDeployments with the desired placements.
 * `namespaceFor(workspace, cluster)`, when given, is where each one must live
 * (the Cluster's deployment namespace). BundleDeployments being deleted are
 * ignored (they are on their way out).
 */
export function diffPlacements(
  desired: readonly Placement[],
  bundleDeployments: readonly OracleBundleDeployment[],
  namespaceFor?: (workspace: string, clusterName: string) => string,
): PlacementDiff {
  const want = new Set(desired.map(placementKey));
  const seen = new Map<string, number>();
  const malformed: string[] = [];
  for (const bd of bundleDeployments) {
    if (!alive(bd.metadata)) continue;
    const p = placementOf(bd);
    if (typeof p === 'string') {
      malformed.push(p);
      continue;
    }
    if (namespaceFor !== undefined) {
      const expectedNs = namespaceFor(p.bundleNamespace, p.clusterName);
      if (bd.metadata.namespace !== expectedNs) {
        malformed.push(`${bd.metadata.namespace}/${bd.metadata.name}: expected in namespace ${expectedNs}`);
        continue;
      }
    }
    const key = placementKey(p);
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return {
    missing: [...want].filter((k) => !seen.has(k)).sort(),
    unexpected: [...seen.keys()].filter((k) => !want.has(k)).sort(),
    duplicates: [...seen.entries()].filter(([, n]) => n > 1).map(([k]) => k).sort(),
    malformed: malformed.sort(),
  };
}

export function isEmptyDiff(diff: PlacementDiff): boolean {
  return diff.missing.length === 0 && diff.unexpected.length === 0 && diff.duplicates.length === 0 && diff.malformed.length === 0;
}

/** A short human-readable account of a diff, for assertion messages. */
export function describeDiff(diff: PlacementDiff, max = 10): string {
  const part = (label: string, items: string[]) =>
    items.length === 0 ? '' : `${label} (${items.length}): ${items.slice(0, max).join(', ')}${items.length > max ? ', ...' : ''}\n`;
  return (
    part('missing', diff.missing) + part('unexpected', diff.unexpected) + part('duplicates', diff.duplicates) + part('malformed', diff.malformed) ||
    'no differences'
  );
}

// ---------------------------------------------------------------------------
// Summaries

/** Whether a BundleDeployment counts as ready: the agent applied the current ID, reports ready, and no drift. */
export function bundleDeploymentIsReady(bd: OracleBundleDeployment): boolean {
  const s = bd.status ?? {};
  return (
    s.appliedDeploymentID !== undefined &&
    s.appliedDeploymentID === bd.spec?.deploymentID &&
    s.ready === true &&
    s.nonModified !== false
  );
}

export interface ExpectedSummary {
  desiredReady: number;
  ready: number;
  /** Targeted clusters that are not ready (no BundleDeployment, or one that is not ready), sorted. */
  nonReadyClusters: string[];
  /** `"<ready>/<desired>"`. */
  readyClusters: string;
}

/** The counts a Bundle's status should show, from the oracle's targeting and the BundleDeployments that exist. */
export function expectedSummary(
  bundle: OracleBundle,
  world: OracleWorld,
  bundleDeployments: readonly OracleBundleDeployment[],
): ExpectedSummary {
  const targeted = targetedClusterNames(bundle, world);
  const ns = bundle.metadata.namespace;
  const mine = new Map<string, OracleBundleDeployment>();
  for (const bd of bundleDeployments) {
    const p = placementOf(bd);
    if (typeof p === 'string' || !alive(bd.metadata)) continue;
    if (p.bundleNamespace === ns && p.bundleName === bundle.metadata.name) mine.set(p.clusterName, bd);
  }
  const nonReady = targeted.filter((c) => {
    const bd = mine.get(c);
    return bd === undefined || !bundleDeploymentIsReady(bd);
  });
  const ready = targeted.length - nonReady.length;
  return { desiredReady: targeted.length, ready, nonReadyClusters: nonReady, readyClusters: `${ready}/${targeted.length}` };
}
