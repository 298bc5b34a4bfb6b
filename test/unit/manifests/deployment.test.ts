import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { CONFIG_DIR, renderKustomization, type Manifest } from './kustomize.ts';

interface Probe {
  httpGet?: { path: string; port: string | number; scheme?: string };
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  ports?: Array<{ name: string; containerPort: number }>;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
  volumeMounts?: Array<{ name: string; mountPath: string; subPath?: string; readOnly?: boolean }>;
}
interface PodSpec {
  serviceAccountName?: string;
  terminationGracePeriodSeconds?: number;
  securityContext?: Record<string, unknown>;
  containers: Container[];
  volumes?: Array<{ name: string; configMap?: { name: string }; emptyDir?: object }>;
}
interface Deployment extends Manifest {
  spec: { replicas: number; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } };
}

const objects = renderKustomization(join(CONFIG_DIR, 'manager'));
const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'flotilla-controller') as Deployment;
const pod = deployment.spec.template.spec;
const container = pod.containers[0] as Container;
const configMap = objects.find((o) => o.kind === 'ConfigMap') as Manifest & { data: Record<string, string> };
const shippedConfig = parseYaml(readFileSync(join(CONFIG_DIR, 'flotilla.yaml'), 'utf8')) as {
  leaderElection: { enabled: boolean; namespace: string };
  shutdown: { timeoutSeconds: number };
  metrics: { bindAddress: string; secure: boolean };
  health: { bindAddress: string };
};
const portOf = (address: string) => Number(address.slice(address.lastIndexOf(':') + 1));

test('the Deployment runs 2 replicas of flotilla:latest in flotilla-system, with leader election on', () => {
  assert.equal(deployment.metadata.namespace, 'flotilla-system');
  assert.equal(deployment.spec.replicas, 2);
  assert.equal(pod.containers.length, 1);
  assert.equal(container.image, 'flotilla:latest');
  assert.equal(pod.serviceAccountName, 'flotilla-controller');
  assert.ok(objects.some((o) => o.kind === 'Namespace' && o.metadata.name === 'flotilla-system'));
  // Two replicas only make sense with an election, in the namespace the Role grants leases in.
  const mounted = parseYaml(configMap.data['flotilla.yaml'] ?? '') as typeof shippedConfig;
  assert.equal(mounted.leaderElection.enabled, true);
  assert.equal(mounted.leaderElection.namespace, deployment.metadata.namespace);
  for (const [key, value] of Object.entries(deployment.spec.selector.matchLabels)) assert.equal(deployment.spec.template.metadata.labels[key], value);
});

test('the Deployment has the restricted securityContext', () => {
  const sc = container.securityContext ?? {};
  const podSc = pod.securityContext ?? {};
  const effective = (key: string) => sc[key] ?? podSc[key];
  assert.equal(effective('runAsNonRoot'), true);
  assert.equal(effective('runAsUser'), 65532);
  assert.deepEqual(effective('seccompProfile'), { type: 'RuntimeDefault' });
  assert.equal(sc.allowPrivilegeEscalation, false);
  assert.equal(sc.readOnlyRootFilesystem, true);
  assert.deepEqual(sc.capabilities, { drop: ['ALL'] });
  assert.equal(sc.privileged ?? false, false);
});

test('probes and ports match the shipped config: liveness /healthz and readiness /readyz on 8081 (plain HTTP), secure metrics on 8443', () => {
  const ports = Object.fromEntries((container.ports ?? []).map((p) => [p.name, p.containerPort]));
  assert.equal(ports.metrics, 8443);
  assert.equal(shippedConfig.metrics.secure, true, 'in-cluster metrics are HTTPS with TokenReview/SubjectAccessReview');
  for (const probe of [container.livenessProbe, container.readinessProbe]) assert.equal(probe?.httpGet?.scheme ?? 'HTTP', 'HTTP');
  assert.equal(ports.health, 8081);
  assert.equal(ports.metrics, portOf(shippedConfig.metrics.bindAddress));
  assert.equal(ports.health, portOf(shippedConfig.health.bindAddress));
  const probePort = (p: Probe | undefined) => (typeof p?.httpGet?.port === 'string' ? ports[p.httpGet.port] : p?.httpGet?.port);
  assert.equal(container.livenessProbe?.httpGet?.path, '/healthz');
  assert.equal(probePort(container.livenessProbe), 8081);
  assert.equal(container.readinessProbe?.httpGet?.path, '/readyz');
  assert.equal(probePort(container.readinessProbe), 8081);

  const service = objects.find((o) => o.kind === 'Service') as Manifest & {
    spec: { selector: Record<string, string>; ports: Array<{ name: string; port: number; targetPort: string | number }> };
  };
  for (const [key, value] of Object.entries(service.spec.selector)) assert.equal(deployment.spec.template.metadata.labels[key], value, `Service selector ${key}`);
  const metricsPort = service.spec.ports.find((p) => p.name === 'metrics');
  assert.equal(metricsPort?.targetPort, 'metrics');
  assert.equal(metricsPort?.port, 8443);
});

test('resources have requests and a memory limit', () => {
  assert.ok(container.resources?.requests?.cpu);
  assert.ok(container.resources?.requests?.memory);
  assert.ok(container.resources?.limits?.memory);
});

test('terminationGracePeriodSeconds (30) leaves room for the configured shutdown timeout (25 s)', () => {
  assert.equal(pod.terminationGracePeriodSeconds, 30);
  assert.ok(shippedConfig.shutdown.timeoutSeconds < (pod.terminationGracePeriodSeconds ?? 30));
});

test('the config is a directory mount (no subPath, so updates reach the file) of the generated ConfigMap, read by --config', () => {
  const mount = container.volumeMounts?.find((m) => m.name === 'config');
  assert.ok(mount, 'config volume mount');
  assert.equal(mount.subPath, undefined, 'a subPath mount never sees ConfigMap updates, which breaks hot reload');
  assert.equal(mount.readOnly, true);
  const volume = pod.volumes?.find((v) => v.name === 'config');
  assert.equal(volume?.configMap?.name, configMap.metadata.name);
  assert.equal(configMap.metadata.namespace, deployment.metadata.namespace);
  assert.ok('flotilla.yaml' in configMap.data);
  assert.equal(configMap.data['flotilla.yaml'], readFileSync(join(CONFIG_DIR, 'flotilla.yaml'), 'utf8'));
  const args = container.args ?? [];
  assert.equal(args[args.indexOf('--config') + 1], `${mount.mountPath}/flotilla.yaml`);
  assert.equal(args[args.indexOf('--config') + 1], '/etc/flotilla/flotilla.yaml');
});

test('/tmp is a writable emptyDir (the root filesystem is read-only)', () => {
  const mount = container.volumeMounts?.find((m) => m.mountPath === '/tmp');
  assert.ok(mount, '/tmp mount');
  assert.ok(pod.volumes?.find((v) => v.name === mount.name)?.emptyDir);
});
