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
interface TopologySpreadConstraint {
  topologyKey: string;
  maxSkew: number;
  whenUnsatisfiable: string;
  labelSelector?: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] };
  matchLabelKeys?: string[];
}
interface PodSpec {
  serviceAccountName?: string;
  topologySpreadConstraints?: TopologySpreadConstraint[];
  nodeSelector?: Record<string, string>;
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
  // config/rbac creates the namespace (config/manager holds only what lives in it).
  assert.ok(renderKustomization(join(CONFIG_DIR, 'rbac')).some((o) => o.kind === 'Namespace' && o.metadata.name === deployment.metadata.namespace));
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

/** Whether `selector` (matchLabels only) selects an object with `labels`. */
function selects(selector: { matchLabels?: Record<string, string>; matchExpressions?: unknown[] } | undefined, labels: Record<string, string>): boolean {
  assert.ok(selector?.matchLabels && Object.keys(selector.matchLabels).length > 0, 'a non-empty matchLabels selector');
  assert.equal(selector.matchExpressions, undefined, 'matchLabels only, so the comparison below is the whole selector');
  return Object.entries(selector.matchLabels).every(([key, value]) => labels[key] === value);
}

test('a PodDisruptionBudget lets a drain evict one replica at a time, selecting exactly the Deployment\'s pods', () => {
  const pdbs = objects.filter((o) => o.kind === 'PodDisruptionBudget') as Array<
    Manifest & {
      apiVersion: string;
      spec: { maxUnavailable?: number | string; minAvailable?: number | string; selector: { matchLabels: Record<string, string> }; unhealthyPodEvictionPolicy?: string };
    }
  >;
  assert.equal(pdbs.length, 1);
  const pdb = pdbs[0]!;
  assert.equal(pdb.apiVersion, 'policy/v1');
  assert.equal(pdb.metadata.namespace, deployment.metadata.namespace);
  // The same selector as the Deployment: a narrower one would leave pods unprotected, a wider one count foreign pods.
  assert.deepEqual(pdb.spec.selector, deployment.spec.selector);
  assert.ok(selects(pdb.spec.selector, deployment.spec.template.metadata.labels));
  // Exactly one of the two, as an integer: with 2 replicas, one may go and one must stay.
  assert.ok((pdb.spec.maxUnavailable === undefined) !== (pdb.spec.minAvailable === undefined), 'maxUnavailable or minAvailable, not both');
  const allowedDisruptions = pdb.spec.maxUnavailable !== undefined ? pdb.spec.maxUnavailable : deployment.spec.replicas - (pdb.spec.minAvailable as number);
  assert.equal(typeof allowedDisruptions, 'number', 'an absolute number, not a percentage (rounding on 2 replicas is easy to get wrong)');
  assert.equal(allowedDisruptions, 1, 'one replica may be evicted at a time');
  assert.ok(deployment.spec.replicas - (allowedDisruptions as number) >= 1, 'a replica always stays');
  // A pod that is not ready must not block node drains.
  assert.equal(pdb.spec.unhealthyPodEvictionPolicy, 'AlwaysAllow');
});

test('topology spread constraints place the replicas on different nodes and zones, preferred (ScheduleAnyway), over the Deployment\'s pods', () => {
  const constraints = pod.topologySpreadConstraints ?? [];
  assert.deepEqual(constraints.map((c) => c.topologyKey).sort(), ['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
  for (const c of constraints) {
    assert.equal(c.maxSkew, 1, c.topologyKey);
    // DoNotSchedule would leave a replica Pending on a one-node or one-zone cluster.
    assert.equal(c.whenUnsatisfiable, 'ScheduleAnyway', c.topologyKey);
    assert.ok(selects(c.labelSelector, deployment.spec.template.metadata.labels), `${c.topologyKey}: the selector matches the pod template`);
    assert.deepEqual(c.labelSelector?.matchLabels, deployment.spec.selector.matchLabels, `${c.topologyKey}: the Deployment's own selector`);
    assert.deepEqual(c.matchLabelKeys, ['pod-template-hash'], `${c.topologyKey}: spread per ReplicaSet during rolling updates`);
  }
});

test('the selector test helper rejects a selector that does not match', () => {
  assert.equal(selects({ matchLabels: { 'app.kubernetes.io/name': 'other' } }, deployment.spec.template.metadata.labels), false);
  assert.throws(() => selects({ matchLabels: {} }, {}), /non-empty/);
});

test('the pods run on Linux nodes only (the image is Linux-only)', () => {
  assert.deepEqual(pod.nodeSelector, { 'kubernetes.io/os': 'linux' });
});
