/**
 * A ClusterGroup's printer-column strings from its members' own statuses
 * (`kubectl get clustergroups`: READY, STATUS), the way Fleet's ClusterGroup
 * reports its clusters: a member is ready when all its BundleDeployments are
 * (`summary.ready == summary.desiredReady`; a Cluster with none has nothing
 * to wait for), and the group's state is the worst member's state. Pure and
 * deterministic, so an unchanged world gives an equal status and no write.
 */
import type { DeploymentState } from '../api/constants.ts';
import { worseState } from './deployment-state.ts';

export interface ClusterGroupMemberFacts {
  readonly status?: {
    readonly summary?: { readonly ready?: number; readonly desiredReady?: number } | null;
    readonly display?: { readonly state?: DeploymentState } | null;
  } | null;
}

export interface ClusterGroupDisplay {
  /** "ready/total" members. */
  readonly readyClusters: string;
  /** Worst member state; absent when no member has BundleDeployments. */
  readonly state?: DeploymentState;
}

export function summarizeClusterGroupMembers(members: Iterable<ClusterGroupMemberFacts>): ClusterGroupDisplay {
  let total = 0;
  let ready = 0;
  let worst: DeploymentState | undefined;
  for (const member of members) {
    total++;
    const summary = member.status?.summary;
    if ((summary?.ready ?? 0) >= (summary?.desiredReady ?? 0)) ready++;
    const state = member.status?.display?.state;
    if (state !== undefined) worst = worst === undefined ? state : worseState(worst, state);
  }
  const readyClusters = `${ready}/${total}`;
  return worst === undefined ? { readyClusters } : { readyClusters, state: worst };
}
