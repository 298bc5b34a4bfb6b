/**
 * Cluster: a deployment target. Its metadata labels are the facts targeting
 * uses; the controller gives it a deployment namespace for its
 * BundleDeployments (docs/architecture.md#clusters-and-deployment-namespaces).
 */
import Type from 'typebox';
import { Kind } from './constants.ts';
import { Conditions } from './condition.ts';
import { ObjectMeta, TypeMeta, labelSafeNameValidation } from './object-meta.ts';
import { DnsLabel, ObservedGeneration } from './primitives.ts';
import { DeploymentCounts, DisplayState, DisplayStatus, ReadyRatio } from './summary.ts';

export const ClusterSpec = Type.Object(
  {
    paused: Type.Optional(
      Type.Boolean({
        description: "When true, this cluster's BundleDeployments are kept but not updated.",
      }),
    ),
  },
  { description: 'Desired state of the cluster. Targeting facts are the metadata labels.' },
);
export type ClusterSpec = Type.Static<typeof ClusterSpec>;

export const ClusterStatus = Type.Object(
  {
    observedGeneration: Type.Optional(ObservedGeneration()),
    namespace: Type.Optional(DnsLabel("The cluster's deployment namespace, where its BundleDeployments live.")),
    conditions: Type.Optional(
      Conditions(
        'Ready: the deployment namespace exists and is this cluster\'s. AgentConnected: the agent\'s heartbeat (Lease flotilla-agent in the deployment namespace, renewed every 10 s, leaseDurationSeconds 40): True (Heartbeat) while renewTime + leaseDurationSeconds is in the future, False (HeartbeatExpired) once it is not, Unknown (NoAgent) without a Lease. Stalled: a problem no retry fixes.',
      ),
    ),
    summary: Type.Optional(DeploymentCounts),
    display: Type.Optional(
      Type.Object(
        {
          readyBundles: Type.Optional(ReadyRatio('Ready BundleDeployments out of all, as "ready/desired".')),
          state: Type.Optional(DisplayState('Worst state among the BundleDeployments.')),
          status: Type.Optional(
            DisplayStatus(
              'What kubectl shows as STATUS: the reason that matters most (Stalled reason, then a Ready problem such as NamespaceConflict, ErrApplied, Modified, Paused, then the worst state).',
            ),
          ),
        },
        { description: 'Short strings for printer columns.' },
      ),
    ),
  },
  { description: 'Observed state, written by the controller.' },
);
export type ClusterStatus = Type.Static<typeof ClusterStatus>;

export const Cluster = Type.Object(
  {
    ...TypeMeta(Kind.Cluster),
    metadata: ObjectMeta(DnsLabel()),
    spec: Type.Optional(ClusterSpec),
    status: Type.Optional(ClusterStatus),
  },
  {
    description: 'A cluster Bundles can be deployed to; its labels are what targets select on.',
    'x-kubernetes-validations': [labelSafeNameValidation(Kind.Cluster)],
  },
);
export type Cluster = Type.Static<typeof Cluster>;
