/**
 * ClusterGroup: a named label selector over the workspace's Clusters.
 * Membership is derived from the selector, never stored as truth
 * (docs/architecture.md#clustergroups).
 */
import Type from 'typebox';
import { Kind } from './constants.ts';
import { Conditions } from './condition.ts';
import { LabelSelector } from './label-selector.ts';
import { ObjectMeta, TypeMeta } from './object-meta.ts';
import { NonNegativeInteger, ObservedGeneration } from './primitives.ts';
import { DisplayState, DisplayStatus, ReadyRatio } from './summary.ts';

export const ClusterGroupSpec = Type.Object(
  {
    selector: LabelSelector('Selects the member Clusters of the same workspace by their labels.'),
  },
  { description: 'Which Clusters belong to the group.' },
);
export type ClusterGroupSpec = Type.Static<typeof ClusterGroupSpec>;

export const ClusterGroupStatus = Type.Object(
  {
    observedGeneration: Type.Optional(ObservedGeneration()),
    clusterCount: Type.Optional(NonNegativeInteger('Number of Clusters the selector matches.')),
    conditions: Type.Optional(Conditions()),
    display: Type.Optional(
      Type.Object(
        {
          readyClusters: Type.Optional(
            ReadyRatio('Ready member clusters out of all members, as "ready/total"; a member is ready when all its BundleDeployments are.'),
          ),
          state: Type.Optional(DisplayState('Worst BundleDeployment state among the members.')),
          status: Type.Optional(
            DisplayStatus('What kubectl shows as STATUS: the reason that matters most (InvalidSelector, NoClusters, then the worst member state).'),
          ),
        },
        { description: 'Short strings for printer columns.' },
      ),
    ),
  },
  { description: 'Observed state, written by the controller.' },
);
export type ClusterGroupStatus = Type.Static<typeof ClusterGroupStatus>;

export const ClusterGroup = Type.Object(
  {
    ...TypeMeta(Kind.ClusterGroup),
    metadata: ObjectMeta(Type.String()),
    spec: ClusterGroupSpec,
    status: Type.Optional(ClusterGroupStatus),
  },
  { description: 'A named set of Clusters, selected by label.' },
);
export type ClusterGroup = Type.Static<typeof ClusterGroup>;
