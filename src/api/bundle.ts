/**
 * Bundle: a set of manifests and the rules (targets) that decide which
 * Clusters of the same workspace receive them
 * (docs/architecture.md#targeting).
 */
import Type from 'typebox';
import { Kind, Limits } from './constants.ts';
import { BundleResources } from './bundle-resource.ts';
import { Conditions } from './condition.ts';
import { DeploymentOptions } from './deployment-options.ts';
import { LabelSelector } from './label-selector.ts';
import { ObjectMeta, TypeMeta, labelSafeNameValidation } from './object-meta.ts';
import { CONTENT_NAME_PATTERN } from './patterns.ts';
import { DnsLabel, DnsSubdomain, IntOrPercent, ObservedGeneration } from './primitives.ts';
import { BundleSummary, DisplayState, DisplayStatus, ReadyRatio } from './summary.ts';

/**
 * The fields of a target that select Clusters. A target must set at least
 * one: the schema's rule, the controller's check and their messages are all
 * made from this list, so a new criterion is added here once.
 */
export const TARGET_CRITERIA = ['clusterSelector', 'clusterGroup', 'clusterGroupSelector', 'clusterName'] as const;
export type TargetCriterion = (typeof TARGET_CRITERIA)[number];
/** "clusterSelector, clusterGroup, clusterGroupSelector or clusterName" */
export const TARGET_CRITERIA_LIST = `${TARGET_CRITERIA.slice(0, -1).join(', ')} or ${TARGET_CRITERIA[TARGET_CRITERIA.length - 1]}`;

/**
 * One targeting rule. All criteria set on a target must match; targets are
 * tried in order and the first matching one decides for a cluster.
 */
export const BundleTarget = Type.Object(
  {
    name: Type.Optional(DnsLabel('Optional name of the target, for status and messages.')),
    clusterSelector: Type.Optional(
      LabelSelector("Selects Clusters by their labels."),
    ),
    clusterGroup: Type.Optional(
      DnsSubdomain('Name of a ClusterGroup in the same workspace; matches its member Clusters.'),
    ),
    clusterGroupSelector: Type.Optional(
      LabelSelector(
        'Selects ClusterGroups by their labels; matches Clusters that are members of any selected group.',
      ),
    ),
    clusterName: Type.Optional(DnsLabel('Name of a single Cluster in the same workspace.')),
    doNotDeploy: Type.Optional(
      Type.Boolean({
        description: 'When true, Clusters matched by this target are excluded instead of deployed to.',
      }),
    ),
  },
  {
    // A target with no criterion would silently match nothing; that is
    // almost always a mistake (e.g. a misspelt field that got pruned).
    'x-kubernetes-validations': [
      {
        rule: TARGET_CRITERIA.map((field) => `has(self.${field})`).join(' || '),
        message: `a target needs at least one of ${TARGET_CRITERIA_LIST} (use clusterSelector: {} for all clusters)`,
        reason: 'FieldValueRequired',
      },
    ],
  },
);
export type BundleTarget = Type.Static<typeof BundleTarget>;

/** How a new deployment ID reaches the Bundle's Clusters (docs/architecture.md#rollout). */
export const RolloutStrategy = Type.Object(
  {
    maxUnavailable: Type.Optional(
      IntOrPercent(
        'Most targeted clusters that may be unavailable (their BundleDeployment not applied and ready at its deployment ID) while existing BundleDeployments are updated to a new deployment ID: a count, or a percentage of the targeted clusters rounded down but at least 1. Default 100% (no limit). New clusters and removals are never held.',
      ),
    ),
  },
  { description: 'Limits on how fast a change of content or options is rolled out, as Fleet\'s rolloutStrategy.' },
);
export type RolloutStrategy = Type.Static<typeof RolloutStrategy>;

export const BundleSpec = Type.Object(
  {
    resources: Type.Optional(BundleResources('Manifests to deploy.')),
    targets: Type.Optional(
      Type.Array(BundleTarget, {
        maxItems: Limits.targetsMaxItems,
        description:
          'Rules selecting the Clusters (of this workspace) to deploy to; the first matching target decides. No targets: deployed nowhere.',
      }),
    ),
    paused: Type.Optional(
      Type.Boolean({
        description: 'When true, existing BundleDeployments are kept but not updated.',
      }),
    ),
    options: Type.Optional(DeploymentOptions),
    rolloutStrategy: Type.Optional(RolloutStrategy),
  },
  { description: 'What to deploy and where.' },
);
export type BundleSpec = Type.Static<typeof BundleSpec>;

export const BundleStatus = Type.Object(
  {
    observedGeneration: Type.Optional(ObservedGeneration()),
    conditions: Type.Optional(Conditions()),
    summary: Type.Optional(BundleSummary),
    display: Type.Optional(
      Type.Object(
        {
          readyClusters: Type.Optional(ReadyRatio('Ready clusters out of targeted clusters, as "ready/desired".')),
          state: Type.Optional(DisplayState('Worst state among the BundleDeployments.')),
          status: Type.Optional(
            DisplayStatus(
              'What kubectl shows as STATUS: the reason that matters most (Stalled reason, then an invalid-input or targeting problem, ErrApplied, Modified, Paused, a held rollout, then the worst state).',
            ),
          ),
        },
        { description: 'Short strings for printer columns.' },
      ),
    ),
    contentName: Type.Optional(
      Type.String({
        pattern: CONTENT_NAME_PATTERN,
        description: 'Name of the Content holding the current resources.',
      }),
    ),
  },
  { description: 'Observed state, written by the controller.' },
);
export type BundleStatus = Type.Static<typeof BundleStatus>;

export const Bundle = Type.Object(
  {
    ...TypeMeta(Kind.Bundle),
    metadata: ObjectMeta(DnsLabel()),
    spec: BundleSpec,
    status: Type.Optional(BundleStatus),
  },
  {
    description: 'A set of manifests and the Clusters of its workspace they are deployed to.',
    'x-kubernetes-validations': [labelSafeNameValidation(Kind.Bundle)],
  },
);
export type Bundle = Type.Static<typeof Bundle>;
