/**
 * The status an agent reports on a BundleDeployment, computed from what it
 * applied and what it observes on the downstream cluster. Pure, and
 * deterministic for an unchanged world (no counters or times in messages),
 * so recomputing it writes nothing: the agent compares the result with the
 * stored status and patches only a difference.
 */
import type { BundleDeploymentStatus, ResourceStatus } from '../api/bundle-deployment.ts';
import { ConditionStatus, ConditionType, Limits } from '../api/constants.ts';
import { setConditions, type ConditionUpdate } from '../placement/conditions.ts';
import { bundleDeploymentState } from '../placement/deployment-state.ts';
import type { ObjectRef, ResourceProblem } from './apply/types.ts';
import type { ResourceState } from './apply/readiness.ts';

/** Condition types only the agent writes. */
export const AgentCondition = {
  Applied: ConditionType.Applied,
  Ready: ConditionType.Ready,
  /** Every applied resource is watched on the downstream cluster, so drift and readiness are current. */
  Monitored: 'Monitored',
} as const;

/** One applied resource as the agent sees it now. */
export interface ResourceObservation {
  readonly ref: ObjectRef;
  readonly state: ResourceState;
  readonly message: string;
  /** Paths of applied fields whose live value differs; empty when in sync. */
  readonly drifted: readonly string[];
  /** Deleted from the downstream cluster since it was applied. */
  readonly missing: boolean;
}

export interface DeploymentFacts {
  readonly generation: number | undefined;
  /** The deploymentID whose apply completed (possibly with problems); undefined: nothing applied yet. */
  readonly appliedDeploymentID: string | undefined;
  /** Resources that could not be applied, with the API's message. */
  readonly problems: readonly ResourceProblem[];
  readonly observations: readonly ResourceObservation[];
  /** Every applied kind's watch has completed its first LIST. */
  readonly monitored: boolean;
  readonly paused: boolean;
  readonly previous: BundleDeploymentStatus | undefined;
  readonly now: Date;
}

const MAX_ITEMS = Limits.resourceStatusMaxItems;
/** Problems named in a condition message before "and N more". */
const MESSAGE_ITEMS = 3;

export function refName(ref: Pick<ObjectRef, 'kind' | 'namespace' | 'name'>): string {
  return `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
}

function resourceStatus(ref: ObjectRef, message: string): ResourceStatus {
  return {
    kind: ref.kind,
    apiVersion: ref.apiVersion,
    ...(ref.namespace ? { namespace: ref.namespace } : {}),
    name: ref.name,
    message: message.length > 1024 ? `${message.slice(0, 1023)}…` : message,
  };
}

function problemStatus(problem: ResourceProblem): ResourceStatus {
  // A manifest that did not even parse has no object to name: the manifest stands in for it.
  const ref = problem.ref ?? { apiVersion: 'v1', kind: 'Manifest', name: problem.manifest.replace(/[^a-z0-9.-]/gi, '-').toLowerCase() || 'manifest' };
  return resourceStatus(ref, `${problem.manifest}: ${problem.message}`);
}

function listMessage(items: readonly string[]): string {
  const shown = items.slice(0, MESSAGE_ITEMS).join('; ');
  return items.length > MESSAGE_ITEMS ? `${shown}; and ${items.length - MESSAGE_ITEMS} more` : shown;
}

const byRef = (a: ResourceStatus, b: ResourceStatus) =>
  `${a.kind}/${a.namespace ?? ''}/${a.name}`.localeCompare(`${b.kind}/${b.namespace ?? ''}/${b.name}`);

export function deploymentStatus(facts: DeploymentFacts): BundleDeploymentStatus {
  const notReady = facts.observations.filter((o) => !o.missing && o.state !== 'Current');
  const modified = facts.observations.filter((o) => o.missing || o.drifted.length > 0);
  const problems = facts.problems;
  const applied = facts.appliedDeploymentID !== undefined;
  const ready = applied && problems.length === 0 && notReady.length === 0 && modified.every((o) => !o.missing);

  const nonReadyResources = [
    ...problems.map(problemStatus),
    ...notReady.map((o) => resourceStatus(o.ref, `${o.state}: ${o.message}`)),
  ].sort(byRef).slice(0, MAX_ITEMS);
  const modifiedResources = modified
    .map((o) => resourceStatus(o.ref, o.missing ? 'missing: deleted from the cluster' : `changed: ${o.drifted.join(', ')}`))
    .sort(byRef)
    .slice(0, MAX_ITEMS);

  const generation = facts.generation;
  const condition = (type: string, ok: boolean, reason: string, message: string): ConditionUpdate => ({
    type,
    status: ok ? ConditionStatus.True : ConditionStatus.False,
    reason,
    message,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  });
  const appliedCount = facts.observations.length;
  const updates: ConditionUpdate[] = [
    !applied
      ? condition(AgentCondition.Applied, false, facts.paused ? 'Paused' : 'Pending', facts.paused ? 'paused before anything was applied' : 'not applied yet')
      : problems.length > 0
        ? condition(
            AgentCondition.Applied,
            false,
            'ApplyFailed',
            `${problems.length} of ${problems.length + appliedCount} resources failed: ${listMessage(problems.map((p) => `${p.ref ? refName(p.ref) : p.manifest}: ${p.message}`))}`,
          )
        : condition(AgentCondition.Applied, true, facts.paused ? 'Paused' : 'Applied', `${appliedCount} resources applied${facts.paused ? '; paused: later changes are not applied' : ''}`),
    ready
      ? condition(AgentCondition.Ready, true, 'Ready', 'all resources are ready')
      : condition(
          AgentCondition.Ready,
          false,
          'NotReady',
          notReady.length + modified.filter((o) => o.missing).length > 0
            ? listMessage([
                ...modified.filter((o) => o.missing).map((o) => `${refName(o.ref)}: missing`),
                ...notReady.map((o) => `${refName(o.ref)}: ${o.state}: ${o.message}`),
              ])
            : problems.length > 0
              ? 'some resources could not be applied'
              : 'not applied yet',
        ),
    facts.monitored
      ? condition(AgentCondition.Monitored, true, 'Watching', `watching ${appliedCount} resources for readiness and drift`)
      : condition(AgentCondition.Monitored, false, 'WaitingForCache', 'the watches of the applied kinds have not listed them yet'),
  ];

  const status: BundleDeploymentStatus = {
    ...(applied ? { appliedDeploymentID: facts.appliedDeploymentID } : {}),
    ready,
    nonModified: modified.length === 0,
    conditions: setConditions(facts.previous?.conditions, updates, facts.now),
    nonReadyResources,
    modifiedResources,
  };
  return status;
}

/**
 * The status with its display state, which summarises the rest the way the
 * controller's summaries do, so `kubectl get bundledeployments` agrees with
 * `kubectl get bundles`.
 */
export function withDisplay(status: BundleDeploymentStatus, deploymentID: string): BundleDeploymentStatus {
  const state = bundleDeploymentState({ metadata: {}, spec: { deploymentID }, status });
  return { ...status, display: { state } };
}
