/**
 * `flotilla cluster remove`: delete the Cluster (the controller deletes its
 * BundleDeployments and deployment namespace, and a running agent removes
 * what it deployed), wait for the namespace to go, revoke the agent's
 * upstream access, and optionally delete the agent's downstream
 * installation. Every step tolerates "already gone", so it is idempotent.
 */
import { AppsV1Api, CoreV1Api, CustomObjectsApi, RbacAuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { GROUP, Plural, VERSION } from '../api/constants.ts';
import { apiStatusCode } from '../controlplane/manifests.ts';
import { deploymentNamespaceFor } from '../placement/deployment-namespace.ts';
import { waitFor } from '../util/wait.ts';
import { seconds } from './cluster-add.ts';
import { agentDownstreamObjects } from './agent-manifests.ts';
import { ApplySetKeys } from '../agent/apply/types.ts';
import { AGENT_DEPLOYMENT, AGENT_TOKEN_SECRET, contentReaderBindingName } from './names.ts';

const APPLYSET_ID_LABEL = ApplySetKeys.id;

export interface ClusterRemoveOptions {
  name: string;
  workspace: string;
  upstream: KubeConfig;
  downstream?: KubeConfig;
  agentNamespace: string;
  timeoutMs: number;
  log: (line: string) => void;
}

export interface RemoveOutcome {
  /** False when the deployment namespace was still there at the deadline. */
  complete: boolean;
}

/** Runs `fn`, treating 404 as "already gone"; returns whether it deleted something. */
async function deleted(fn: () => Promise<unknown>): Promise<boolean> {
  try {
    await fn();
    return true;
  } catch (error) {
    if (apiStatusCode(error) === 404) return false;
    throw error;
  }
}

export async function removeCluster(options: ClusterRemoveOptions): Promise<RemoveOutcome> {
  const { upstream, workspace, name, log } = options;
  const custom = upstream.makeApiClient(CustomObjectsApi);
  const core = upstream.makeApiClient(CoreV1Api);
  const rbac = upstream.makeApiClient(RbacAuthorizationV1Api);
  const ref = { group: GROUP, version: VERSION, namespace: workspace, plural: Plural.Cluster, name };

  // The namespace the controller gives it is a function of the names, so it
  // is known even when the Cluster is already gone (a re-run after a timeout).
  let deploymentNamespace = deploymentNamespaceFor(workspace, name);
  try {
    const cluster = (await custom.getNamespacedCustomObject(ref)) as { status?: { namespace?: string } };
    deploymentNamespace = cluster.status?.namespace ?? deploymentNamespace;
    if (await deleted(() => custom.deleteNamespacedCustomObject(ref))) log(`cluster ${workspace}/${name} deleted`);
  } catch (error) {
    if (apiStatusCode(error) !== 404) throw error;
    log(`cluster ${workspace}/${name} not found; nothing to delete upstream but leftovers`);
  }

  let complete = true;
  try {
    await waitFor(
      async () => {
        try {
          await core.readNamespace({ name: deploymentNamespace });
          return false;
        } catch (error) {
          if (apiStatusCode(error) === 404) return true;
          throw error;
        }
      },
      { timeoutMs: options.timeoutMs, intervalMs: 250, description: `namespace ${deploymentNamespace} to be deleted` },
    );
    log(`deployment namespace ${deploymentNamespace} gone (its BundleDeployments, and the agent's ServiceAccount, Role and token with it)`);
  } catch {
    complete = false;
    log(
      `deployment namespace ${deploymentNamespace} still there after ${seconds(options.timeoutMs)} (is the controller running? kubectl get cluster ${name} -n ${workspace}); revoking the agent's token anyway`,
    );
    if (await deleted(() => core.deleteNamespacedSecret({ name: AGENT_TOKEN_SECRET, namespace: deploymentNamespace }))) {
      log(`agent token Secret ${deploymentNamespace}/${AGENT_TOKEN_SECRET} deleted`);
    }
  }

  const binding = contentReaderBindingName(deploymentNamespace);
  log(await deleted(() => rbac.deleteClusterRoleBinding({ name: binding })) ? `ClusterRoleBinding ${binding} deleted` : `ClusterRoleBinding ${binding} already gone`);

  if (options.downstream) await uninstallAgent(options.downstream, options.agentNamespace, log);
  return { complete };
}

/** Deletes the downstream installation; the namespace only when nothing of the agent's work remains in it. */
export async function uninstallAgent(downstream: KubeConfig, agentNamespace: string, log: (line: string) => void): Promise<void> {
  const core = downstream.makeApiClient(CoreV1Api);
  const apps = downstream.makeApiClient(AppsV1Api);
  const rbac = downstream.makeApiClient(RbacAuthorizationV1Api);
  // The same generator as the install: every object it would create, by kind and name.
  const objects = agentDownstreamObjects({ agentNamespace, deploymentNamespace: '-', image: '-', upstreamKubeconfig: '' });
  const gone: string[] = [];
  for (const object of objects.filter((o) => o.kind !== 'Namespace').reverse()) {
    const name = object.metadata?.name ?? '';
    const namespace = agentNamespace;
    const remove = {
      Deployment: () => apps.deleteNamespacedDeployment({ name, namespace }),
      ConfigMap: () => core.deleteNamespacedConfigMap({ name, namespace }),
      Secret: () => core.deleteNamespacedSecret({ name, namespace }),
      RoleBinding: () => rbac.deleteNamespacedRoleBinding({ name, namespace }),
      Role: () => rbac.deleteNamespacedRole({ name, namespace }),
      ClusterRoleBinding: () => rbac.deleteClusterRoleBinding({ name }),
      ClusterRole: () => rbac.deleteClusterRole({ name }),
      ServiceAccount: () => core.deleteNamespacedServiceAccount({ name, namespace }),
    }[object.kind ?? ''];
    if (!remove) throw new Error(`no delete for ${object.kind}`);
    if (await deleted(remove)) gone.push(`${object.kind} ${name}`);
  }
  log(gone.length > 0 ? `agent uninstalled downstream: ${gone.join(', ')}` : `agent not installed downstream in ${agentNamespace} (nothing to delete)`);

  let parents: number;
  let others: number;
  try {
    parents = (await core.listNamespacedConfigMap({ namespace: agentNamespace, labelSelector: APPLYSET_ID_LABEL })).items.length;
    others = (await apps.listNamespacedDeployment({ namespace: agentNamespace })).items.filter((d) => d.metadata?.name !== AGENT_DEPLOYMENT).length;
  } catch (error) {
    if (apiStatusCode(error) === 404) return;
    throw error;
  }
  if (parents > 0) {
    log(`namespace ${agentNamespace} kept: it still holds ${parents} ApplySet parent(s), which track resources the agent deployed (kubectl get configmap -n ${agentNamespace} -l ${APPLYSET_ID_LABEL})`);
  } else if (others > 0) {
    log(`namespace ${agentNamespace} kept: it holds other Deployments`);
  } else if (await deleted(() => core.deleteNamespace({ name: agentNamespace }))) {
    log(`namespace ${agentNamespace} deleted downstream`);
  }
}
