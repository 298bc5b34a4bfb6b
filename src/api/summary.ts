/**
 * Status summaries: counts of BundleDeployments by state, shared by Bundle
 * and Cluster status, and the short strings printer columns show.
 */
import Type from 'typebox';
import { DeploymentState, Limits } from './constants.ts';
import { CONDITION_REASON_PATTERN, READY_RATIO_PATTERN } from './patterns.ts';
import { DnsLabel, NonNegativeInteger, StringEnum } from './primitives.ts';
import { ResourceStatusList } from './resource-status.ts';

const countFields = {
  desiredReady: NonNegativeInteger('BundleDeployments that should exist (targeted clusters).'),
  ready: NonNegativeInteger('BundleDeployments applied and ready.'),
  notReady: NonNegativeInteger('BundleDeployments applied but not ready.'),
  pending: NonNegativeInteger('BundleDeployments not yet created or not yet picked up.'),
  modified: NonNegativeInteger('BundleDeployments whose resources drifted from the manifests.'),
  errApplied: NonNegativeInteger('BundleDeployments whose last apply failed.'),
  waitApplied: NonNegativeInteger('BundleDeployments waiting for the agent to apply the current deployment ID.'),
  outOfSync: NonNegativeInteger('BundleDeployments not updated to the Bundle\'s current content (e.g. paused).'),
};

export const DeploymentCounts = Type.Object(countFields, {
  description: 'Counts of BundleDeployments by state.',
});
export type DeploymentCounts = Type.Static<typeof DeploymentCounts>;

export const BundleSummary = Type.Object(
  {
    ...countFields,
    nonReadyClusters: Type.Optional(
      Type.Array(DnsLabel(), {
        maxItems: Limits.nonReadyClustersMaxItems,
        description: `Names of up to ${Limits.nonReadyClustersMaxItems} clusters that are not ready.`,
      }),
    ),
    nonReadyResources: Type.Optional(
      Type.Array(
        Type.Object({
          cluster: DnsLabel('The cluster (one of nonReadyClusters).'),
          state: DisplayState('State of its BundleDeployment.'),
          nonReady: Type.Optional(ResourceStatusList('Resources its agent reports not ready')),
          modified: Type.Optional(ResourceStatusList('Resources its agent reports drifted from their manifests')),
        }),
        {
          maxItems: Limits.nonReadyClustersMaxItems,
          description: 'What the agents of the listed nonReadyClusters report as not ready or modified (their BundleDeployments\' nonReadyResources and modifiedResources), for those that report any.',
        },
      ),
    ),
  },
  { description: 'Counts of BundleDeployments by state, and some clusters that are not ready.' },
);
export type BundleSummary = Type.Static<typeof BundleSummary>;

export function ReadyRatio(description: string) {
  return Type.String({ pattern: READY_RATIO_PATTERN, maxLength: 32, description });
}

export function DisplayState(description: string) {
  return StringEnum(Object.values(DeploymentState), description);
}

/** What the STATUS printer column shows (placement/display-status.ts): a condition reason or a deployment state. */
export function DisplayStatus(description: string) {
  return Type.String({ pattern: CONDITION_REASON_PATTERN, maxLength: 128, description });
}
