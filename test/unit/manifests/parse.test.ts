import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, relative } from 'node:path';
import { CONFIG_DIR, manifestId, readKustomization, readYamlDocuments, renderKustomization, REPO_ROOT, yamlFilesUnder } from './kustomize.ts';

const DIRS = ['manager', 'default', 'prometheus', 'rbac'].map((d) => join(CONFIG_DIR, d));

test('every YAML file under config/manager, default, prometheus and rbac parses into Kubernetes objects', () => {
  const files = DIRS.flatMap(yamlFilesUnder);
  assert.ok(files.length >= 10, `expected the shipped manifests, found ${files.length} files`);
  // Inputs of a configMapGenerator (the controller's config file) are data, not objects.
  const generatorInputs = new Set(
    DIRS.flatMap((dir) => (readKustomization(dir).configMapGenerator ?? []).flatMap((g) => g.files ?? []).map((f) => join(dir, f.split('=').at(-1) ?? f))),
  );
  for (const file of files) {
    const docs = readYamlDocuments(file);
    assert.ok(docs.length > 0, `${relative(REPO_ROOT, file)} has no documents`);
    if (generatorInputs.has(file)) continue;
    for (const doc of docs) {
      const o = doc as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown } };
      assert.equal(typeof o.apiVersion, 'string', `${relative(REPO_ROOT, file)}: apiVersion`);
      assert.equal(typeof o.kind, 'string', `${relative(REPO_ROOT, file)}: kind`);
      if (o.kind !== 'Kustomization') assert.equal(typeof o.metadata?.name, 'string', `${relative(REPO_ROOT, file)}: metadata.name`);
    }
  }
});

test('every file in a kustomization directory is listed in its resources (nothing shipped is silently left out)', () => {
  for (const dir of DIRS) {
    const k = readKustomization(dir);
    const listed = new Set((k.resources ?? []).map((r) => join(dir, r)));
    const generated = new Set((k.configMapGenerator ?? []).flatMap((g) => g.files ?? []).map((f) => join(dir, f.split('=').at(-1) ?? f)));
    for (const file of yamlFilesUnder(dir)) {
      if (file === join(dir, 'kustomization.yaml') || generated.has(file)) continue;
      assert.ok(listed.has(file), `${relative(REPO_ROOT, file)} is not in ${relative(REPO_ROOT, dir)}/kustomization.yaml`);
    }
  }
});

test('config/rbac brings the namespace and config/manager holds only objects inside it, so each applies after the one before', () => {
  const rbac = renderKustomization(join(CONFIG_DIR, 'rbac'));
  const namespaces = rbac.filter((o) => o.kind === 'Namespace');
  assert.deepEqual(namespaces.map((o) => o.metadata.name), ['flotilla-system']);
  // The namespace comes first in kustomize's order, so one apply creates it before what lives in it.
  assert.equal(rbac[0]?.kind, 'Namespace');
  for (const o of rbac) if (o.metadata.namespace !== undefined) assert.equal(o.metadata.namespace, 'flotilla-system', manifestId(o));
  const manager = renderKustomization(join(CONFIG_DIR, 'manager'));
  assert.ok(manager.length > 0);
  // Namespaced only: a namespace admin can apply it, and it needs nothing config/rbac does not create.
  for (const o of manager) assert.equal(o.metadata.namespace, 'flotilla-system', `${manifestId(o)} in config/manager lives in flotilla-system`);
});

test('config/default renders crd + rbac + manager, and every namespaced object lives in flotilla-system', () => {
  const objects = renderKustomization(join(CONFIG_DIR, 'default'));
  const ids = objects.map(manifestId);
  for (const expected of [
    'Namespace. flotilla-system',
    'Deployment.apps flotilla-system/flotilla-controller',
    'Service. flotilla-system/flotilla-controller-metrics',
    'ConfigMap. flotilla-system/flotilla-config',
    'ServiceAccount. flotilla-system/flotilla-controller',
    'ClusterRole.rbac.authorization.k8s.io flotilla-manager',
    'ClusterRoleBinding.rbac.authorization.k8s.io flotilla-manager',
    'Role.rbac.authorization.k8s.io flotilla-system/flotilla-leader-election',
    'RoleBinding.rbac.authorization.k8s.io flotilla-system/flotilla-leader-election',
    'PodDisruptionBudget.policy flotilla-system/flotilla-controller',
    'ClusterRole.rbac.authorization.k8s.io flotilla-edit',
    'ClusterRole.rbac.authorization.k8s.io flotilla-view',
  ]) {
    assert.ok(ids.includes(expected), `config/default is missing ${expected}; it has:\n${ids.join('\n')}`);
  }
  const crdFiles = (readKustomization(join(CONFIG_DIR, 'crd')).resources ?? []).filter((r) => r.startsWith('bases/'));
  assert.equal(objects.filter((o) => o.kind === 'CustomResourceDefinition').length, crdFiles.length);
  assert.deepEqual(
    objects.filter((o) => o.kind.startsWith('ValidatingAdmissionPolicy')).map(manifestId).sort(),
    ['ValidatingAdmissionPolicy.admissionregistration.k8s.io resource-size.flotilla.dev', 'ValidatingAdmissionPolicyBinding.admissionregistration.k8s.io resource-size.flotilla.dev'],
    'the size limits come with the CRDs',
  );
  for (const o of objects) {
    if (o.metadata.namespace !== undefined) assert.equal(o.metadata.namespace, 'flotilla-system', manifestId(o));
  }
  // Prometheus Operator objects need its CRDs: optional, so not in default.
  assert.ok(!objects.some((o) => o.apiVersion.startsWith('monitoring.coreos.com/')));
});

test('config/prometheus renders a ServiceMonitor and a PrometheusRule that select the metrics Service', () => {
  const objects = renderKustomization(join(CONFIG_DIR, 'prometheus'));
  assert.deepEqual(objects.map((o) => o.kind).sort(), ['PrometheusRule', 'ServiceMonitor']);
  const monitor = objects.find((o) => o.kind === 'ServiceMonitor') as unknown as {
    spec: {
      selector: { matchLabels: Record<string, string> };
      endpoints: Array<{ port: string; path: string; scheme?: string; bearerTokenFile?: string; tlsConfig?: Record<string, unknown> }>;
    };
  };
  const service = renderKustomization(join(CONFIG_DIR, 'manager')).find((o) => o.kind === 'Service') as unknown as {
    metadata: { labels: Record<string, string> };
    spec: { ports: Array<{ name: string }> };
  };
  for (const [key, value] of Object.entries(monitor.spec.selector.matchLabels)) assert.equal(service.metadata.labels[key], value, `Service label ${key}`);
  assert.ok(service.spec.ports.some((p) => p.name === monitor.spec.endpoints[0]?.port));
  assert.equal(monitor.spec.endpoints[0]?.path, '/metrics');
  // Secure metrics: HTTPS, with the Prometheus ServiceAccount's token for the TokenReview.
  assert.equal(monitor.spec.endpoints[0]?.scheme, 'https');
  assert.equal(monitor.spec.endpoints[0]?.bearerTokenFile, '/var/run/secrets/kubernetes.io/serviceaccount/token');
  assert.ok(monitor.spec.endpoints[0]?.tlsConfig, 'tlsConfig');
});

test('the renderer refuses a generator file outside the kustomization root, as kustomize does', () => {
  // The reason config/manager keeps a copy of config/flotilla.yaml.
  assert.throws(() => renderKustomization(join(REPO_ROOT, 'test/unit/manifests/fixtures/outside-root')), /outside the kustomization root/);
});
