/**
 * Per-cluster progress of the quick start, from what the agents reported on
 * the BundleDeployments (read from the controller's cache) and from the
 * Clusters' `AgentConnected` condition.
 *
 * How resources are counted (a BundleDeployment's status lists at most
 * `Limits.resourceStatusMaxItems` non-ready resources, so the list is not
 * counted as "all of them"):
 * - applied: the number in the agent's `Applied` condition message
 *   ("N resources applied", or "F of T resources failed", where T - F were
 *   applied and F failed);
 * - ready: all applied ones when the agent reports `ready: true`; otherwise
 *   applied minus the non-ready resources it lists (failures are listed
 *   too and are not among the applied). When a list is full (truncated),
 *   more may be not ready: the ready count is then an upper bound, shown
 *   as "≤N".
 */
import { Limits } from '../api/constants.ts';
import type { Condition } from '../api/condition.ts';
import { owningClusterKey } from '../placement/bundle-deployments.ts';
import { findCondition } from '../placement/conditions.ts';

export interface ResourceRef {
  kind: string;
  namespace?: string | undefined;
  name: string;
  message?: string | undefined;
}

export interface ClusterProgress {
  name: string;
  agentConnected: boolean;
  /** AgentConnected=False: the agent's heartbeat expired (else, not connected yet: no heartbeat seen). */
  agentHeartbeatExpired: boolean;
  bundleDeployments: number;
  /** BundleDeployments whose agent reports their current deploymentID applied. */
  bundleDeploymentsApplied: number;
  resourcesApplied: number;
  resourcesReady: number;
  resourcesFailed: number;
  /** Some non-ready list was full: resourcesReady is an upper bound. */
  readyIsUpperBound: boolean;
  nonReady: ResourceRef[];
}

export interface ClusterLike {
  metadata: { name: string; namespace?: string | undefined };
  status?: { conditions?: Condition[] | undefined } | undefined;
}

export interface BundleDeploymentLike {
  metadata: { name: string; namespace?: string | undefined; labels?: Record<string, string> | undefined; deletionTimestamp?: string | undefined };
  spec?: { deploymentID?: string | undefined } | undefined;
  status?: {
    appliedDeploymentID?: string | undefined;
    ready?: boolean | undefined;
    conditions?: Condition[] | undefined;
    nonReadyResources?: ResourceRef[] | undefined;
  } | undefined;
}

const APPLIED = /^(\d+) resources applied/;
const FAILED = /^(\d+) of (\d+) resources failed/;

/** Whether the agent reports this BundleDeployment's current deploymentID applied without failures. */
export function isApplied(bd: BundleDeploymentLike): boolean {
  const id = bd.spec?.deploymentID;
  return !!id && bd.status?.appliedDeploymentID === id && findCondition(bd.status.conditions, 'Applied')?.status === 'True';
}

export function clusterProgress(clusters: readonly ClusterLike[], bundleDeployments: readonly BundleDeploymentLike[]): ClusterProgress[] {
  const byKey = new Map<string, ClusterProgress>();
  for (const cluster of clusters) {
    const connected = findCondition(cluster.status?.conditions, 'AgentConnected')?.status;
    byKey.set(`${cluster.metadata.namespace ?? ''}/${cluster.metadata.name}`, {
      name: cluster.metadata.name,
      agentConnected: connected === 'True',
      agentHeartbeatExpired: connected === 'False',
      bundleDeployments: 0,
      bundleDeploymentsApplied: 0,
      resourcesApplied: 0,
      resourcesReady: 0,
      resourcesFailed: 0,
      readyIsUpperBound: false,
      nonReady: [],
    });
  }
  for (const bd of bundleDeployments) {
    const key = owningClusterKey(bd);
    const progress = key === undefined ? undefined : byKey.get(key);
    if (!progress || bd.metadata.deletionTimestamp) continue;
    progress.bundleDeployments++;
    if (isApplied(bd)) progress.bundleDeploymentsApplied++;
    const message = findCondition(bd.status?.conditions, 'Applied')?.message ?? '';
    const failed = FAILED.exec(message);
    const applied = failed ? Number(failed[2]) - Number(failed[1]) : Number(APPLIED.exec(message)?.[1] ?? 0);
    const failures = failed ? Number(failed[1]) : 0;
    const listed = bd.status?.nonReadyResources ?? [];
    progress.resourcesApplied += applied;
    progress.resourcesFailed += failures;
    progress.resourcesReady += bd.status?.ready === true ? applied : Math.max(0, applied - Math.max(0, listed.length - failures));
    if (bd.status?.ready !== true && listed.length >= Limits.resourceStatusMaxItems) progress.readyIsUpperBound = true;
    if (bd.status?.ready !== true) progress.nonReady.push(...listed);
  }
  return [...byKey.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** `prod-eu-1: 8/9 ready, agent connected` (or `agent not connected yet`, `agent disconnected`) */
export function formatCluster(c: ClusterProgress): string {
  const ready = `${c.readyIsUpperBound ? '≤' : ''}${c.resourcesReady}/${c.resourcesApplied} ready`;
  const failed = c.resourcesFailed > 0 ? `, ${c.resourcesFailed} failed` : '';
  const agent = c.agentConnected ? 'connected' : c.agentHeartbeatExpired ? 'disconnected' : 'not connected yet';
  return `${c.name}: ${ready}${failed}, agent ${agent}`;
}
