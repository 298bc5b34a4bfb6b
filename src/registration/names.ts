/**
 * Names shared by `flotilla cluster add/remove` and the agent (README:
 * registering clusters): upstream in the Cluster's deployment namespace,
 * downstream in the agent namespace.
 */

/** SSA field manager of everything `flotilla cluster add` writes. */
export const CLI_FIELD_MANAGER = 'flotilla-cli';

export const AGENT_NAME = 'flotilla-agent';
/** Upstream: the agent's ServiceAccount, Role and RoleBinding, and its heartbeat Lease, in the deployment namespace. */
export const AGENT_SERVICE_ACCOUNT = AGENT_NAME;
export const AGENT_ROLE = AGENT_NAME;
/** The heartbeat Lease's name is the controller's to read: defined with the API. */
export { AGENT_LEASE_NAME as AGENT_HEARTBEAT_LEASE } from '../api/constants.ts';
/** Server-side apply field manager of everything the agent applies downstream. */
export { DEFAULT_FIELD_MANAGER as AGENT_FIELD_MANAGER } from '../agent/apply/types.ts';
/** Upstream: the `kubernetes.io/service-account-token` Secret holding the agent's credentials. */
export const AGENT_TOKEN_SECRET = 'flotilla-agent-token';
/** Upstream ClusterRole: get (only) on contents.flotilla.dev; shipped as config/rbac/agent_content_reader_role.yaml. */
export const CONTENT_READER_CLUSTER_ROLE = 'flotilla-agent-content-reader';

/** Upstream ClusterRoleBinding of one agent to the content reader. */
export function contentReaderBindingName(deploymentNamespace: string): string {
  return `${AGENT_NAME}:${deploymentNamespace}`;
}

export const DEFAULT_AGENT_NAMESPACE = 'flotilla-system';
/** Downstream: the Secret with the upstream kubeconfig, the ConfigMap with the config file, the Deployment. */
export const AGENT_UPSTREAM_SECRET = 'flotilla-agent-upstream';
export const AGENT_CONFIG_MAP = 'flotilla-agent-config';
export const AGENT_DEPLOYMENT = AGENT_NAME;
/** Downstream: the agents' leader-election Lease in the agent namespace. */
export const AGENT_LEADER_LEASE = 'flotilla-agent-leader';
export const AGENT_LEADER_ELECTION_ROLE = 'flotilla-agent-leader-election';

/** Downstream cluster-scoped RBAC, named per agent namespace so two agents on one cluster do not share (or delete) it. */
export function downstreamClusterRoleName(agentNamespace: string): string {
  return `${AGENT_NAME}:${agentNamespace}`;
}

/** Where the Deployment mounts its files (the agent's argv points here). */
export const UPSTREAM_KUBECONFIG_MOUNT = '/etc/flotilla/upstream';
export const CONFIG_MOUNT = '/etc/flotilla/config';
export const UPSTREAM_KUBECONFIG_KEY = 'kubeconfig';
export const CONFIG_KEY = 'flotilla.yaml';


