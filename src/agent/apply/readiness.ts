/**
 * Whether a live object has become what it was asked to be, in the terms of
 * kstatus (sigs.k8s.io/cli-utils/pkg/kstatus), which kubectl-style tools and
 * Flux use: Current (reconciled and ready), InProgress (still getting
 * there), Failed (will not get there by itself), Terminating, NotFound,
 * Unknown. Written from kstatus's documented rules, not translated from it:
 *
 * 1. No object: NotFound. A deletionTimestamp: Terminating.
 * 2. A controller that has not yet seen the latest spec
 *    (status.observedGeneration < metadata.generation): InProgress.
 * 3. Standard conditions: Reconciling=True → InProgress, Stalled=True →
 *    Failed.
 * 4. Built-in kinds by their own status fields (below).
 * 5. Otherwise a `Ready` condition decides (False → InProgress); an object
 *    with no status at all (ConfigMap, Secret, RBAC) is Current.
 */
import type { KubeObject } from '../../runtime/kube/resource.ts';

export type ResourceState = 'Current' | 'InProgress' | 'Failed' | 'Terminating' | 'NotFound' | 'Unknown';

export interface Readiness {
  state: ResourceState;
  message: string;
}

interface Condition {
  type?: unknown;
  status?: unknown;
  reason?: unknown;
  message?: unknown;
}

type Status = Record<string, unknown>;

const current = (message = 'Resource is current'): Readiness => ({ state: 'Current', message });
const inProgress = (message: string): Readiness => ({ state: 'InProgress', message });
const failed = (message: string): Readiness => ({ state: 'Failed', message });

export function resourceReadiness(live: KubeObject | undefined): Readiness {
  if (!live) return { state: 'NotFound', message: 'Resource not found' };
  if (live.metadata.deletionTimestamp) return { state: 'Terminating', message: 'Resource scheduled for deletion' };
  const status = isRecord(live.status) ? live.status : undefined;
  const conditions = conditionsOf(status);

  const generation = live.metadata.generation;
  const observed = status?.observedGeneration;
  if (typeof generation === 'number' && typeof observed === 'number' && observed < generation) {
    return inProgress(`${live.kind ?? 'Resource'} generation is ${generation}, but latest observed generation is ${observed}`);
  }

  const reconciling = find(conditions, 'Reconciling');
  if (reconciling?.status === 'True') return inProgress(text(reconciling.message) || 'Resource is reconciling');
  const stalled = find(conditions, 'Stalled');
  if (stalled?.status === 'True') return failed(text(stalled.message) || 'Resource is stalled');

  const group = groupOf(live.apiVersion ?? '');
  const byKind = kindRules[`${live.kind ?? ''}.${group}`];
  if (byKind) {
    try {
      return byKind(live, status ?? {}, conditions);
    } catch (err) {
      return { state: 'Unknown', message: `cannot read status: ${(err as Error).message}` };
    }
  }

  const ready = find(conditions, 'Ready');
  if (ready?.status === 'False') return inProgress(text(ready.message) || 'Resource is not ready');
  if (ready?.status === 'Unknown') return inProgress(text(ready.message) || 'Readiness is unknown');
  return current();
}

type KindRule = (obj: KubeObject, status: Status, conditions: Condition[]) => Readiness;

const kindRules: Record<string, KindRule> = {
  'Deployment.apps': deploymentReadiness,
  'StatefulSet.apps': statefulSetReadiness,
  'DaemonSet.apps': daemonSetReadiness,
  'ReplicaSet.apps': replicaSetReadiness,
  'Job.batch': jobReadiness,
  'Pod.': podReadiness,
  'PersistentVolumeClaim.': (_obj, status) =>
    status.phase === 'Bound' ? current('PVC is Bound') : inProgress(`PVC is not Bound. phase: ${text(status.phase) || 'unknown'}`),
  'Service.': serviceReadiness,
  'CustomResourceDefinition.apiextensions.k8s.io': crdReadiness,
  'PodDisruptionBudget.policy': (obj, status) => {
    // observedGeneration was checked above; without it the controller has not looked yet.
    if (typeof status.observedGeneration !== 'number' && typeof obj.metadata.generation === 'number') {
      return inProgress('PodDisruptionBudget has not been observed yet');
    }
    return current('AllowedDisruptions has been computed.');
  },
};

function deploymentReadiness(obj: KubeObject, status: Status, conditions: Condition[]): Readiness {
  const desired = specReplicas(obj);
  const progressing = find(conditions, 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') return failed(text(progressing.message) || 'Progress deadline exceeded');
  if (status.observedGeneration === undefined && obj.metadata.generation !== undefined) {
    return inProgress('Deployment has not been observed yet');
  }
  const replicas = num(status.replicas);
  const updated = num(status.updatedReplicas);
  const available = num(status.availableReplicas);
  const ready = num(status.readyReplicas);
  if (updated < desired) return inProgress(`Updated: ${updated}/${desired}`);
  if (replicas > updated) return inProgress(`Pending termination: ${replicas - updated}`);
  if (available < desired) return inProgress(`Available: ${available}/${desired}`);
  if (ready < desired) return inProgress(`Ready: ${ready}/${desired}`);
  const availableCondition = find(conditions, 'Available');
  if (availableCondition?.status === 'False') return inProgress(text(availableCondition.message) || 'Deployment not Available');
  return current(`Deployment is available. Replicas: ${replicas}`);
}

function statefulSetReadiness(obj: KubeObject, status: Status): Readiness {
  const spec = specOf(obj);
  const strategy = isRecord(spec.updateStrategy) ? spec.updateStrategy : {};
  // With OnDelete nothing rolls out by itself: there is nothing to wait for.
  if (strategy.type === 'OnDelete') return current('StatefulSet is using the OnDelete update strategy');
  if (status.observedGeneration === undefined && obj.metadata.generation !== undefined) {
    return inProgress('StatefulSet has not been observed yet');
  }
  const desired = specReplicas(obj);
  const ready = num(status.readyReplicas);
  const currentReplicas = num(status.currentReplicas);
  const updated = num(status.updatedReplicas);
  if (num(status.replicas) < desired) return inProgress(`Replicas: ${num(status.replicas)}/${desired}`);
  if (ready < desired) return inProgress(`Ready: ${ready}/${desired}`);
  const rolling = isRecord(strategy.rollingUpdate) ? strategy.rollingUpdate : {};
  const partition = typeof rolling.partition === 'number' ? rolling.partition : 0;
  if (partition > 0) {
    // A partitioned rollout only updates ordinals >= partition.
    const expected = Math.max(0, desired - partition);
    if (updated < expected) return inProgress(`Partitioned rollout in progress: ${updated}/${expected} updated`);
    return current(`Partitioned rollout complete: ${updated} updated`);
  }
  if (currentReplicas < desired) return inProgress(`Current: ${currentReplicas}/${desired}`);
  if (status.updateRevision !== undefined && status.currentRevision !== status.updateRevision) {
    return inProgress(`Waiting for revision ${text(status.updateRevision)}`);
  }
  return current(`All replicas scheduled as expected. Replicas: ${ready}`);
}

function daemonSetReadiness(obj: KubeObject, status: Status): Readiness {
  if (status.observedGeneration === undefined && obj.metadata.generation !== undefined) {
    return inProgress('DaemonSet has not been observed yet');
  }
  const desired = num(status.desiredNumberScheduled);
  if (num(status.currentNumberScheduled) < desired) return inProgress(`Scheduled: ${num(status.currentNumberScheduled)}/${desired}`);
  if (num(status.updatedNumberScheduled) < desired) return inProgress(`Updated: ${num(status.updatedNumberScheduled)}/${desired}`);
  if (num(status.numberAvailable) < desired) return inProgress(`Available: ${num(status.numberAvailable)}/${desired}`);
  if (num(status.numberReady) < desired) return inProgress(`Ready: ${num(status.numberReady)}/${desired}`);
  return current(`All replicas scheduled as expected. Replicas: ${desired}`);
}

function replicaSetReadiness(obj: KubeObject, status: Status, conditions: Condition[]): Readiness {
  const failure = find(conditions, 'ReplicaFailure');
  if (failure?.status === 'True') return inProgress(text(failure.message) || 'Replica failure');
  const desired = specReplicas(obj);
  if (num(status.labeledReplicas) < desired) return inProgress(`Labelled: ${num(status.labeledReplicas)}/${desired}`);
  if (num(status.availableReplicas) < desired) return inProgress(`Available: ${num(status.availableReplicas)}/${desired}`);
  if (num(status.readyReplicas) < desired) return inProgress(`Ready: ${num(status.readyReplicas)}/${desired}`);
  if (num(status.replicas) > desired) return inProgress(`Pending termination: ${num(status.replicas) - desired}`);
  return current(`ReplicaSet is available. Replicas: ${num(status.replicas)}`);
}

function jobReadiness(obj: KubeObject, status: Status, conditions: Condition[]): Readiness {
  const failedCondition = find(conditions, 'Failed');
  if (failedCondition?.status === 'True') return failed(text(failedCondition.message) || 'Job Failed');
  const complete = find(conditions, 'Complete');
  if (complete?.status === 'True') return current(`Job Completed. succeeded: ${num(status.succeeded)}`);
  const spec = specOf(obj);
  const parallelism = typeof spec.parallelism === 'number' ? spec.parallelism : 1;
  // A suspended Job with nothing running is where it was asked to be.
  if (spec.suspend === true) return current('Job is suspended');
  if (status.startTime === undefined) return inProgress('Job not started');
  return inProgress(`Job in progress. parallelism: ${parallelism}, active: ${num(status.active)}, succeeded: ${num(status.succeeded)}, failed: ${num(status.failed)}`);
}

function podReadiness(_obj: KubeObject, status: Status, conditions: Condition[]): Readiness {
  switch (status.phase) {
    case 'Succeeded':
      return current('Pod has completed successfully');
    case 'Failed':
      return failed(text(status.message) || 'Pod has failed');
    case 'Running': {
      const ready = find(conditions, 'Ready');
      return ready?.status === 'True' ? current('Pod is Ready') : inProgress('Pod is running but is not Ready');
    }
    default:
      return inProgress(`Pod phase: ${text(status.phase) || 'Pending'}`);
  }
}

function serviceReadiness(obj: KubeObject, status: Status): Readiness {
  if (specOf(obj).type !== 'LoadBalancer') return current('Service is ready');
  const lb = isRecord(status.loadBalancer) ? status.loadBalancer : {};
  const ingress = Array.isArray(lb.ingress) ? lb.ingress : [];
  return ingress.length > 0 ? current('Service is ready') : inProgress('LoadBalancer has no ingress address yet');
}

function crdReadiness(_obj: KubeObject, _status: Status, conditions: Condition[]): Readiness {
  const names = find(conditions, 'NamesAccepted');
  if (names?.status === 'False') return failed(text(names.message) || 'CRD names not accepted');
  const established = find(conditions, 'Established');
  if (established?.status === 'True') return current('CRD is established');
  return inProgress(text(established?.message) || 'CRD is not established yet');
}

function conditionsOf(status: Status | undefined): Condition[] {
  const raw = status?.conditions;
  return Array.isArray(raw) ? raw.filter(isRecord) : [];
}

function find(conditions: Condition[], type: string): Condition | undefined {
  return conditions.find((c) => c.type === type);
}

function specOf(obj: KubeObject): Record<string, unknown> {
  return isRecord(obj.spec) ? obj.spec : {};
}

/** spec.replicas, defaulted to 1 as the API server does. */
function specReplicas(obj: KubeObject): number {
  const replicas = specOf(obj).replicas;
  return typeof replicas === 'number' ? replicas : 1;
}

function num(value: unknown): number {
  return typeof value === 'number' ? value : 0;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}
