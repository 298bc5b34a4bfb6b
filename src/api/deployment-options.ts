/**
 * How the agent applies a Bundle's manifests on a Cluster. Set on the Bundle
 * and copied into each BundleDeployment; the deployment ID hashes them, so a
 * change of options redeploys even when the manifests are unchanged.
 */
import Type from 'typebox';
import { DnsLabel, DnsSubdomain } from './primitives.ts';

export const DeploymentOptions = Type.Object(
  {
    defaultNamespace: Type.Optional(
      DnsLabel('Namespace for namespaced resources that do not set one (default: "default").'),
    ),
    serviceAccount: Type.Optional(
      DnsSubdomain(
        'ServiceAccount (in the target namespace) whose permissions the agent uses to apply; default: the agent\'s own.',
      ),
    ),
    correctDrift: Type.Optional(
      Type.Object(
        {
          enabled: Type.Optional(
            Type.Boolean({
              description:
                'When true, the agent re-applies resources that drifted from their manifests (default: false, drift is only reported).',
            }),
          ),
        },
        { description: 'Drift correction, as Fleet\'s correctDrift. Absent or not enabled: off, and the deployment ID is the same as without it.' },
      ),
    ),
    keepResources: Type.Optional(
      Type.Boolean({
        description:
          'When true, resources stay on the cluster when the BundleDeployment is removed (orphaned instead of deleted).',
      }),
    ),
  },
  { description: 'Options for applying the manifests on each targeted cluster.' },
);
export type DeploymentOptions = Type.Static<typeof DeploymentOptions>;
