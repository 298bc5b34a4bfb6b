/**
 * Desired BundleDeployments and the diff against the cached ones
 * (docs/architecture.md#bundledeployments). The controller owns exactly
 * these fields of a BundleDeployment:
 *
 *   metadata.labels  flotilla.dev/{bundle-name,bundle-namespace,cluster-name,cluster-namespace}
 *   spec             contentName, deploymentID, options, paused
 *
 * and writes them with server-side apply, so other labels, annotations and
 * the whole status (the agent's) are someone else's and never cause an
 * update. Names are deterministic (the Bundle's name, in the Cluster's
 * deployment namespace), so a crash at any point converges to exactly the
 * desired set: a create that already happened shows up as "unchanged" next
 * time, never as a duplicate.
 *
 * Pausing (`Bundle.spec.paused`, or `Cluster.spec.paused` for one Cluster):
 * the API promises that existing BundleDeployments are kept but not updated
 * (docs/architecture.md#pausing). Here:
 *   - an existing BundleDeployment is never updated while paused, even if its
 *     content, options or labels differ (it is "retained");
 *   - nor is it deleted when its Cluster stops being targeted: pausing
 *     freezes what runs on the Clusters, and removing a deployment is a
 *     change too (Cluster or Bundle deletion still clean up, through their
 *     finalizers);
 *   - a missing one *is* created, with `spec.paused: true`, so the agent
 *     holds it: the Cluster is shown as targeted (and OutOfSync/Pending)
 *     instead of silently absent, and unpausing only flips that flag.
 */
import { API_VERSION, Kind, Label } from '../api/constants.ts';
import type { BundleDeployment, BundleDeploymentSpec } from '../api/bundle-deployment.ts';
import { deploymentIDFor } from '../api/deployment-id.ts';
import type { DeploymentOptions } from '../api/deployment-options.ts';
import { deploymentNamespaceFor } from './deployment-namespace.ts';
import { jsonEqual } from './json-equal.ts';

/** The parts of a Bundle the desired BundleDeployment is built from (an API `Bundle` fits). */
export interface BundleDeploymentSource {
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly spec: { readonly options?: DeploymentOptions | null; readonly paused?: boolean | null };
}

/** The parts of a Cluster the desired BundleDeployment is built from (an API `Cluster` fits). */
export interface BundleDeploymentTarget {
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly spec?: { readonly paused?: boolean | null } | null;
}

export interface DesiredBundleDeploymentInput {
  readonly bundle: BundleDeploymentSource;
  readonly cluster: BundleDeploymentTarget;
  /** The Content holding the Bundle's resources (`contentNameFor(resources)`). */
  readonly contentName: string;
  /** Options to deploy with; defaults to the Bundle's `spec.options`. */
  readonly options?: DeploymentOptions | null;
}

/** The four labels that tie a BundleDeployment to its Bundle and Cluster. */
export const OWNED_LABEL_KEYS = [
  Label.BundleName,
  Label.BundleNamespace,
  Label.ClusterName,
  Label.ClusterNamespace,
] as const;

/**
 * The BundleDeployment `bundle` should have on `cluster`: what the
 * controller applies. Throws if the two are in different namespaces: a
 * Bundle only ever targets Clusters of its own workspace, and building one
 * across that boundary is a bug upstream, not bad input.
 */
export function desiredBundleDeployment(input: DesiredBundleDeploymentInput): BundleDeployment {
  const { bundle, cluster, contentName } = input;
  const workspace = bundle.metadata.namespace;
  if (workspace === undefined || workspace === '') {
    throw new TypeError(`Bundle "${bundle.metadata.name}" has no metadata.namespace`);
  }
  if (cluster.metadata.namespace !== workspace) {
    throw new TypeError(
      `Bundle "${workspace}/${bundle.metadata.name}" cannot target Cluster "${cluster.metadata.namespace ?? ''}/${cluster.metadata.name}": workspaces are a tenant boundary`,
    );
  }
  const options = canonicalOptions(input.options === undefined ? bundle.spec.options : input.options);
  const spec: BundleDeploymentSpec = {
    contentName,
    deploymentID: deploymentIDFor(contentName, options),
  };
  if (options !== undefined) spec.options = options;
  spec.paused = bundle.spec.paused === true || cluster.spec?.paused === true;
  return {
    apiVersion: API_VERSION,
    kind: Kind.BundleDeployment,
    metadata: {
      name: bundle.metadata.name,
      namespace: deploymentNamespaceFor(workspace, cluster.metadata.name),
      labels: {
        [Label.BundleName]: bundle.metadata.name,
        [Label.BundleNamespace]: workspace,
        [Label.ClusterName]: cluster.metadata.name,
        [Label.ClusterNamespace]: workspace,
      },
    },
    spec,
  };
}

/**
 * The deployment ID every BundleDeployment of `bundle` should carry (the
 * options are per Bundle, so it is one ID for all its Clusters): what the
 * summary compares with to tell OutOfSync, even when no Cluster is targeted.
 */
export function bundleDeploymentID(bundle: BundleDeploymentSource, contentName: string): string {
  return deploymentIDFor(contentName, canonicalOptions(bundle.spec.options));
}

/** Desired BundleDeployments of `bundle` on each of `clusters`, sorted by namespace. */
export function desiredBundleDeployments(
  bundle: BundleDeploymentSource,
  clusters: Iterable<BundleDeploymentTarget>,
  contentName: string,
): BundleDeployment[] {
  const out: BundleDeployment[] = [];
  for (const cluster of clusters) out.push(desiredBundleDeployment({ bundle, cluster, contentName }));
  return out.sort((a, b) => compareStrings(keyOf(a), keyOf(b)));
}

/** The parts of a cached BundleDeployment the diff reads (an API `BundleDeployment` fits). */
export interface ExistingBundleDeployment {
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly deletionTimestamp?: string | null;
  };
  readonly spec: Partial<BundleDeploymentSpec>;
}

export interface BundleDeploymentUpdate<E> {
  readonly desired: BundleDeployment;
  readonly existing: E;
  /** Owned fields that differ, e.g. `spec.deploymentID`, `metadata.labels[flotilla.dev/cluster-name]`. */
  readonly changes: readonly string[];
}

export interface RetainedBundleDeployment<E> {
  readonly existing: E;
  /** What the controller would apply if not paused; absent when the Cluster is no longer targeted. */
  readonly desired?: BundleDeployment;
  /** Owned fields that differ (empty for a no-longer-targeted one). */
  readonly changes: readonly string[];
}

export interface BundleDeploymentDiff<E> {
  /** Desired with no existing counterpart: create (apply). */
  readonly create: readonly BundleDeployment[];
  /** Owned fields differ: apply `desired`. */
  readonly update: readonly BundleDeploymentUpdate<E>[];
  /** Existing, no longer desired: delete. */
  readonly delete: readonly E[];
  /** Existing and equal in every owned field: nothing to do. */
  readonly unchanged: readonly E[];
  /** Would be updated or deleted, but kept because the Bundle or its Cluster is paused. */
  readonly retained: readonly RetainedBundleDeployment<E>[];
  /**
   * Desired, but the existing one is being deleted: it cannot be applied
   * until it is gone (its deletion event triggers the next reconcile).
   */
  readonly waiting: readonly { readonly desired: BundleDeployment; readonly existing: E }[];
}

export interface DiffOptions {
  /** The Bundle is paused: nothing existing is updated or deleted. */
  readonly bundlePaused?: boolean;
  /** Paused Clusters of the workspace, by name: their existing BundleDeployments are not updated or deleted. */
  readonly pausedClusters?: ReadonlySet<string>;
}

/**
 * What to do to get from `existing` (this Bundle's cached BundleDeployments)
 * to `desired`. Each list is sorted by `namespace/name`, so the same inputs
 * always give the same plan. An existing BundleDeployment that is already
 * being deleted is never deleted again.
 */
export function diffBundleDeployments<E extends ExistingBundleDeployment>(
  desired: readonly BundleDeployment[],
  existing: readonly E[],
  options: DiffOptions = {},
): BundleDeploymentDiff<E> {
  const existingByKey = new Map<string, E>();
  for (const bd of existing) existingByKey.set(keyOf(bd), bd);
  const desiredKeys = new Set<string>();

  const create: BundleDeployment[] = [];
  const update: BundleDeploymentUpdate<E>[] = [];
  const remove: E[] = [];
  const unchanged: E[] = [];
  const retained: RetainedBundleDeployment<E>[] = [];
  const waiting: { desired: BundleDeployment; existing: E }[] = [];

  for (const want of [...desired].sort((a, b) => compareStrings(keyOf(a), keyOf(b)))) {
    const key = keyOf(want);
    desiredKeys.add(key);
    const have = existingByKey.get(key);
    if (have === undefined) {
      create.push(want);
      continue;
    }
    if (isDeleting(have)) {
      waiting.push({ desired: want, existing: have });
      continue;
    }
    const changes = ownedFieldChanges(want, have);
    if (changes.length === 0) unchanged.push(have);
    else if (want.spec.paused === true) retained.push({ existing: have, desired: want, changes });
    else update.push({ desired: want, existing: have, changes });
  }

  for (const [key, have] of [...existingByKey].sort(([a], [b]) => compareStrings(a, b))) {
    if (desiredKeys.has(key) || isDeleting(have)) continue;
    const cluster = have.metadata.labels?.[Label.ClusterName];
    const paused = options.bundlePaused === true || (cluster !== undefined && options.pausedClusters?.has(cluster) === true);
    if (paused) retained.push({ existing: have, changes: [] });
    else remove.push(have);
  }

  return { create, update, delete: remove, unchanged, retained, waiting };
}

/**
 * Owned fields of `existing` that differ from `desired`. Labels compare by
 * the four owned keys only; spec compares as stored, with an absent
 * `paused` equal to false and absent `options` equal to `{}` (the
 * deployment ID treats them alike too).
 */
export function ownedFieldChanges(desired: BundleDeployment, existing: ExistingBundleDeployment): string[] {
  const changes: string[] = [];
  const want = desired.metadata.labels ?? {};
  const have = existing.metadata.labels ?? {};
  for (const key of OWNED_LABEL_KEYS) {
    if (want[key] !== have[key]) changes.push(`metadata.labels[${key}]`);
  }
  if (desired.spec.contentName !== existing.spec.contentName) changes.push('spec.contentName');
  if (desired.spec.deploymentID !== existing.spec.deploymentID) changes.push('spec.deploymentID');
  if (!jsonEqual(desired.spec.options ?? {}, existing.spec.options ?? {})) changes.push('spec.options');
  if ((desired.spec.paused ?? false) !== (existing.spec.paused ?? false)) changes.push('spec.paused');
  return changes;
}

type Labelled = { readonly metadata: { readonly labels?: Readonly<Record<string, string>> | null } };

/** `namespace/name` of the Bundle a BundleDeployment was made for, from the labels `desiredBundleDeployment` writes. */
export function owningBundleKey(bd: Labelled): string | undefined {
  const l = bd.metadata.labels;
  return l?.[Label.BundleName] ? `${l[Label.BundleNamespace] ?? ''}/${l[Label.BundleName]}` : undefined;
}

/** `namespace/name` of the Cluster a BundleDeployment targets, from its labels. */
export function owningClusterKey(bd: Labelled): string | undefined {
  const l = bd.metadata.labels;
  return l?.[Label.ClusterName] ? `${l[Label.ClusterNamespace] ?? ''}/${l[Label.ClusterName]}` : undefined;
}

function keyOf(bd: { readonly metadata: { readonly name: string; readonly namespace?: string } }): string {
  return `${bd.metadata.namespace ?? ''}/${bd.metadata.name}`;
}

function isDeleting(bd: ExistingBundleDeployment): boolean {
  return bd.metadata.deletionTimestamp !== undefined && bd.metadata.deletionTimestamp !== null;
}

/**
 * Options without `undefined` members, keys sorted; `undefined` when none is
 * set, so a Bundle without options and one with `options: {}` produce the
 * same object (and the same deployment ID, which hashes them alike).
 * `correctDrift` is kept only when enabled: off is the default, so
 * `correctDrift: {}` or `{enabled: false}` deploy exactly what a Bundle
 * without it deploys, under the same deployment ID.
 */
function canonicalOptions(options: DeploymentOptions | null | undefined): DeploymentOptions | undefined {
  if (options === undefined || options === null) return undefined;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(options).sort()) {
    const value = (options as Record<string, unknown>)[key];
    if (key === 'correctDrift') {
      if ((value as DeploymentOptions['correctDrift'])?.enabled === true) out[key] = { enabled: true };
      continue;
    }
    if (value !== undefined) out[key] = value;
  }
  return Object.keys(out).length === 0 ? undefined : (out as DeploymentOptions);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
