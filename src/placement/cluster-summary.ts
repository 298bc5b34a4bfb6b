/**
 * A Cluster's deployment counts: its BundleDeployments (those in its
 * deployment namespace) by state, with `bundleDeploymentState`'s rules, and
 * the printer-column strings. The Cluster controller merges them into the
 * status it writes; like the Bundle summary it is deterministic, so an
 * unchanged world gives an equal status and no write.
 *
 * Every BundleDeployment counts once (`desiredReady` is their number),
 * except those being deleted: the Bundle no longer wants them on this
 * Cluster, so they are neither desired nor a problem of the Cluster.
 * OutOfSync needs each Bundle's current deployment ID; pass
 * `desiredDeploymentIDFor` to have it reported, otherwise it never is.
 */
import type { ClusterStatus } from '../api/cluster.ts';
import { DeploymentState } from '../api/constants.ts';
import type { DeploymentCounts } from '../api/summary.ts';
import {
  bundleDeploymentState,
  countState,
  emptyDeploymentCounts,
  worseState,
  type BundleDeploymentStateFacts,
} from './deployment-state.ts';

export interface ClusterDeploymentSummary {
  readonly summary: DeploymentCounts;
  /** `readyBundles` as "ready/desired"; `state` the worst state, absent when there are none. */
  readonly display: { readonly readyBundles: string; readonly state?: DeploymentState };
}

export interface ClusterSummaryOptions<T extends BundleDeploymentStateFacts> {
  /** The current deployment ID of the Bundle `bd` comes from, when known. */
  readonly desiredDeploymentIDFor?: (bd: T) => string | undefined;
}

export function summarizeClusterDeployments<T extends BundleDeploymentStateFacts>(
  bundleDeployments: Iterable<T>,
  options: ClusterSummaryOptions<T> = {},
): ClusterDeploymentSummary {
  const counts = emptyDeploymentCounts();
  let worst: DeploymentState | undefined;
  for (const bd of bundleDeployments) {
    const deleting = bd.metadata.deletionTimestamp !== undefined && bd.metadata.deletionTimestamp !== null;
    if (deleting) continue;
    const state = bundleDeploymentState(bd, options.desiredDeploymentIDFor?.(bd));
    counts.desiredReady++;
    countState(counts, state);
    worst = worst === undefined ? state : worseState(worst, state);
  }
  const readyBundles = `${counts.ready}/${counts.desiredReady}`;
  return { summary: counts, display: worst === undefined ? { readyBundles } : { readyBundles, state: worst } };
}

/**
 * `previous` with the counts, display strings, deployment namespace and
 * observed generation replaced; conditions (owned by the Cluster
 * controller's namespace handling) are kept as they are.
 */
export function clusterStatusWithSummary(
  previous: ClusterStatus | null | undefined,
  computed: ClusterDeploymentSummary,
  deploymentNamespace: string,
  generation: number | undefined,
): ClusterStatus {
  const status: ClusterStatus = {};
  const observedGeneration = generation ?? previous?.observedGeneration;
  if (observedGeneration !== undefined) status.observedGeneration = observedGeneration;
  status.namespace = deploymentNamespace;
  if (previous?.conditions !== undefined) status.conditions = previous.conditions;
  status.summary = computed.summary;
  status.display = { ...computed.display };
  return status;
}
