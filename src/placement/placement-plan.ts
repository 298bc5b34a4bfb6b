/**
 * Placement + diff of one Bundle over replicated facts: which Clusters it
 * targets, and which of its BundleDeployments to create, update or delete.
 * It reads only records (`RecordReader`: the main thread's authoritative
 * store, or a pool worker's replica of it; docs/architecture.md#worker-pool)
 * and answers with names and keys, never objects, so the same function runs
 * inline or in a worker with identical answers, and the main thread builds
 * only the objects it then writes.
 *
 * Records (kept by controllers/placement-records.ts, partitioned as named):
 *   cluster  `ns/name`, partition workspace: `ClusterRecord`
 *   group    `ns/name`, partition workspace: `ClusterGroupRecord`
 *   bd       `deploymentNamespace/name`, partition owning Bundle key: `BundleDeploymentRecord`
 */
import { Label } from '../api/constants.ts';
import type { LabelSelector } from '../labels/selector.ts';
import type { DeploymentOptions } from '../api/deployment-options.ts';
import type { BundleDeploymentSpec } from '../api/bundle-deployment.ts';
import { desiredBundleDeployment, diffBundleDeployments, type ExistingBundleDeployment } from './bundle-deployments.ts';
import type { BundleProblem } from './problems.ts';
import type { TargetInput } from './target-criteria.ts';
import { computePlacement, type ClusterFacts, type ClusterGroupFacts } from './targeting.ts';

export const PlacementTable = { cluster: 'cluster', group: 'group', bundleDeployment: 'bd' } as const;

export interface ClusterRecord {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly deleting: boolean;
  readonly paused: boolean;
  /** Its deployment namespace's name. */
  readonly deploymentNamespace: string;
  /** That namespace exists, is not being deleted, and is this Cluster's (not one squatting on its name). */
  readonly namespaceReady: boolean;
}

export interface ClusterGroupRecord {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly selector: LabelSelector | null;
}

/** The fields of a BundleDeployment the diff compares (the controller-owned ones) and whether it is going. */
export interface BundleDeploymentRecord {
  readonly labels: Readonly<Record<string, string>>;
  readonly spec: Partial<BundleDeploymentSpec>;
  readonly deleting: boolean;
}

/** Minimal view of what `RecordReader` offers (placement stays independent of the pool). */
export interface PlacementRecords {
  inPartition(table: string, partition: string): ReadonlyMap<string, unknown>;
}

export interface PlacementPlanInput {
  readonly bundle: {
    readonly name: string;
    readonly namespace: string;
    readonly targets: readonly TargetInput[] | null;
    readonly options: DeploymentOptions | null;
    readonly paused: boolean;
  };
  /** The valid Content to deploy; absent = placement only (invalid or missing resources), no diff. */
  readonly contentName?: string;
}

export interface PlannedUpdate {
  readonly cluster: string;
  /** `deploymentNamespace/name` of the existing BundleDeployment. */
  readonly key: string;
  readonly changes: readonly string[];
}

export interface PlacementPlan {
  /** Targeted Cluster names, sorted. */
  readonly desired: readonly string[];
  readonly excluded: number;
  readonly problems: readonly BundleProblem[];
  /** Cluster names whose BundleDeployment to create. */
  readonly create: readonly string[];
  readonly update: readonly PlannedUpdate[];
  /** Keys of BundleDeployments to delete. */
  readonly delete: readonly string[];
}

/** Estimated work of a plan: the Clusters of the workspace (each is matched, and its deployment diffed). */
export function placementPlanCost(records: PlacementRecords, workspace: string): number {
  return records.inPartition(PlacementTable.cluster, workspace).size;
}

export function bundleDeploymentRecordKey(deploymentNamespace: string, bundleName: string): string {
  return `${deploymentNamespace}/${bundleName}`;
}

export function planPlacement(input: PlacementPlanInput, records: PlacementRecords): PlacementPlan {
  const { bundle } = input;
  const workspace = bundle.namespace;
  const clusters = records.inPartition(PlacementTable.cluster, workspace) as ReadonlyMap<string, ClusterRecord>;
  const groups = records.inPartition(PlacementTable.group, workspace) as ReadonlyMap<string, ClusterGroupRecord>;
  const byName = new Map<string, ClusterRecord>();
  const clusterFacts: ClusterFacts[] = [];
  for (const c of clusters.values()) {
    if (c.deleting) continue;
    byName.set(c.name, c);
    clusterFacts.push({ metadata: { name: c.name, namespace: workspace, labels: c.labels } });
  }
  const groupFacts: ClusterGroupFacts[] = [];
  for (const g of groups.values()) groupFacts.push({ metadata: { name: g.name, namespace: workspace, labels: g.labels }, spec: { selector: g.selector } });
  const placement = computePlacement({ metadata: { name: bundle.name, namespace: workspace }, spec: { targets: bundle.targets } }, clusterFacts, groupFacts);
  const plan = { desired: [...placement.desired.keys()], excluded: placement.excluded.size, problems: placement.problems };
  if (input.contentName === undefined) return { ...plan, create: [], update: [], delete: [] };

  const source = { metadata: { name: bundle.name, namespace: workspace }, spec: { options: bundle.options, paused: bundle.paused } };
  const desired = [];
  for (const name of placement.desired.keys()) {
    const cluster = byName.get(name)!;
    // A BundleDeployment can only be written once its Cluster's deployment
    // namespace exists (and is its own); the namespace's event fans out again.
    if (!cluster.namespaceReady) continue;
    desired.push(desiredBundleDeployment({ bundle: source, cluster: { metadata: { name, namespace: workspace }, spec: { paused: cluster.paused } }, contentName: input.contentName }));
  }
  const existing: ExistingBundleDeployment[] = [];
  const bundleKey = `${workspace}/${bundle.name}`;
  for (const [key, r] of records.inPartition(PlacementTable.bundleDeployment, bundleKey) as ReadonlyMap<string, BundleDeploymentRecord>) {
    const slash = key.indexOf('/');
    existing.push({
      metadata: { namespace: key.slice(0, slash), name: key.slice(slash + 1), labels: r.labels, ...(r.deleting ? { deletionTimestamp: 'deleting' } : {}) },
      spec: r.spec,
    });
  }
  const pausedClusters = new Set<string>();
  for (const c of byName.values()) if (c.paused) pausedClusters.add(c.name);
  const diff = diffBundleDeployments(desired, existing, { bundlePaused: bundle.paused, pausedClusters });
  const clusterOf = (bd: { metadata: { labels?: Readonly<Record<string, string>> } }) => bd.metadata.labels?.[Label.ClusterName] ?? '';
  const keyOf = (bd: ExistingBundleDeployment) => `${bd.metadata.namespace}/${bd.metadata.name}`;
  return {
    ...plan,
    create: diff.create.map(clusterOf),
    update: diff.update.map((u) => ({ cluster: clusterOf(u.desired), key: keyOf(u.existing), changes: u.changes })),
    delete: diff.delete.map(keyOf),
  };
}

/** Module-task entry point (`fn(input, index, records)`): the pool passes the replica's records third. */
export function planPlacementTask(input: PlacementPlanInput, _index: unknown, records: PlacementRecords): PlacementPlan {
  return planPlacement(input, records);
}
