/**
 * The agent's identity on the management (upstream) cluster, as objects for
 * server-side apply: ServiceAccount, Role and RoleBinding in the Cluster's
 * deployment namespace, the ClusterRoleBinding to the content reader, and
 * the service-account-token Secret the token controller fills.
 *
 * The Role is the whole security boundary of an agent: its own
 * BundleDeployments (read, and write their status only), its heartbeat
 * Lease (by name, except create, which RBAC cannot restrict by name) and
 * Events. Contents are get-by-name only (CONTENT_READER_CLUSTER_ROLE).
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { GROUP } from '../api/constants.ts';
import {
  AGENT_HEARTBEAT_LEASE,
  AGENT_ROLE,
  AGENT_SERVICE_ACCOUNT,
  AGENT_TOKEN_SECRET,
  CONTENT_READER_CLUSTER_ROLE,
  contentReaderBindingName,
} from './names.ts';

const RBAC = 'rbac.authorization.k8s.io';
const LABELS = { 'app.kubernetes.io/name': 'flotilla', 'app.kubernetes.io/component': 'agent' } as const;

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/** The same object as config/rbac/agent_content_reader_role.yaml (a unit test keeps them equal). */
export function contentReaderClusterRole(): KubernetesObject & { rules: PolicyRule[] } {
  return {
    apiVersion: `${RBAC}/v1`,
    kind: 'ClusterRole',
    metadata: { name: CONTENT_READER_CLUSTER_ROLE, labels: { ...LABELS } },
    rules: [{ apiGroups: [GROUP], resources: ['contents'], verbs: ['get'] }],
  };
}

export function agentRoleRules(): PolicyRule[] {
  return [
    { apiGroups: [GROUP], resources: ['bundledeployments'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: [GROUP], resources: ['bundledeployments/status'], verbs: ['get', 'update', 'patch'] },
    // RBAC cannot restrict create by name; every other verb is confined to the heartbeat Lease.
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['create'] },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'update', 'patch'], resourceNames: [AGENT_HEARTBEAT_LEASE] },
    { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
    { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] },
  ];
}

/** Everything upstream for the agent of the Cluster whose deployment namespace is `namespace`. */
export function agentUpstreamObjects(namespace: string): KubernetesObject[] {
  const subject = { kind: 'ServiceAccount', name: AGENT_SERVICE_ACCOUNT, namespace };
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: AGENT_SERVICE_ACCOUNT, namespace, labels: { ...LABELS } } },
    { apiVersion: `${RBAC}/v1`, kind: 'Role', metadata: { name: AGENT_ROLE, namespace, labels: { ...LABELS } }, rules: agentRoleRules() } as KubernetesObject,
    {
      apiVersion: `${RBAC}/v1`,
      kind: 'RoleBinding',
      metadata: { name: AGENT_ROLE, namespace, labels: { ...LABELS } },
      roleRef: { apiGroup: RBAC, kind: 'Role', name: AGENT_ROLE },
      subjects: [subject],
    } as KubernetesObject,
    {
      apiVersion: `${RBAC}/v1`,
      kind: 'ClusterRoleBinding',
      metadata: { name: contentReaderBindingName(namespace), labels: { ...LABELS } },
      roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: CONTENT_READER_CLUSTER_ROLE },
      subjects: [subject],
    } as KubernetesObject,
    {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/service-account-token',
      metadata: { name: AGENT_TOKEN_SECRET, namespace, labels: { ...LABELS }, annotations: { 'kubernetes.io/service-account.name': AGENT_SERVICE_ACCOUNT } },
    } as KubernetesObject,
  ];
}
