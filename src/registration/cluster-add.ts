/**
 * `flotilla cluster add`, the steps: the Cluster upstream, its deployment
 * namespace from the controller, the agent's upstream identity and token,
 * its kubeconfig; then (by the caller's choice) install the agent
 * downstream, print that installation, or hand back what a local run needs.
 *
 * Every write is a server-side apply with field manager `flotilla-cli`, so
 * running it again converges instead of failing.
 */
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { API_VERSION, GROUP, Kind, Label, Plural, VERSION, WORKSPACE_LABEL_VALUE } from '../api/constants.ts';
import { apiStatusCode, applyManifests, describeError } from '../controlplane/manifests.ts';
import { waitFor } from '../util/wait.ts';
import { agentKubeconfigYaml, upstreamEndpoint } from './agent-kubeconfig.ts';
import { agentDownstreamObjects } from './agent-manifests.ts';
import { agentUpstreamObjects, contentReaderClusterRole } from './agent-upstream.ts';
import { AGENT_TOKEN_SECRET, CLI_FIELD_MANAGER } from './names.ts';

/** A problem the user can fix (wrong workspace, no CRDs, no controller): one sentence, exit 2 or 1 by the caller. */
export class RegistrationError extends Error {
  override name = 'RegistrationError';
  /** True when it was found before anything was written (the CLI then exits 2, like a usage error). */
  readonly nothingDone: boolean;
  constructor(message: string, options: { nothingDone?: boolean } = {}) {
    super(message);
    this.nothingDone = options.nothingDone ?? false;
  }
}

export interface ClusterAddOptions {
  name: string;
  workspace: string;
  upstream: KubeConfig;
  /** What the agent should dial; default the upstream kubeconfig's server. */
  upstreamServer?: string;
  labels: Record<string, string>;
  agentNamespace: string;
  image: string;
  /** Bound on each wait (deployment namespace, token). */
  timeoutMs: number;
  /** One line per step done. */
  log: (line: string) => void;
}

export interface RegisteredCluster {
  deploymentNamespace: string;
  /** The agent's upstream kubeconfig (YAML, holds its token). */
  upstreamKubeconfig: string;
  /** The downstream installation (for apply or --print). */
  downstreamObjects: KubernetesObject[];
}

/** Steps a–d: everything upstream. Downstream (e/f) is the caller's. */
export async function registerCluster(options: ClusterAddOptions): Promise<RegisteredCluster> {
  const { upstream, workspace, name, log } = options;
  const core = upstream.makeApiClient(CoreV1Api);
  const custom = upstream.makeApiClient(CustomObjectsApi);

  await checkWorkspace(core, custom, workspace);
  const cluster = { apiVersion: API_VERSION, kind: Kind.Cluster, metadata: { name, namespace: workspace, ...(Object.keys(options.labels).length > 0 ? { labels: options.labels } : {}) } };
  await applyManifests(upstream, cluster, { fieldManager: CLI_FIELD_MANAGER });
  const labelText = Object.entries(options.labels).map(([k, v]) => `${k}=${v}`).join(',');
  log(`cluster ${workspace}/${name} applied${labelText ? ` (labels ${labelText})` : ''}`);

  type Seen = { namespace: string } | { deleting: true };
  const seen = await waitFor<Seen | undefined>(
    async () => {
      const current = (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: workspace, plural: Plural.Cluster, name })) as {
        status?: { namespace?: string };
        metadata?: { deletionTimestamp?: string };
      };
      if (current.metadata?.deletionTimestamp) return { deleting: true };
      return current.status?.namespace ? { namespace: current.status.namespace } : undefined;
    },
    { timeoutMs: options.timeoutMs, intervalMs: 250, description: 'the deployment namespace' },
  ).catch(() => undefined);
  if (seen === undefined) {
    throw new RegistrationError(
      `The controller has not given Cluster ${workspace}/${name} a deployment namespace (status.namespace) within ${seconds(options.timeoutMs)}: ` +
        `is the Flotilla controller running against this cluster, and does its workspace selector match namespace ${workspace}? (kubectl get cluster ${name} -n ${workspace} -o yaml)`,
    );
  }
  if ('deleting' in seen) throw new RegistrationError(`Cluster ${workspace}/${name} is being deleted; wait until it is gone (flotilla cluster remove waits for that), then add it again.`);
  const deploymentNamespace = seen.namespace;
  log(`deployment namespace ${deploymentNamespace} given by the controller`);

  await applyManifests(upstream, [contentReaderClusterRole(), ...agentUpstreamObjects(deploymentNamespace)], { fieldManager: CLI_FIELD_MANAGER });
  log(`agent identity upstream: ServiceAccount, Role and RoleBinding flotilla-agent in ${deploymentNamespace}, ClusterRoleBinding flotilla-agent:${deploymentNamespace} to flotilla-agent-content-reader`);

  const token = await waitFor(
    async () => {
      const secret = await core.readNamespacedSecret({ name: AGENT_TOKEN_SECRET, namespace: deploymentNamespace });
      const data = secret.data?.token;
      return data ? Buffer.from(data, 'base64').toString('utf8') : undefined;
    },
    { timeoutMs: options.timeoutMs, intervalMs: 250, description: 'the token' },
  ).catch(() => {
    throw new RegistrationError(
      `Secret ${deploymentNamespace}/${AGENT_TOKEN_SECRET} got no token within ${seconds(options.timeoutMs)}: ` +
        'the service-account token controller of kube-controller-manager fills it; is it running (--controllers includes serviceaccount-token-controller)?',
    );
  });
  log(`agent token issued (Secret ${deploymentNamespace}/${AGENT_TOKEN_SECRET})`);

  const upstreamKubeconfig = agentKubeconfigYaml({ ...upstreamEndpoint(upstream, options.upstreamServer), token, namespace: deploymentNamespace });
  const downstreamObjects = agentDownstreamObjects({ agentNamespace: options.agentNamespace, deploymentNamespace, image: options.image, upstreamKubeconfig });
  return { deploymentNamespace, upstreamKubeconfig, downstreamObjects };
}

/** Applies the downstream installation (step e). */
export async function installAgent(downstream: KubeConfig, registered: RegisteredCluster, agentNamespace: string, log: (line: string) => void): Promise<void> {
  await applyManifests(downstream, registered.downstreamObjects, { fieldManager: CLI_FIELD_MANAGER });
  const kinds = registered.downstreamObjects.map((o) => o.kind).join(', ');
  log(`agent installed downstream in namespace ${agentNamespace} (${kinds})`);
}

async function checkWorkspace(core: CoreV1Api, custom: CustomObjectsApi, workspace: string): Promise<void> {
  let labels: Record<string, string> | undefined;
  try {
    labels = (await core.readNamespace({ name: workspace })).metadata?.labels;
  } catch (error) {
    if (apiStatusCode(error) === 404) throw new RegistrationError(`Namespace ${workspace} does not exist; create it and label it ${Label.Workspace}=${WORKSPACE_LABEL_VALUE} to make it a workspace.`, { nothingDone: true });
    throw new Error(`cannot read namespace ${workspace}: ${describeError(error)}`, { cause: error });
  }
  // The default selector; a controller configured otherwise (mode static/all) is caught by the wait for the deployment namespace.
  if (labels?.[Label.Workspace] !== WORKSPACE_LABEL_VALUE) {
    throw new RegistrationError(
      `Namespace ${workspace} is not a workspace: it lacks the label ${Label.Workspace}=${WORKSPACE_LABEL_VALUE} (kubectl label namespace ${workspace} ${Label.Workspace}=${WORKSPACE_LABEL_VALUE}).`,
      { nothingDone: true },
    );
  }
  try {
    await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: workspace, plural: Plural.Cluster, limit: 1 });
  } catch (error) {
    if (apiStatusCode(error) === 404) throw new RegistrationError(`The Flotilla CRDs are not installed (${Plural.Cluster}.${GROUP} not found); install them with kubectl apply --server-side -k config/crd.`, { nothingDone: true });
    throw new Error(`cannot list Clusters in ${workspace}: ${describeError(error)}`, { cause: error });
  }
}

export function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}
