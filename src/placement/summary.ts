/**
 * A Bundle's status, computed from its targeted Clusters and the cached
 * statuses of its BundleDeployments (docs/architecture.md#bundle-status).
 * Pure and deterministic: given the previous status as input, an unchanged
 * world yields an equal (in fact byte-identical) status, so the controller
 * can compare with `statusEqual` and skip the write
 * (docs/architecture.md#minimal-writes, Fleet #3163).
 *
 * Counting: every targeted Cluster counts once, in the state of its
 * BundleDeployment (`bundleDeploymentState`; no BundleDeployment yet is
 * Pending), so `ready ≤ desiredReady` and the state counts add up to
 * `desiredReady`. BundleDeployments of Clusters no longer targeted (kept
 * while paused, or being deleted) are not counted: they are not what the
 * Bundle asks for.
 *
 * Conditions:
 *   Ready     True when every targeted Cluster is Ready (also when none is
 *             targeted: there is nothing to wait for). False with the worst
 *             state as reason (ErrApplied, Modified, OutOfSync, WaitApplied,
 *             Pending, NotReady) and the counts and first Clusters in the
 *             message; or, when the content is invalid (nothing new can be
 *             deployed), with the content problem's reason.
 *   Targeted  True (TargetsMatched) when targets are valid and select at
 *             least one Cluster; False with NoTargets, NoMatchingClusters,
 *             or the first target problem's reason (InvalidTarget,
 *             ClusterGroupNotFound, InvalidClusterGroup), listing all.
 */
import type { BundleStatus } from '../api/bundle.ts';
import type { Condition } from '../api/condition.ts';
import { ConditionReason, ConditionStatus, ConditionType, DeploymentState, Label, Limits } from '../api/constants.ts';
import type { BundleSummary } from '../api/summary.ts';
import { setConditions, type ConditionUpdate } from './conditions.ts';
import {
  bundleDeploymentState,
  countState,
  describeNonReadyCounts,
  emptyDeploymentCounts,
  stateSeverity,
  worseState,
  type BundleDeploymentStateFacts,
} from './deployment-state.ts';
import { displayStatus } from './display-status.ts';
import { PAUSED_MESSAGE_PREFIX } from './transitions.ts';
import { jsonEqual } from './json-equal.ts';
import { formatProblems, isTargetProblem, type BundleProblem } from './problems.ts';

/** The parts of a BundleDeployment the summary reads (an API `BundleDeployment` fits). */
export interface BundleDeploymentFacts extends BundleDeploymentStateFacts {
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly deletionTimestamp?: string | null;
  };
}

export interface BundleStatusInput {
  readonly bundle: {
    readonly metadata: { readonly name: string; readonly namespace?: string; readonly generation?: number };
    readonly spec: { readonly targets?: readonly unknown[] | null; readonly paused?: boolean | null };
    /** The current status: its conditions' transition times are kept when their status holds. */
    readonly status?: BundleStatus | null;
  };
  /** Names of the Clusters the Bundle is deployed to (`PlacementResult.desired` keys). */
  readonly targetedClusters: Iterable<string>;
  /** How many Clusters `doNotDeploy` targets excluded (for the Targeted message). */
  readonly excludedClusters?: number;
  /** The cached BundleDeployments of this Bundle (others are ignored). */
  readonly bundleDeployments: Iterable<BundleDeploymentFacts>;
  /** The Bundle's current deployment ID; unknown while the content is invalid. */
  readonly desiredDeploymentID?: string | undefined;
  /** Name of the Content holding the current resources. */
  readonly contentName?: string | undefined;
  /** Problems from `validateBundleResources` and `computePlacement`. */
  readonly problems?: readonly BundleProblem[];
  /** The `Rollout` condition (`placement/rollout.ts`), when the Bundle has one. */
  readonly rollout?: ConditionUpdate | undefined;
  /** Used only for conditions whose status changes. */
  readonly now: Date | string;
}

export interface DeploymentSummary {
  readonly summary: BundleSummary;
  /** State of each targeted Cluster's deployment, in cluster-name order. */
  readonly states: ReadonlyMap<string, DeploymentState>;
  /** Worst state among targeted Clusters; `undefined` when none is targeted. */
  readonly worst: DeploymentState | undefined;
}

const CLUSTER_LIST_IN_MESSAGE = 5;

/**
 * Counts the targeted Clusters by the state of their BundleDeployments.
 * `nonReadyClusters` lists at most 10, worst state first, then by name.
 */
export function summarizeBundleDeployments(
  bundle: { readonly metadata: { readonly name: string; readonly namespace?: string } },
  targetedClusters: Iterable<string>,
  bundleDeployments: Iterable<BundleDeploymentFacts>,
  desiredDeploymentID?: string,
): DeploymentSummary {
  const byCluster = bundleDeploymentsByCluster(bundle, bundleDeployments);
  const counts = emptyDeploymentCounts();
  const entries: [string, DeploymentState][] = [];
  let worst: DeploymentState | undefined;
  for (const cluster of new Set(targetedClusters)) {
    const state = bundleDeploymentState(byCluster.get(cluster), desiredDeploymentID);
    entries.push([cluster, state]);
    counts.desiredReady++;
    countState(counts, state);
    worst = worst === undefined ? state : worseState(worst, state);
  }
  entries.sort(([a], [b]) => compareStrings(a, b));
  const nonReady = entries
    .filter(([, state]) => state !== DeploymentState.Ready)
    .sort(([a, sa], [b, sb]) => stateSeverity(sb) - stateSeverity(sa) || compareStrings(a, b))
    .slice(0, Limits.nonReadyClustersMaxItems)
    .map(([cluster]) => cluster);
  const resources = nonReadyResources(nonReady, states(entries), byCluster);
  const summary: BundleSummary =
    nonReady.length === 0 ? counts : resources.length === 0 ? { ...counts, nonReadyClusters: nonReady } : { ...counts, nonReadyClusters: nonReady, nonReadyResources: resources };
  return { summary, states: new Map(entries), worst };
}

const states = (entries: readonly [string, DeploymentState][]): ReadonlyMap<string, DeploymentState> => new Map(entries);

/**
 * What the agents of the listed non-ready clusters report: each one's
 * not-ready and modified resources, in `clusters` order, for those that
 * report any (the agent caps each list; so does the schema).
 */
function nonReadyResources(
  clusters: readonly string[],
  stateOf: ReadonlyMap<string, DeploymentState>,
  byCluster: ReadonlyMap<string, BundleDeploymentFacts>,
): NonNullable<BundleSummary['nonReadyResources']> {
  const out: NonNullable<BundleSummary['nonReadyResources']> = [];
  for (const cluster of clusters) {
    const status = byCluster.get(cluster)?.status;
    const nonReady = (status?.nonReadyResources ?? []).slice(0, Limits.resourceStatusMaxItems);
    const modified = (status?.modifiedResources ?? []).slice(0, Limits.resourceStatusMaxItems);
    if (nonReady.length === 0 && modified.length === 0) continue;
    const entry: NonNullable<BundleSummary['nonReadyResources']>[number] = { cluster, state: stateOf.get(cluster)! };
    if (nonReady.length > 0) entry.nonReady = nonReady.map((r) => ({ ...r }));
    if (modified.length > 0) entry.modified = modified.map((r) => ({ ...r }));
    out.push(entry);
  }
  return out;
}

/** The Bundle's whole status (what the controller writes to `/status`). */
export function computeBundleStatus(input: BundleStatusInput): BundleStatus {
  const { bundle } = input;
  const generation = bundle.metadata.generation;
  const problems = input.problems ?? [];
  const { summary, worst } = summarizeBundleDeployments(
    bundle,
    input.targetedClusters,
    input.bundleDeployments,
    input.desiredDeploymentID,
  );

  const updates: ConditionUpdate[] = [
    withGeneration(readyCondition(summary, worst, problems.filter((p) => !isTargetProblem(p)), bundle.spec.paused === true), generation),
    withGeneration(
      targetedCondition(
        summary.desiredReady,
        input.excludedClusters ?? 0,
        bundle.spec.targets?.length ?? 0,
        bundle.metadata.namespace ?? '',
        problems.filter(isTargetProblem),
      ),
      generation,
    ),
  ];
  if (input.rollout !== undefined) updates.push(withGeneration(input.rollout, generation));
  const conditions: Condition[] = setConditions(input.bundle.status?.conditions, updates, input.now);

  // Fixed key order, optional members only when set: equal status, equal bytes.
  const status: BundleStatus = {};
  if (generation !== undefined) status.observedGeneration = generation;
  status.conditions = conditions;
  status.summary = summary;
  const readyClusters = `${summary.ready}/${summary.desiredReady}`;
  const shown = displayStatus({ conditions, worst, paused: bundle.spec.paused === true });
  status.display = {
    readyClusters,
    ...(worst === undefined ? {} : { state: worst }),
    ...(shown === undefined ? {} : { status: shown }),
  };
  if (input.contentName !== undefined) status.contentName = input.contentName;
  return status;
}

/**
 * Whether two statuses would be stored alike: deep equality insensitive to
 * object key order and to `undefined` members (which JSON drops), sensitive
 * to everything else including list order. Equal ⇒ skip the write.
 */
export function statusEqual(a: unknown, b: unknown): boolean {
  return jsonEqual(a ?? null, b ?? null);
}

const PAUSED_NOTE = PAUSED_MESSAGE_PREFIX;
const CONTENT_PROBLEMS = 'the resources cannot be deployed: ';

/**
 * The parts of a problem condition's message around the problems: what the
 * workspace's counts (clusters ready, targeted, excluded) and pausing add.
 * They are the inverse of how `readyCondition` and `targetedCondition` build
 * those messages, and change whenever a Cluster comes or goes.
 */
const PROBLEM_FRAMES: Readonly<Record<string, RegExp>> = {
  [ConditionType.Ready]: /^(?:paused \(BundleDeployments are kept but not updated\); )?the resources cannot be deployed: (.*); \d+\/\d+ clusters ready$/s,
  [ConditionType.Targeted]: /^\d+ Clusters? targeted(?:, \d+ excluded by doNotDeploy)?; (.*)$/s,
};

/**
 * The problems a False `Ready` or `Targeted` condition reports, without the
 * counts around them: the same problem reads the same whether 3 or 4
 * Clusters are in the workspace, so a change of counts is not a new problem
 * to warn about. A message of another shape is returned whole.
 */
export function problemStatement(condition: { readonly type: string; readonly message?: string }): string {
  const message = condition.message ?? '';
  return PROBLEM_FRAMES[condition.type]?.exec(message)?.[1] ?? message;
}

function readyCondition(
  summary: BundleSummary,
  worst: DeploymentState | undefined,
  contentProblems: readonly BundleProblem[],
  paused: boolean,
): ConditionUpdate {
  const ratio = `${summary.ready}/${summary.desiredReady} clusters ready`;
  const pausedNote = paused ? PAUSED_NOTE : '';
  const first = contentProblems[0];
  if (first !== undefined) {
    return {
      type: ConditionType.Ready,
      status: ConditionStatus.False,
      reason: first.reason,
      message: `${pausedNote}${CONTENT_PROBLEMS}${formatProblems(contentProblems)}; ${ratio}`,
    };
  }
  if (worst === undefined || worst === DeploymentState.Ready) {
    return {
      type: ConditionType.Ready,
      status: ConditionStatus.True,
      reason: ConditionReason.Ready,
      message: `${pausedNote}${ratio}${summary.desiredReady === 0 ? ' (no Cluster is targeted)' : ''}`,
    };
  }
  const listed = (summary.nonReadyClusters ?? []).slice(0, CLUSTER_LIST_IN_MESSAGE);
  const notListed = summary.desiredReady - summary.ready - listed.length;
  const clusters = `${listed.join(', ')}${notListed > 0 ? ` and ${notListed} more` : ''}`;
  return {
    type: ConditionType.Ready,
    status: ConditionStatus.False,
    reason: ConditionReason[worst],
    message: `${pausedNote}${ratio}; ${describeNonReadyCounts(summary)}; not ready: ${clusters}`,
  };
}

function targetedCondition(
  targeted: number,
  excluded: number,
  targetCount: number,
  workspace: string,
  targetProblems: readonly BundleProblem[],
): ConditionUpdate {
  const counted = `${plural(targeted, 'Cluster')} targeted${excluded > 0 ? `, ${excluded} excluded by doNotDeploy` : ''}`;
  const first = targetProblems[0];
  if (first !== undefined) {
    return {
      type: ConditionType.Targeted,
      status: ConditionStatus.False,
      reason: first.reason,
      message: `${counted}; ${formatProblems(targetProblems)}`,
    };
  }
  if (targetCount === 0) {
    return {
      type: ConditionType.Targeted,
      status: ConditionStatus.False,
      reason: ConditionReason.NoTargets,
      message: 'spec.targets is empty, so the Bundle is deployed to no Cluster; add a target (clusterSelector: {} selects every Cluster of the workspace)',
    };
  }
  if (targeted === 0) {
    return {
      type: ConditionType.Targeted,
      status: ConditionStatus.False,
      reason: ConditionReason.NoMatchingClusters,
      message: `no Cluster in namespace "${workspace}" matches spec.targets${excluded > 0 ? ` (${excluded} excluded by doNotDeploy)` : ''}`,
    };
  }
  return {
    type: ConditionType.Targeted,
    status: ConditionStatus.True,
    reason: ConditionReason.TargetsMatched,
    message: counted,
  };
}

function withGeneration(update: ConditionUpdate, generation: number | undefined): ConditionUpdate {
  return generation === undefined ? update : { ...update, observedGeneration: generation };
}

/**
 * This Bundle's BundleDeployments by Cluster name (from their labels). If a
 * Cluster somehow has two, the live one wins over one being deleted, then
 * the first by namespace, so the choice is deterministic.
 */
function bundleDeploymentsByCluster(
  bundle: { readonly metadata: { readonly name: string; readonly namespace?: string } },
  bundleDeployments: Iterable<BundleDeploymentFacts>,
): Map<string, BundleDeploymentFacts> {
  const out = new Map<string, BundleDeploymentFacts>();
  for (const bd of bundleDeployments) {
    const labels = bd.metadata.labels ?? {};
    if (labels[Label.BundleName] !== bundle.metadata.name) continue;
    if (labels[Label.BundleNamespace] !== bundle.metadata.namespace) continue;
    const cluster = labels[Label.ClusterName];
    if (cluster === undefined) continue;
    const current = out.get(cluster);
    if (current === undefined || preferred(bd, current)) out.set(cluster, bd);
  }
  return out;
}

function preferred(a: BundleDeploymentFacts, b: BundleDeploymentFacts): boolean {
  const aDeleting = a.metadata.deletionTimestamp !== undefined && a.metadata.deletionTimestamp !== null;
  const bDeleting = b.metadata.deletionTimestamp !== undefined && b.metadata.deletionTimestamp !== null;
  if (aDeleting !== bDeleting) return bDeleting;
  return compareStrings(a.metadata.namespace ?? '', b.metadata.namespace ?? '') < 0;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
