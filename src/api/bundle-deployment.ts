/**
 * BundleDeployment: one Bundle on one Cluster, in the Cluster's deployment
 * namespace. The controller writes spec; the agent applying it on the target
 * cluster writes status (docs/architecture.md#bundledeployments).
 */
import Type from 'typebox';
import { Kind, Limits } from './constants.ts';
import { Conditions } from './condition.ts';
import { DeploymentOptions } from './deployment-options.ts';
import { ObjectMeta, TypeMeta } from './object-meta.ts';
import {
  CONTENT_NAME_PATTERN,
  DEPLOYMENT_ID_MAX_LENGTH,
  DEPLOYMENT_ID_PATTERN,
} from './patterns.ts';
import { DisplayState } from './summary.ts';
import { ResourceStatusList } from './resource-status.ts';

function DeploymentID(description: string) {
  return Type.String({
    pattern: DEPLOYMENT_ID_PATTERN,
    maxLength: DEPLOYMENT_ID_MAX_LENGTH,
    description,
  });
}

export const BundleDeploymentSpec = Type.Object(
  {
    contentName: Type.String({
      pattern: CONTENT_NAME_PATTERN,
      description: 'Name of the (cluster-scoped) Content holding the manifests.',
    }),
    deploymentID: DeploymentID(
      '"<contentName>:<hash of options>"; changes whenever manifests or options change.',
    ),
    options: Type.Optional(DeploymentOptions),
    paused: Type.Optional(
      Type.Boolean({ description: 'When true, the agent leaves the deployed resources as they are.' }),
    ),
  },
  {
    description: 'What to apply, written by the controller.',
    'x-kubernetes-validations': [
      {
        rule: "self.deploymentID.startsWith(self.contentName + ':')",
        message: 'deploymentID must start with contentName followed by ":"',
        fieldPath: '.deploymentID',
      },
    ],
  },
);
export type BundleDeploymentSpec = Type.Static<typeof BundleDeploymentSpec>;

export { ResourceStatus } from './resource-status.ts';

export const BundleDeploymentStatus = Type.Object(
  {
    appliedDeploymentID: Type.Optional(DeploymentID('The deploymentID the agent last applied.')),
    ready: Type.Optional(Type.Boolean({ description: 'All applied resources are ready.' })),
    nonModified: Type.Optional(
      Type.Boolean({ description: 'No applied resource drifted from its manifest.' }),
    ),
    conditions: Type.Optional(Conditions()),
    nonReadyResources: Type.Optional(ResourceStatusList('Resources that are not ready')),
    modifiedResources: Type.Optional(ResourceStatusList('Resources that drifted from their manifests')),
    display: Type.Optional(
      Type.Object(
        { state: Type.Optional(DisplayState('State of this deployment.')) },
        { description: 'Short strings for printer columns.' },
      ),
    ),
  },
  { description: 'Observed state, written by the agent that applies the manifests.' },
);
export type BundleDeploymentStatus = Type.Static<typeof BundleDeploymentStatus>;

export const BundleDeployment = Type.Object(
  {
    ...TypeMeta(Kind.BundleDeployment),
    metadata: ObjectMeta(Type.String()),
    spec: BundleDeploymentSpec,
    status: Type.Optional(BundleDeploymentStatus),
  },
  { description: 'One Bundle deployed to one Cluster; lives in the Cluster\'s deployment namespace.' },
);
export type BundleDeployment = Type.Static<typeof BundleDeployment>;
