/**
 * Agent heartbeats → the Cluster's `AgentConnected` condition.
 *
 * Each agent renews a coordination.k8s.io/v1 Lease `flotilla-agent` in its
 * Cluster's deployment namespace every 10 s with leaseDurationSeconds 40 (the
 * node-lease convention). One cluster-wide informer (fieldSelector
 * `metadata.name=flotilla-agent`) reads them; a Lease's namespace maps to its
 * Cluster through the deployment-namespace index, and only to that Cluster's
 * key: a heartbeat never reaches a Bundle. (Fleet #3796: its agents' status
 * heartbeats re-enqueued every Bundle matching the Cluster.) The Cluster
 * status change that a transition writes does not fan out either: the
 * fan-out starts only on labels, spec, deletion and the deployment namespace
 * (`clusterChangeTriggersFanOut`), never on conditions.
 *
 * The condition, from the Lease and the controller's clock:
 *   True    Heartbeat         renewTime + leaseDurationSeconds is in the future
 *   False   HeartbeatExpired  it is not (the message names the last renewal)
 *   Unknown NoAgent           no Lease
 * Its message does not contain the renew time while True, so a renewal that
 * keeps it True computes the same status and writes nothing; and a renewal
 * that changes nothing about the condition does not even enqueue the
 * Cluster: the reconcile at the expiry instant (requeueAfter) sees the
 * newest renewal and schedules the next one. The times are the agent's
 * clock against the controller's, as kubelet node leases are; clocks kept
 * within seconds of each other (NTP) are assumed.
 */
import { AGENT_LEASE_NAME, ConditionReason, ConditionStatus, ConditionType } from '../api/constants.ts';
import type { ConditionUpdate } from '../placement/conditions.ts';
import { builtinTypes, type KubeObject } from '../runtime/kube/resource.ts';
import { Lane, objectEvents, requests, watch, type ObjectEvent, type Watch } from '../runtime/watches.ts';
import type { Store } from '../runtime/informer/store.ts';

export interface LeaseObject extends KubeObject {
  spec?: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number | null;
    acquireTime?: string | null;
    renewTime?: string | null;
  } | null;
}

/** The agent Leases' informer: one, cluster-wide, for that one name. */
export const agentLeaseCacheSpec = {
  type: builtinTypes.lease,
  builtinIndexes: [],
  fieldSelector: `metadata.name=${AGENT_LEASE_NAME}`,
} as const;

/** A renewal is late by this much before the requeue at its expiry runs (timers are not exact). */
const EXPIRY_MARGIN_MS = 250;

export interface AgentConnected {
  readonly condition: ConditionUpdate;
  /** While True: when it expires (ms since the epoch), for a requeue then. */
  readonly expiresAt?: number;
}

/** `AgentConnected` for the Lease (or none) in `namespace`, at `nowMs`. */
export function agentConnected(lease: LeaseObject | undefined, namespace: string, nowMs: number): AgentConnected {
  const where = `Lease ${AGENT_LEASE_NAME} in namespace ${namespace}`;
  if (lease === undefined || lease.metadata.deletionTimestamp) {
    return {
      condition: {
        type: ConditionType.AgentConnected,
        status: ConditionStatus.Unknown,
        reason: ConditionReason.NoAgent,
        message: `no agent heartbeat: no ${where}`,
      },
    };
  }
  const holder = lease.spec?.holderIdentity ? `agent ${lease.spec.holderIdentity}` : 'the agent';
  const durationS = lease.spec?.leaseDurationSeconds ?? 0;
  const renewed = lease.spec?.renewTime ?? lease.spec?.acquireTime ?? undefined;
  const renewedMs = renewed ? Date.parse(renewed) : Number.NaN;
  const expiresAt = renewedMs + durationS * 1000;
  if (Number.isFinite(expiresAt) && expiresAt > nowMs) {
    return {
      condition: {
        type: ConditionType.AgentConnected,
        status: ConditionStatus.True,
        reason: ConditionReason.Heartbeat,
        message: `${holder} renews its heartbeat (${where}, leaseDurationSeconds ${durationS})`,
      },
      expiresAt,
    };
  }
  return {
    condition: {
      type: ConditionType.AgentConnected,
      status: ConditionStatus.False,
      reason: ConditionReason.HeartbeatExpired,
      message: renewed
        ? `${holder} last renewed its heartbeat at ${renewed}; it expired ${durationS} s later (${where})`
        : `${holder} never renewed its heartbeat (${where})`,
    },
  };
}

/** Milliseconds until the reconcile that notices `expiresAt` has passed. */
export function requeueAtExpiry(expiresAt: number, nowMs: number): number {
  return Math.max(1, expiresAt - nowMs + EXPIRY_MARGIN_MS);
}

function sameCondition(a: ConditionUpdate, b: ConditionUpdate): boolean {
  return a.status === b.status && a.reason === b.reason && a.message === b.message;
}

/**
 * The Cluster controller's watch of the agent Leases: a Lease's namespace to
 * the key of the Cluster whose deployment namespace it is, and only when
 * the condition would read differently (a renewal while True is not news:
 * the requeue at the expiry instant looks at the Lease again).
 */
export function agentLeaseWatch(
  leases: { readonly store: Store<LeaseObject> },
  clusterKeysOfNamespace: (namespace: string) => Iterable<string>,
  now: () => number = Date.now,
): Watch {
  return watch(objectEvents(leases), (e: ObjectEvent<LeaseObject>) => {
    const namespace = e.obj.metadata.namespace ?? '';
    if (e.type === 'added' && e.initialList) return undefined; // each Cluster is listed itself
    if (e.type === 'updated') {
      if (e.resync) return undefined;
      const t = now();
      if (sameCondition(agentConnected(e.old, namespace, t).condition, agentConnected(e.obj, namespace, t).condition)) return undefined;
    }
    return requests(clusterKeysOfNamespace(namespace), Lane.dependency);
  });
}
