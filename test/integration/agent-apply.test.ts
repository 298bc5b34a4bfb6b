/**
 * The agent's apply engine (src/agent/apply) against a real API server:
 * one BundleDeployment's manifests applied with server-side apply as an
 * ApplySet, re-applied without writes, changed and pruned, partly invalid,
 * and removed (deleting its objects, or keeping them unlabelled).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { Applier } from '../../src/agent/apply/applier.ts';
import { computeApplySetId } from '../../src/agent/apply/applyset.ts';
import { driftedFields } from '../../src/agent/apply/drift.ts';
import { resourceReadiness } from '../../src/agent/apply/readiness.ts';
import { ApplySetKeys } from '../../src/agent/apply/types.ts';
import type { BundleResource } from '../../src/api/bundle-resource.ts';
import { startControlPlane, type ControlPlane } from '../../src/controlplane/harness.ts';
import { createRegistry } from '../../src/observability/metrics.ts';
import { isNotFound } from '../../src/runtime/errors.ts';
import { KubeClient } from '../../src/runtime/kube/client.ts';
import { impersonatingClients } from '../../src/runtime/kube/impersonation.ts';
import { builtinTypes, type KubeObject, type ResourceType } from '../../src/runtime/kube/resource.ts';

const AGENT_NS = 'flotilla-system';
const APP_NS = 'agent-app';
const serviceType: ResourceType = { group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true };
const crdType: ResourceType = { group: 'apiextensions.k8s.io', version: 'v1', kind: 'CustomResourceDefinition', plural: 'customresourcedefinitions', namespaced: false };
const widgetType: ResourceType = { group: 'example.com', version: 'v1', kind: 'Widget', plural: 'widgets', namespaced: true };

let cp: ControlPlane;
let client: KubeClient;
let applier: Applier;
let impersonation: ReturnType<typeof impersonatingClients>;

before(async () => {
  cp = await startControlPlane({ controllerManager: false });
  const kc = new KubeConfig();
  kc.loadFromFile(cp.adminKubeconfig);
  client = new KubeClient({ kubeConfig: kc, registry: createRegistry({ defaultMetrics: false }), userAgent: 'flotilla-agent-test' });
  await client.create(builtinTypes.namespace, { metadata: { name: AGENT_NS } });
  impersonation = impersonatingClients({ kubeConfig: kc, registry: createRegistry({ defaultMetrics: false }) });
  applier = new Applier({ client, namespace: AGENT_NS, tooling: 'flotilla/0.1.0', clientFor: impersonation.clientFor });
});

after(async () => {
  await impersonation?.close();
  await client?.close();
  await cp?.stop();
});

const namespaceYaml = `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${APP_NS}\n`;
const configYaml = (value: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  key: "${value}"\n`;
const serviceYaml = `apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - name: http
    port: 80
    targetPort: 8080
`;
const crdYaml = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
`;
const widgetYaml = `apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w1\nspec:\n  size: 3\n`;
const extraYaml = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n  namespace: ${APP_NS}\ndata: {a: b}\n`;

function bundle(value: string, withExtra: boolean): BundleResource[] {
  return [
    { name: 'config.yaml', content: configYaml(value) },
    { name: 'service.yaml', content: serviceYaml },
    // The custom resource comes before its CRD and the Namespace last: the
    // engine orders them.
    { name: 'widget.yaml', content: widgetYaml },
    { name: 'crd.yaml', content: crdYaml },
    ...(withExtra ? [{ name: 'extra.yaml', content: extraYaml }] : []),
    { name: 'namespace.yaml', content: namespaceYaml },
  ];
}

const options = { defaultNamespace: APP_NS };

async function parent(name: string): Promise<KubeObject> {
  return client.get<KubeObject>(builtinTypes.configMap, `bd-${name}`, AGENT_NS);
}

async function getOrUndefined(type: ResourceType, name: string, namespace?: string): Promise<KubeObject | undefined> {
  try {
    return await client.get<KubeObject>(type, name, namespace);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

test('a bundle of Namespace, ConfigMap, Service, CRD and custom resource applies in order, labelled, with the parent per the contract', async () => {
  const outcome = await applier.apply({ name: 'web', deploymentID: 'd1', resources: bundle('one', true), options });
  assert.deepEqual(outcome.problems, []);
  assert.equal(outcome.retryable, false);
  assert.deepEqual(outcome.pruned, []);
  const id = computeApplySetId('bd-web', AGENT_NS);
  assert.equal(outcome.applySetId, id);
  assert.equal(applier.applySetId('web'), id);
  assert.deepEqual(
    outcome.applied.map((a) => `${a.ref.kind}/${a.ref.namespace ?? ''}/${a.ref.name}`),
    [`Namespace//${APP_NS}`, 'CustomResourceDefinition//widgets.example.com', `ConfigMap/${APP_NS}/settings`, `Service/${APP_NS}/web`, `Widget/${APP_NS}/w1`, `ConfigMap/${APP_NS}/extra`],
  );
  for (const a of outcome.applied) {
    assert.equal(a.live.metadata.labels?.[ApplySetKeys.partOf], id, `${a.ref.kind} ${a.ref.name} is labelled part of the set`);
    // What the server stored (defaults, int ports, …) is not drift.
    assert.deepEqual(driftedFields(a.desired, a.live), [], `${a.ref.kind} ${a.ref.name} freshly applied shows no drift`);
    assert.ok(a.live.metadata.managedFields?.some((f) => (f as { manager?: string }).manager === 'flotilla-agent'));
  }
  const crd = await client.get<KubeObject>(crdType, 'widgets.example.com');
  assert.equal(resourceReadiness(crd).state, 'Current');

  const p = await parent('web');
  assert.deepEqual(p.metadata.labels, { [ApplySetKeys.id]: id, [ApplySetKeys.bundleDeployment]: 'web' });
  assert.deepEqual(p.metadata.annotations, {
    [ApplySetKeys.tooling]: 'flotilla/0.1.0',
    [ApplySetKeys.containsGroupKinds]: 'ConfigMap,CustomResourceDefinition.apiextensions.k8s.io,Namespace,Service,Widget.example.com',
    [ApplySetKeys.additionalNamespaces]: APP_NS,
    [ApplySetKeys.deploymentID]: 'd1',
  });
  assert.deepEqual(await applier.listApplySets(), [{ name: 'web', deploymentID: 'd1', keepResources: false }]);
});

test('re-applying the same bundle writes nothing: the parent and every member keep their resourceVersion', async () => {
  const before = await parent('web');
  const membersBefore = (await applier.apply({ name: 'web', deploymentID: 'd1', resources: bundle('one', true), options })).applied;
  const again = await applier.apply({ name: 'web', deploymentID: 'd1', resources: bundle('one', true), options });
  assert.deepEqual(again.problems, []);
  assert.equal((await parent('web')).metadata.resourceVersion, before.metadata.resourceVersion);
  assert.deepEqual(
    again.applied.map((a) => a.live.metadata.resourceVersion),
    membersBefore.map((a) => a.live.metadata.resourceVersion),
  );
});

test('a changed bundle updates what changed and prunes what is gone; another set\'s object is left alone', async () => {
  const foreign: KubeObject = {
    metadata: { name: 'foreign', namespace: APP_NS, labels: { [ApplySetKeys.partOf]: computeApplySetId('bd-other', AGENT_NS) } },
    data: { x: 'y' },
  };
  await client.create(builtinTypes.configMap, foreign);
  const outcome = await applier.apply({ name: 'web', deploymentID: 'd2', resources: bundle('two', false), options });
  assert.deepEqual(outcome.problems, []);
  assert.deepEqual(outcome.pruned, [{ apiVersion: 'v1', kind: 'ConfigMap', namespace: APP_NS, name: 'extra' }]);
  assert.equal(await getOrUndefined(builtinTypes.configMap, 'extra', APP_NS), undefined);
  assert.ok(await getOrUndefined(builtinTypes.configMap, 'foreign', APP_NS), 'an object of another ApplySet is not pruned');
  const settings = await client.get<KubeObject>(builtinTypes.configMap, 'settings', APP_NS);
  assert.deepEqual(settings.data, { key: 'two' });
  assert.equal((await parent('web')).metadata.annotations?.[ApplySetKeys.deploymentID], 'd2');
});

test('an invalid object and an unknown kind are problems naming their manifests with the API\'s message; the rest is applied', async () => {
  const resources = [
    ...bundle('three', false),
    { name: 'bad.yaml', content: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\ndata: 5\n` },
    { name: 'gadget.yaml', content: `apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: g1\n` },
    { name: 'noname.yaml', content: `apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n` },
  ];
  const outcome = await applier.apply({ name: 'web', deploymentID: 'd3', resources, options });
  const byManifest = new Map(outcome.problems.map((p) => [p.manifest, p]));
  assert.deepEqual([...byManifest.keys()].sort(), ['bad.yaml', 'gadget.yaml', 'noname.yaml']);
  const bad = byManifest.get('bad.yaml')!;
  assert.deepEqual(bad.ref, { apiVersion: 'v1', kind: 'ConfigMap', namespace: APP_NS, name: 'bad' });
  assert.match(bad.message, /data/, `the API's own message: ${bad.message}`);
  assert.match(byManifest.get('gadget.yaml')!.message, /no kind Gadget in apiVersion example\.com\/v1 on the downstream cluster/);
  assert.match(byManifest.get('noname.yaml')!.message, /metadata\.name/);
  assert.equal(outcome.retryable, true, 'an unknown kind may appear');
  assert.equal(outcome.applied.length, 5);
  assert.deepEqual((await client.get<KubeObject>(builtinTypes.configMap, 'settings', APP_NS)).data, { key: 'three' });
  // Not cleanly applied: the parent still records the last clean deployment.
  assert.equal((await parent('web')).metadata.annotations?.[ApplySetKeys.deploymentID], 'd2');
});

test('with options.serviceAccount the bundle is applied and pruned with that account\'s rights, not the agent\'s', async () => {
  const SA_NS = 'agent-sa';
  await client.create(builtinTypes.namespace, { metadata: { name: SA_NS } });
  const saOptions = { defaultNamespace: SA_NS, serviceAccount: 'deployer' };
  const cm = (name: string) => ({ name: `${name}.yaml`, content: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n` });
  const denied = await applier.apply({ name: 'sa', deploymentID: 's1', resources: [cm('one'), cm('two')], options: saOptions });
  assert.deepEqual(denied.problems.map((p) => p.manifest), ['one.yaml', 'two.yaml']);
  assert.match(denied.problems[0]!.message, /system:serviceaccount:agent-sa:deployer/);
  assert.equal(denied.retryable, false, 'someone has to grant the rights');

  const rbac = { group: 'rbac.authorization.k8s.io', version: 'v1', namespaced: true };
  await client.create({ ...rbac, kind: 'Role', plural: 'roles' }, {
    metadata: { name: 'deployer', namespace: SA_NS },
    rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'create', 'patch', 'delete'] }],
  });
  await client.create({ ...rbac, kind: 'RoleBinding', plural: 'rolebindings' }, {
    metadata: { name: 'deployer', namespace: SA_NS },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'deployer' },
    subjects: [{ kind: 'ServiceAccount', name: 'deployer', namespace: SA_NS }],
  });
  const granted = await applier.apply({ name: 'sa', deploymentID: 's1', resources: [cm('one'), cm('two')], options: saOptions });
  assert.deepEqual(granted.problems, []);
  assert.equal(granted.applied.length, 2);
  const pruned = await applier.apply({ name: 'sa', deploymentID: 's2', resources: [cm('one')], options: saOptions });
  assert.deepEqual(pruned.problems, []);
  assert.deepEqual(pruned.pruned.map((r) => r.name), ['two']);
  assert.equal(await getOrUndefined(builtinTypes.configMap, 'two', SA_NS), undefined);
  await applier.remove('sa', { keepResources: false });
});

test('remove with keepResources leaves the objects, without the part-of label, and deletes the parent', async () => {
  const resources = [{ name: 'kept.yaml', content: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kept\ndata: {a: b}\n` }];
  const outcome = await applier.apply({ name: 'keep', deploymentID: 'k1', resources, options: { ...options, keepResources: true } });
  assert.deepEqual(outcome.problems, []);
  const sets = await applier.listApplySets();
  assert.deepEqual(sets.map((s) => s.name), ['keep', 'web']);
  assert.equal(sets.find((s) => s.name === 'keep')?.keepResources, true, 'the parent records keepResources, for a removal after the BundleDeployment is gone');
  const removed = await applier.remove('keep', { keepResources: true });
  assert.deepEqual(removed.deleted, []);
  const kept = await client.get<KubeObject>(builtinTypes.configMap, 'kept', APP_NS);
  assert.equal(kept.metadata.labels?.[ApplySetKeys.partOf], undefined);
  assert.deepEqual(kept.data, { a: 'b' });
  assert.equal(await getOrUndefined(builtinTypes.configMap, 'bd-keep', AGENT_NS), undefined);
  assert.deepEqual((await applier.listApplySets()).map((s) => s.name), ['web']);
});

test('remove deletes every member and the parent', async () => {
  const removed = await applier.remove('web', { keepResources: false });
  assert.deepEqual(
    removed.deleted.map((r) => `${r.kind}/${r.name}`).sort(),
    ['ConfigMap/settings', 'CustomResourceDefinition/widgets.example.com', 'Namespace/' + APP_NS, 'Service/web', 'Widget/w1'].sort(),
  );
  assert.equal(await getOrUndefined(builtinTypes.configMap, 'settings', APP_NS), undefined);
  assert.equal(await getOrUndefined(serviceType, 'web', APP_NS), undefined);
  assert.equal(await getOrUndefined(widgetType, 'w1', APP_NS), undefined);
  // Without kube-controller-manager a Namespace stays Terminating, and a CRD
  // may still be finalising: deleted means going away.
  const crd = await getOrUndefined(crdType, 'widgets.example.com');
  assert.ok(crd === undefined || crd.metadata.deletionTimestamp, 'the CRD is deleted');
  const ns = await getOrUndefined(builtinTypes.namespace, APP_NS);
  assert.ok(ns === undefined || ns.metadata.deletionTimestamp, 'the Namespace is deleted');
  assert.equal(await getOrUndefined(builtinTypes.configMap, 'bd-web', AGENT_NS), undefined);
  assert.deepEqual(await applier.listApplySets(), []);
  assert.deepEqual(await applier.remove('web', { keepResources: false }), { deleted: [] }, 'removing again is a no-op');
});
