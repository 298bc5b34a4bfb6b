/**
 * The agent's installation in the downstream cluster, as objects: applied by
 * `flotilla cluster add`, printed as YAML by `flotilla cluster add --print`
 * (for GitOps), deleted by `flotilla cluster remove`. One generator for all
 * three, so what is printed is what would have been applied.
 *
 * Trust: the agent applies whatever its Bundles contain, so downstream it is
 * cluster-admin equivalent (ClusterRole `flotilla-agent:<agent-namespace>`
 * with every verb on everything). A Bundle's `options.serviceAccount`
 * narrows what one Bundle can do by impersonation.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { stringify as stringifyYaml } from 'yaml';
import {
  AGENT_CONFIG_MAP,
  AGENT_DEPLOYMENT,
  AGENT_LEADER_ELECTION_ROLE,
  AGENT_LEADER_LEASE,
  AGENT_SERVICE_ACCOUNT,
  AGENT_UPSTREAM_SECRET,
  CONFIG_KEY,
  CONFIG_MOUNT,
  UPSTREAM_KUBECONFIG_KEY,
  UPSTREAM_KUBECONFIG_MOUNT,
  downstreamClusterRoleName,
} from './names.ts';

const RBAC = 'rbac.authorization.k8s.io';
export const HEALTH_PORT = 8081;
/** Secure metrics (HTTPS, TokenReview + SubjectAccessReview against the downstream cluster), as the controller's. */
export const METRICS_PORT = 8443;
/** The image's working directory holds dist/; its ENTRYPOINT is `run --no-local`, hence an explicit command. */
export const AGENT_COMMAND = ['node', 'dist/src/cli/main.js'] as const;

export interface AgentInstallOptions {
  /** Downstream namespace of the agent (its Deployment, leader-election Lease, ApplySet parents). */
  agentNamespace: string;
  /** Upstream deployment namespace of the Cluster (Cluster.status.namespace). */
  deploymentNamespace: string;
  image: string;
  /** The agent's upstream kubeconfig (YAML), with its token: goes into a Secret. */
  upstreamKubeconfig: string;
  logLevel?: string;
}

export function agentLabels(): Record<string, string> {
  return { 'app.kubernetes.io/name': 'flotilla', 'app.kubernetes.io/component': 'agent', 'app.kubernetes.io/managed-by': 'flotilla-cli' };
}

/** The agent's config file: the controller's format (src/config); unset fields take their defaults. */
export function agentConfigYaml(agentNamespace: string, logLevel = 'info'): string {
  return `# Flotilla agent configuration: the same format as config/flotilla.yaml;
# fields not set here take their defaults. Written by \`flotilla cluster add\`.
${stringifyYaml({
  leaderElection: { enabled: true, namespace: agentNamespace, leaseName: AGENT_LEADER_LEASE },
  metrics: { bindAddress: `:${METRICS_PORT}`, secure: true },
  health: { bindAddress: `:${HEALTH_PORT}` },
  log: { level: logLevel },
})}`;
}

/** The agent's argv inside the pod (after the image's `node dist/src/cli/main.js`). */
export function agentPodArgs(deploymentNamespace: string, agentNamespace: string): string[] {
  return [
    'agent',
    '--upstream-kubeconfig', `${UPSTREAM_KUBECONFIG_MOUNT}/${UPSTREAM_KUBECONFIG_KEY}`,
    '--namespace', deploymentNamespace,
    '--agent-namespace', agentNamespace,
    '--config', `${CONFIG_MOUNT}/${CONFIG_KEY}`,
  ];
}

export function agentDownstreamObjects(options: AgentInstallOptions): KubernetesObject[] {
  const ns = options.agentNamespace;
  const labels = agentLabels();
  const meta = (name: string, namespaced = true) => ({ name, ...(namespaced ? { namespace: ns } : {}), labels: { ...labels } });
  const subject = { kind: 'ServiceAccount', name: AGENT_SERVICE_ACCOUNT, namespace: ns };
  const clusterRole = downstreamClusterRoleName(ns);
  return [
    {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: ns,
        labels: { ...labels, 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/warn': 'restricted' },
      },
    },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(AGENT_SERVICE_ACCOUNT) },
    {
      apiVersion: `${RBAC}/v1`,
      kind: 'ClusterRole',
      metadata: meta(clusterRole, false),
      // Cluster-admin equivalent: Bundles may hold any kind, RBAC included (which needs escalate/bind).
      rules: [
        { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
        { nonResourceURLs: ['*'], verbs: ['*'] },
        // Covered by the wildcard, but spelled out so that narrowing it keeps
        // secure metrics working: each scrape is a TokenReview and a SubjectAccessReview.
        { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
        { apiGroups: ['authorization.k8s.io'], resources: ['subjectaccessreviews'], verbs: ['create'] },
      ],
    } as KubernetesObject,
    {
      apiVersion: `${RBAC}/v1`,
      kind: 'ClusterRoleBinding',
      metadata: meta(clusterRole, false),
      roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: clusterRole },
      subjects: [subject],
    } as KubernetesObject,
    {
      apiVersion: `${RBAC}/v1`,
      kind: 'Role',
      metadata: meta(AGENT_LEADER_ELECTION_ROLE),
      // Kept even though the ClusterRole covers it: narrowing the ClusterRole must not break leader election.
      rules: [
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] },
        { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch', 'update'] },
        { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch', 'update'] },
      ],
    } as KubernetesObject,
    {
      apiVersion: `${RBAC}/v1`,
      kind: 'RoleBinding',
      metadata: meta(AGENT_LEADER_ELECTION_ROLE),
      roleRef: { apiGroup: RBAC, kind: 'Role', name: AGENT_LEADER_ELECTION_ROLE },
      subjects: [subject],
    } as KubernetesObject,
    {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: meta(AGENT_UPSTREAM_SECRET),
      // `data`, not `stringData`: stringData is write-only and does not round-trip through server-side apply.
      data: { [UPSTREAM_KUBECONFIG_KEY]: Buffer.from(options.upstreamKubeconfig, 'utf8').toString('base64') },
    } as KubernetesObject,
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(AGENT_CONFIG_MAP), data: { [CONFIG_KEY]: agentConfigYaml(ns, options.logLevel) } } as KubernetesObject,
    agentDeployment(options),
  ];
}

function agentDeployment(options: AgentInstallOptions): KubernetesObject {
  const labels = agentLabels();
  const selector = { 'app.kubernetes.io/name': 'flotilla', 'app.kubernetes.io/component': 'agent' };
  const probe = (path: string) => ({ httpGet: { path, port: 'health' } });
  const nonRoot = { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532 };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: AGENT_DEPLOYMENT, namespace: options.agentNamespace, labels: { ...labels } },
    spec: {
      replicas: 1,
      selector: { matchLabels: selector },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: { ...labels } },
        spec: {
          serviceAccountName: AGENT_SERVICE_ACCOUNT,
          terminationGracePeriodSeconds: 30,
          securityContext: { ...nonRoot, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'agent',
              image: options.image,
              imagePullPolicy: 'IfNotPresent',
              command: [...AGENT_COMMAND],
              args: agentPodArgs(options.deploymentNamespace, options.agentNamespace),
              ports: [
                { name: 'metrics', containerPort: METRICS_PORT, protocol: 'TCP' },
                { name: 'health', containerPort: HEALTH_PORT, protocol: 'TCP' },
              ],
              livenessProbe: { ...probe('/healthz'), initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
              readinessProbe: { ...probe('/readyz'), periodSeconds: 5, timeoutSeconds: 5, failureThreshold: 3 },
              startupProbe: { ...probe('/healthz'), periodSeconds: 5, failureThreshold: 24 },
              // As the controller: no CPU limit (throttling stalls the event loop and the heartbeat).
              resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } },
              securityContext: {
                ...nonRoot,
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
                seccompProfile: { type: 'RuntimeDefault' },
              },
              volumeMounts: [
                { name: 'upstream', mountPath: UPSTREAM_KUBECONFIG_MOUNT, readOnly: true },
                // Directory mount (no subPath): ConfigMap updates reach the file (hot reload).
                { name: 'config', mountPath: CONFIG_MOUNT, readOnly: true },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            // 0440 with fsGroup: readable by the agent's group, nobody else.
            { name: 'upstream', secret: { secretName: AGENT_UPSTREAM_SECRET, defaultMode: 0o440 } },
            { name: 'config', configMap: { name: AGENT_CONFIG_MAP } },
            { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
          ],
        },
      },
    },
  } as KubernetesObject;
}

/** Multi-document YAML, as `--print` writes it. */
export function manifestsYaml(objects: KubernetesObject[]): string {
  return objects.map((o) => stringifyYaml(o)).join('---\n');
}
