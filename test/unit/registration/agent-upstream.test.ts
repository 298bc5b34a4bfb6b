import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { agentKubeconfigYaml, upstreamEndpoint } from '../../../src/registration/agent-kubeconfig.ts';
import { agentRoleRules, agentUpstreamObjects } from '../../../src/registration/agent-upstream.ts';

const NS = 'flotilla-ws-c1-12345678';

test('upstream objects: ServiceAccount, Role, RoleBinding in the deployment namespace, ClusterRoleBinding flotilla-agent:<ns>, token Secret', () => {
  const objects = agentUpstreamObjects(NS) as Array<Record<string, any>>;
  assert.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`), [
    `ServiceAccount/${NS}/flotilla-agent`,
    `Role/${NS}/flotilla-agent`,
    `RoleBinding/${NS}/flotilla-agent`,
    `ClusterRoleBinding//flotilla-agent:${NS}`,
    `Secret/${NS}/flotilla-agent-token`,
  ]);
  const subject = { kind: 'ServiceAccount', name: 'flotilla-agent', namespace: NS };
  assert.deepEqual(objects[2]!.subjects, [subject]);
  assert.deepEqual(objects[3]!.subjects, [subject]);
  assert.equal(objects[3]!.roleRef.name, 'flotilla-agent-content-reader');
  assert.equal(objects[4]!.type, 'kubernetes.io/service-account-token');
  assert.equal(objects[4]!.metadata.annotations['kubernetes.io/service-account.name'], 'flotilla-agent');
});

test('the agent Role: its BundleDeployments read-only, their status writable, its Lease by name, events; nothing else', () => {
  const rules = agentRoleRules();
  const grants = rules.flatMap((r) => r.resources.flatMap((res) => r.verbs.map((v) => `${r.apiGroups.join('|')}/${res}:${v}${r.resourceNames ? `[${r.resourceNames.join()}]` : ''}`))).sort();
  assert.deepEqual(grants, [
    '/events:create', '/events:patch',
    'coordination.k8s.io/leases:create',
    'coordination.k8s.io/leases:get[flotilla-agent]', 'coordination.k8s.io/leases:patch[flotilla-agent]', 'coordination.k8s.io/leases:update[flotilla-agent]',
    'events.k8s.io/events:create', 'events.k8s.io/events:patch',
    'flotilla.dev/bundledeployments/status:get', 'flotilla.dev/bundledeployments/status:patch', 'flotilla.dev/bundledeployments/status:update',
    'flotilla.dev/bundledeployments:get', 'flotilla.dev/bundledeployments:list', 'flotilla.dev/bundledeployments:watch',
  ].sort());
});

function kubeConfig(cluster: Record<string, unknown>): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(JSON.stringify({
    apiVersion: 'v1', kind: 'Config',
    clusters: [{ name: 'c', cluster }], users: [{ name: 'u', user: { token: 'admin' } }],
    contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }], 'current-context': 'x',
  }));
  return kc;
}

test('the agent kubeconfig: server and CA from the upstream kubeconfig (or --upstream-server), the token, the deployment namespace', () => {
  const ca = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  const kc = kubeConfig({ server: 'https://127.0.0.1:6443', 'certificate-authority-data': Buffer.from(ca).toString('base64') });
  const yaml = agentKubeconfigYaml({ ...upstreamEndpoint(kc), token: 'tok', namespace: NS });
  const parsed = parseYaml(yaml);
  assert.equal(parsed.clusters[0].cluster.server, 'https://127.0.0.1:6443');
  assert.equal(Buffer.from(parsed.clusters[0].cluster['certificate-authority-data'], 'base64').toString(), ca);
  assert.equal(parsed.users[0].user.token, 'tok');
  assert.equal(parsed.contexts[0].context.namespace, NS);

  const agent = new KubeConfig();
  agent.loadFromString(agentKubeconfigYaml({ ...upstreamEndpoint(kc, 'https://mgmt.example.com'), token: 'tok', namespace: NS }));
  assert.equal(agent.getCurrentCluster()?.server, 'https://mgmt.example.com');
  assert.equal(agent.getCurrentUser()?.token, 'tok');
  assert.equal(agent.getContextObject(agent.getCurrentContext())?.namespace, NS);
});
