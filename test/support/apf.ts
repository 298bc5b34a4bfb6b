import type { KubeConfig } from '@kubernetes/client-node';
import { waitFor } from '../../src/util/wait.ts';
import { applyManifests, kubeRequest, loadKubeConfig } from './kube.ts';
import type { Metrics } from './metrics.ts';

/**
 * Real throttling for the fault suite: an API Priority and Fairness level
 * that holds every request of one user, with the smallest share of the
 * server's concurrency (1 of ~246 nominal shares: a few seats), nothing lent
 * or borrowed, so requests beyond those seats are rejected with 429 and
 * `Retry-After`. How the excess is treated is the scenario's parameter:
 *
 * - `queue`: a short queue first (16 requests), as throttled tenants are
 *   usually configured, so only what overflows the queue is rejected;
 * - `reject`: no queue at all (`limitResponse: Reject`), so every request
 *   beyond the seats is rejected at once. The server adapts the level's
 *   Retry-After as it rejects: it doubles (up to 32 s) when at least
 *   3 × Retry-After requests were rejected in the last Retry-After seconds,
 *   and drops by 1 s when fewer than Retry-After were; it is only revised
 *   when a rejection happens (k8s.io/apiserver `dropped_requests_tracker.go`).
 */

export type ApfLimitResponse = 'queue' | 'reject';

export interface ApfThrottle {
  /** The user whose requests land in the level. */
  user: string;
  /** Name of both the PriorityLevelConfiguration and the FlowSchema. */
  level: string;
  limitResponse: ApfLimitResponse;
}

export function apfManifests(t: ApfThrottle): string {
  const limitResponse =
    t.limitResponse === 'queue'
      ? `
      type: Queue
      queuing:
        queues: 1
        handSize: 1
        queueLengthLimit: 16`
      : `
      type: Reject`;
  return `
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: PriorityLevelConfiguration
metadata:
  name: ${t.level}
spec:
  type: Limited
  limited:
    nominalConcurrencyShares: 1
    lendablePercent: 0
    borrowingLimitPercent: 0
    limitResponse:${limitResponse}
---
apiVersion: flowcontrol.apiserver.k8s.io/v1
kind: FlowSchema
metadata:
  name: ${t.level}
spec:
  priorityLevelConfiguration:
    name: ${t.level}
  matchingPrecedence: 100
  distinguisherMethod:
    type: ByUser
  rules:
    - subjects:
        - kind: User
          user:
            name: ${t.user}
      resourceRules:
        - verbs: ["*"]
          apiGroups: ["*"]
          resources: ["*"]
          clusterScope: true
          namespaces: ["*"]
      nonResourceRules:
        - verbs: ["*"]
          nonResourceURLs: ["*"]
`;
}

/**
 * Creates the level and waits until the API server classifies a request of
 * `userKubeconfig` (the throttled user) into it: APF's configuration
 * controller picks the objects up asynchronously. `probePath` is a cheap GET
 * that user may make.
 */
export async function throttleUser(adminKubeConfig: KubeConfig, userKubeconfig: string, t: ApfThrottle, probePath: string): Promise<KubeConfig> {
  await applyManifests(adminKubeConfig, apfManifests(t));
  const userKc = loadKubeConfig(userKubeconfig);
  const plc = await kubeRequest(adminKubeConfig, { path: `/apis/flowcontrol.apiserver.k8s.io/v1/prioritylevelconfigurations/${t.level}` });
  const plcUid = (plc.body as { metadata: { uid: string } }).metadata.uid;
  await waitFor(
    async () => (await kubeRequest(userKc, { path: probePath })).headers['x-kubernetes-pf-prioritylevel-uid'] === plcUid,
    { timeoutMs: 30_000, intervalMs: 200, description: `requests of ${t.user} classified into ${t.level}` },
  );
  return userKc;
}

export interface BurstResult {
  sent: number;
  rejected: number;
  /** The Retry-After header of each 429, as sent. */
  retryAfter: Array<string | string[] | undefined>;
}

/** `count` concurrent GETs of `path`: how many the level rejects, and with which Retry-After. */
export async function burst(kc: KubeConfig, path: string, count: number): Promise<BurstResult> {
  const answers = await Promise.all(Array.from({ length: count }, () => kubeRequest(kc, { path }).catch(() => undefined)));
  const rejected = answers.filter((r) => r?.status === 429);
  return { sent: count, rejected: rejected.length, retryAfter: rejected.map((r) => r?.headers['retry-after']) };
}

export interface LimitReport {
  /** Halvings of the adaptive limit on reconciles in flight, by signal. */
  throttled: number;
  latency: number;
  /** The lowest it went (its value at `m` when it was never lowered). */
  lowest: number;
  /** Its value at `m`. */
  now: number;
}

/**
 * How the adaptive limit on reconciles in flight moved during a run
 * (`concurrency.adaptive`): from its metrics at `m` and the debug lines
 * `reconcile concurrency limit lowered` of the controller's log.
 */
export function limitReport(logs: ReadonlyArray<Record<string, unknown>>, m: Metrics): LimitReport {
  const now = m.sum('flotilla_reconcile_concurrency_limit');
  const lowered = logs.filter((l) => l.msg === 'reconcile concurrency limit lowered').map((l) => Number(l.limit));
  return {
    throttled: m.sum('flotilla_reconcile_concurrency_limit_decreases_total', { signal: 'throttled' }),
    latency: m.sum('flotilla_reconcile_concurrency_limit_decreases_total', { signal: 'latency' }),
    lowest: Math.min(now, ...lowered),
    now,
  };
}

/** `halved 5× (5 on 429, 0 on latency), lowest 2, now 4`. */
export function describeLimit(r: LimitReport): string {
  return `limit halved ${r.throttled + r.latency}× (${r.throttled} on 429, ${r.latency} on latency), lowest ${r.lowest}, ${r.now} at the end`;
}
