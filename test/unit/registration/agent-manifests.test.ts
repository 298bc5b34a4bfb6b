import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { parseConfigText } from '../../../src/config/index.ts';
import { agentConfigYaml, agentDownstreamObjects, manifestsYaml } from '../../../src/registration/agent-manifests.ts';
import { CONFIG_DIR, renderKustomization } from '../manifests/kustomize.ts';

const KUBECONFIG = 'apiVersion: v1\nkind: Config\nusers: [{name: a, user: {token: secret-token}}]\n';
const objects = agentDownstreamObjects({ agentNamespace: 'agents-a', deploymentNamespace: 'flotilla-ws-c1-12345678', image: 'flotilla:9.9.9', upstreamKubeconfig: KUBECONFIG });
const find = (kind: string) => {
  const found = objects.filter((o) => o.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0] as Record<string, any>;
};

test('the downstream installation is one of each object the agent needs, in the agent namespace', () => {
  assert.deepEqual(objects.map((o) => o.kind), ['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'Secret', 'ConfigMap', 'Deployment']);
  for (const o of objects) {
    const clusterScoped = ['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind ?? '');
    assert.equal(o.metadata?.namespace, clusterScoped ? undefined : 'agents-a', `${o.kind} namespace`);
    assert.equal(o.metadata?.labels?.['app.kubernetes.io/component'], 'agent');
  }
  assert.equal(find('Namespace').metadata.name, 'agents-a');
  assert.equal(find('Namespace').metadata.labels['pod-security.kubernetes.io/enforce'], 'restricted');
});

test('downstream RBAC: cluster-admin equivalent, named per agent namespace, bound to the agent ServiceAccount; the leader-election Role on its own', () => {
  const role = find('ClusterRole');
  assert.equal(role.metadata.name, 'flotilla-agent:agents-a');
  assert.deepEqual(role.rules[0], { apiGroups: ['*'], resources: ['*'], verbs: ['*'] });
  const binding = find('ClusterRoleBinding');
  assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'flotilla-agent:agents-a' });
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'flotilla-agent', namespace: 'agents-a' }]);
  // Secure metrics: the agent reviews the downstream scraper's token, explicitly granted.
  for (const [group, resource] of [['authentication.k8s.io', 'tokenreviews'], ['authorization.k8s.io', 'subjectaccessreviews']]) {
    assert.ok(
      role.rules.some((r: { apiGroups?: string[]; resources?: string[]; verbs: string[] }) => r.apiGroups?.includes(group!) && r.resources?.includes(resource!) && r.verbs.includes('create')),
      `create ${resource}`,
    );
  }
  const lease = find('Role').rules.find((r: { apiGroups: string[] }) => r.apiGroups.includes('coordination.k8s.io'));
  assert.ok(lease.verbs.includes('update') && lease.resources.includes('leases'));
  assert.deepEqual(find('RoleBinding').subjects, binding.subjects);
});

test('the upstream kubeconfig goes into a Secret (data, base64), the config into a ConfigMap', () => {
  const secret = find('Secret');
  assert.equal(secret.metadata.name, 'flotilla-agent-upstream');
  assert.equal(secret.stringData, undefined);
  assert.equal(Buffer.from(secret.data.kubeconfig, 'base64').toString('utf8'), KUBECONFIG);
  const cm = find('ConfigMap');
  assert.equal(cm.metadata.name, 'flotilla-agent-config');
  assert.ok(typeof cm.data['flotilla.yaml'] === 'string');
});

test('the agent config file is valid in the controller config format, with leader election in the agent namespace', () => {
  const config = parseConfigText(agentConfigYaml('agents-a', 'debug'), 'agent config');
  assert.equal(config.leaderElection.enabled, true);
  assert.equal(config.leaderElection.namespace, 'agents-a');
  assert.equal(config.leaderElection.leaseName, 'flotilla-agent-leader');
  assert.equal(config.health.bindAddress, ':8081');
  // Metrics as the controller serves them in a cluster: HTTPS for authorized tokens only.
  assert.equal(config.metrics.bindAddress, ':8443');
  assert.equal(config.metrics.secure, true);
  assert.equal(config.log.level, 'debug');
  assert.equal(find('ConfigMap').data['flotilla.yaml'], agentConfigYaml('agents-a'));
});

test('the Deployment: one replica, the image, the agent argv and mounts, the controller Deployment\'s hardening', () => {
  const deployment = find('Deployment');
  assert.equal(deployment.metadata.name, 'flotilla-agent');
  assert.equal(deployment.spec.replicas, 1);
  const pod = deployment.spec.template.spec;
  const [container] = pod.containers;
  assert.equal(container.image, 'flotilla:9.9.9');
  // The image's ENTRYPOINT runs the controller (`run --no-local`): the command replaces it.
  assert.deepEqual(container.command, ['node', 'dist/src/cli/main.js']);
  assert.deepEqual(container.args, [
    'agent', '--upstream-kubeconfig', '/etc/flotilla/upstream/kubeconfig', '--namespace', 'flotilla-ws-c1-12345678',
    '--agent-namespace', 'agents-a', '--config', '/etc/flotilla/config/flotilla.yaml',
  ]);
  assert.equal(pod.serviceAccountName, 'flotilla-agent');
  for (const [key, value] of Object.entries(deployment.spec.selector.matchLabels)) assert.equal(deployment.spec.template.metadata.labels[key], value);

  // The same hardening as config/manager/deployment.yaml.
  const controller = renderKustomization(join(CONFIG_DIR, 'manager')).find((o) => o.kind === 'Deployment') as Record<string, any>;
  const controllerPod = controller.spec.template.spec;
  assert.deepEqual(pod.securityContext, controllerPod.securityContext);
  assert.deepEqual(container.securityContext, controllerPod.containers[0].securityContext);
  assert.equal(pod.terminationGracePeriodSeconds, controllerPod.terminationGracePeriodSeconds);
  assert.equal(container.resources.limits.cpu, undefined, 'no CPU limit');

  // Probes on the health port, which the config file serves on; metrics on theirs.
  const health = container.ports.find((p: { name: string }) => p.name === 'health');
  const metrics = container.ports.find((p: { name: string }) => p.name === 'metrics');
  const config = parseConfigText(find('ConfigMap').data['flotilla.yaml'], 'agent config');
  assert.equal(`:${health.containerPort}`, config.health.bindAddress);
  assert.equal(`:${metrics.containerPort}`, config.metrics.bindAddress);
  assert.equal(container.livenessProbe.httpGet.port, 'health');
  assert.equal(container.readinessProbe.httpGet.port, 'health');
  assert.equal(container.livenessProbe.httpGet.path, '/healthz');
  assert.equal(container.readinessProbe.httpGet.path, '/readyz');

  const mounts = Object.fromEntries(container.volumeMounts.map((m: { name: string; mountPath: string; subPath?: string }) => [m.name, m]));
  assert.equal(mounts.upstream.mountPath, '/etc/flotilla/upstream');
  assert.equal(mounts.config.mountPath, '/etc/flotilla/config');
  assert.equal(mounts.config.subPath, undefined, 'directory mount, so ConfigMap updates reach the file');
  const volumes = Object.fromEntries(pod.volumes.map((v: { name: string }) => [v.name, v]));
  assert.equal(volumes.upstream.secret.secretName, 'flotilla-agent-upstream');
  assert.equal(volumes.upstream.secret.defaultMode, 0o440);
  assert.equal(volumes.config.configMap.name, 'flotilla-agent-config');
});

test('--print YAML parses back to exactly the objects', () => {
  const docs = parseAllDocuments(manifestsYaml(objects)).map((d) => d.toJS());
  assert.deepEqual(docs, JSON.parse(JSON.stringify(objects)));
});

test('the shipped config/rbac content-reader ClusterRole equals the one cluster add applies', async () => {
  const { contentReaderClusterRole } = await import('../../../src/registration/agent-upstream.ts');
  const shipped = parseYaml(readFileSync(join(CONFIG_DIR, 'rbac/agent_content_reader_role.yaml'), 'utf8'));
  assert.deepEqual(shipped, contentReaderClusterRole());
});
