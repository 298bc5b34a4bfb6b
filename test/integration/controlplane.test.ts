import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  AuthenticationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  RbacAuthorizationV1Api,
  type KubeConfig,
  type V1ConfigMap,
} from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../../src/controlplane/harness.ts';
import { controllerKubeconfig } from '../../src/controlplane/rbac.ts';
import { apiStatusCode, applyManifests, expectApiStatus, firstWatchEvent, kubeRequest, loadKubeConfig } from '../support/kube.ts';
import { waitFor } from '../../src/util/wait.ts';

// One real control plane for the whole file: starting one costs seconds.
let cp: ControlPlane;
let admin: KubeConfig;
let core: CoreV1Api;

before(async () => {
  cp = await startControlPlane();
  admin = loadKubeConfig(cp.adminKubeconfig);
  core = admin.makeApiClient(CoreV1Api);
});

after(async () => {
  await cp?.stop();
});

async function createNamespace(name: string): Promise<void> {
  await core.createNamespace({ body: { metadata: { name } } });
}

async function configMapGone(namespace: string, name: string): Promise<boolean> {
  try {
    await core.readNamespacedConfigMap({ namespace, name });
    return false;
  } catch (error) {
    if (apiStatusCode(error) === 404) return true;
    throw error;
  }
}

test('serves the pinned Kubernetes version', async () => {
  const version = await kubeRequest(admin, { path: '/version' });
  assert.equal(version.status, 200);
  assert.equal((version.body as { gitVersion?: string }).gitVersion, cp.kubernetesVersion);
  assert.match(cp.kubernetesVersion, /^v1\.\d+\.\d+/);
  assert.match(cp.etcdVersion, /^v3\.\d+\.\d+/);
});

test('deleting a namespace completes: the namespace controller empties and removes it', { timeout: 120_000 }, async () => {
  await createNamespace('doomed');
  await core.createNamespacedConfigMap({ namespace: 'doomed', body: { metadata: { name: 'content' }, data: { a: '1' } } });
  await core.deleteNamespace({ name: 'doomed' });
  await waitFor(
    async () => {
      try {
        await core.readNamespace({ name: 'doomed' });
        return false;
      } catch (error) {
        if (apiStatusCode(error) === 404) return true;
        throw error;
      }
    },
    { timeoutMs: 90_000, intervalMs: 250, description: 'namespace doomed to disappear' },
  );
});

test('deleting an owner garbage-collects its dependents', { timeout: 120_000 }, async () => {
  await createNamespace('gc');
  const owner = await core.createNamespacedConfigMap({ namespace: 'gc', body: { metadata: { name: 'owner' } } });
  const ownerReference = { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata?.uid ?? '' };
  assert.notEqual(ownerReference.uid, '');
  await core.createNamespacedConfigMap({ namespace: 'gc', body: { metadata: { name: 'dependent', ownerReferences: [ownerReference] } } });
  await core.createNamespacedConfigMap({ namespace: 'gc', body: { metadata: { name: 'bystander' } } });

  await core.deleteNamespacedConfigMap({ namespace: 'gc', name: 'owner' });
  await waitFor(() => configMapGone('gc', 'dependent'), { timeoutMs: 90_000, intervalMs: 250, description: 'the dependent ConfigMap to be collected' });
  assert.equal(await configMapGone('gc', 'bystander'), false, 'a ConfigMap without the owner reference must survive');
});

test('userKubeconfig authenticates a client-cert user with its groups', async () => {
  const kc = loadKubeConfig(await cp.userKubeconfig('dave', ['team-a', 'team-b']));
  const review = await kc.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
  });
  assert.equal(review.status?.userInfo?.username, 'dave');
  assert.deepEqual(
    [...(review.status?.userInfo?.groups ?? [])].sort(),
    ['system:authenticated', 'team-a', 'team-b'],
  );
});

test('a user without bindings is denied (403) what admin may do', async () => {
  const nobody = loadKubeConfig(await cp.userKubeconfig('nobody')).makeApiClient(CoreV1Api);
  await expectApiStatus(nobody.listSecretForAllNamespaces(), 403, 'listing secrets as an unbound user');
  const secrets = await core.listSecretForAllNamespaces();
  assert.ok(Array.isArray(secrets.items), 'admin lists secrets');
});

test('a user bound to a narrow Role can do exactly what it grants', { timeout: 60_000 }, async () => {
  await createNamespace('narrow');
  await core.createNamespacedConfigMap({ namespace: 'narrow', body: { metadata: { name: 'visible' } } });
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({
    namespace: 'narrow',
    body: { metadata: { name: 'configmap-reader' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }] },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: 'narrow',
    body: {
      metadata: { name: 'carol-reads-configmaps' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmap-reader' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'carol' }],
    },
  });
  const carol = loadKubeConfig(await cp.userKubeconfig('carol')).makeApiClient(CoreV1Api);

  // Bindings reach the authorizer through informers: allow it a moment.
  const list = await waitFor(() => carol.listNamespacedConfigMap({ namespace: 'narrow' }), {
    timeoutMs: 10_000,
    description: 'carol to be allowed to list configmaps in narrow',
  });
  assert.ok(list.items.some((cm) => cm.metadata?.name === 'visible'));
  const read = await carol.readNamespacedConfigMap({ namespace: 'narrow', name: 'visible' });
  assert.equal(read.metadata?.name, 'visible');

  await expectApiStatus(carol.createNamespacedConfigMap({ namespace: 'narrow', body: { metadata: { name: 'x' } } }), 403, 'create (not granted)');
  await expectApiStatus(carol.listNamespacedConfigMap({ namespace: 'default' }), 403, 'list in another namespace');
  await expectApiStatus(carol.listNamespacedSecret({ namespace: 'narrow' }), 403, 'list secrets (other resource)');
});

test('controllerKubeconfig applies the RBAC directory and binds its roles to the controller user', { timeout: 60_000 }, async () => {
  const rbacDir = await mkdtemp(join(tmpdir(), 'flotilla-rbac-'));
  try {
    await writeFile(
      join(rbacDir, 'role.yaml'),
      `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: test-manager
rules:
  - apiGroups: [""]
    resources: [configmaps]
    verbs: [get, list, watch]
`,
    );
    await writeFile(
      join(rbacDir, 'leader_election.yaml'),
      `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: test-leader-election
  namespace: test-system
rules:
  - apiGroups: [coordination.k8s.io]
    resources: [leases]
    verbs: [get, list, watch, create, update, patch, delete]
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: test-controller
  namespace: test-system
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: test-leader-election
  namespace: test-system
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: test-leader-election
subjects:
  - kind: ServiceAccount
    name: test-controller
    namespace: test-system
`,
    );
    const kc = loadKubeConfig(await controllerKubeconfig(cp, 'test-controller-user', { rbacDir }));
    const asController = kc.makeApiClient(CoreV1Api);
    const leases = kc.makeApiClient(CoordinationV1Api);

    const cms = await asController.listConfigMapForAllNamespaces();
    assert.ok(cms.items.length > 0, 'the ClusterRole grants listing configmaps everywhere');
    const lease = await leases.createNamespacedLease({ namespace: 'test-system', body: { metadata: { name: 'probe' }, spec: { holderIdentity: 'x' } } });
    assert.equal(lease.metadata?.name, 'probe');
    await expectApiStatus(leases.createNamespacedLease({ namespace: 'default', body: { metadata: { name: 'probe' } } }), 403, 'lease outside the Role namespace');
    await expectApiStatus(asController.listSecretForAllNamespaces(), 403, 'secrets (not granted)');

    // The manifests themselves were applied too (ServiceAccount and its binding).
    const sa = await core.readNamespacedServiceAccount({ namespace: 'test-system', name: 'test-controller' });
    assert.equal(sa.metadata?.name, 'test-controller');
    const binding = await admin.makeApiClient(RbacAuthorizationV1Api).readClusterRoleBinding({ name: 'test-manager-test-controller-user' });
    assert.deepEqual(binding.subjects?.map((s) => `${s.kind}/${s.name}`), ['User/test-controller-user']);
  } finally {
    await rm(rbacDir, { recursive: true, force: true });
  }
});

test('applyManifests applies a CRD and an instance of it from one YAML text', { timeout: 60_000 }, async () => {
  const applied = await applyManifests(
    admin,
    `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.test.flotilla.dev
spec:
  group: test.flotilla.dev
  scope: Namespaced
  names: { plural: widgets, singular: widget, kind: Widget }
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
              x-kubernetes-validations:
                - rule: "self.size >= 0"
              properties:
                size: { type: integer }
---
apiVersion: test.flotilla.dev/v1
kind: Widget
metadata: { name: w1, namespace: default }
spec: { size: 3 }
`,
  );
  assert.deepEqual(applied.map((o) => o.kind), ['CustomResourceDefinition', 'Widget']);
  const crd = applied[0] as { spec?: { versions?: Array<{ schema?: { openAPIV3Schema?: { properties?: { spec?: Record<string, unknown> } } } }> } };
  assert.deepEqual(
    crd.spec?.versions?.[0]?.schema?.openAPIV3Schema?.properties?.spec?.['x-kubernetes-validations'],
    [{ rule: 'self.size >= 0' }],
    'the CEL rule reached the server intact',
  );
  assert.equal((applied[1] as { spec?: { size?: number } }).spec?.size, 3);
});

test('while etcd is paused, requests that need it fail with a timeout; after resume they succeed', { timeout: 60_000 }, async () => {
  await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'stall-probe' } } });
  cp.pauseEtcd();
  let outcome: string;
  const started = Date.now();
  try {
    // A GET without resourceVersion is a quorum read from etcd. The
    // server's deadline (here 2 s via `timeout`) answers 504 Timeout, or,
    // when the handler's own deadline wins the race, resets the connection.
    const response = await kubeRequest(admin, { path: '/api/v1/namespaces/default/configmaps/stall-probe?timeout=2s', timeoutMs: 20_000 });
    outcome = `HTTP ${response.status} ${(response.body as { reason?: string }).reason ?? ''}`.trim();
  } catch (error) {
    outcome = (error as NodeJS.ErrnoException).code ?? String(error);
  } finally {
    cp.resumeEtcd();
  }
  assert.match(outcome, /^(HTTP 504 Timeout|ECONNRESET)$/);
  assert.ok(Date.now() - started >= 1900, 'the request waited for the server deadline');
  const cm = await core.readNamespacedConfigMap({ namespace: 'default', name: 'stall-probe' });
  assert.equal(cm.metadata?.name, 'stall-probe');
});

test('after compaction old resourceVersions expire (410), and after a restart the API server serves again', { timeout: 120_000 }, async () => {
  await createNamespace('compaction');
  const created: V1ConfigMap = await core.createNamespacedConfigMap({ namespace: 'compaction', body: { metadata: { name: 'c' }, data: { v: '0' } } });
  const oldVersion = created.metadata?.resourceVersion ?? '';
  let latest = created;
  for (let i = 1; i <= 3; i++) {
    latest = await core.replaceNamespacedConfigMap({ namespace: 'compaction', name: 'c', body: { metadata: { name: 'c' }, data: { v: String(i) } } });
  }
  const revision = await cp.compactEtcd();
  assert.ok(revision > Number(latest.metadata?.resourceVersion), `compacted to ${revision}, past the last write`);

  // compactEtcd records the compaction as the API server's own compactor
  // does, so its watch cache stops serving lists at compacted versions.
  await waitFor(
    async () =>
      (await kubeRequest(admin, { path: `/api/v1/namespaces/compaction/configmaps?resourceVersion=${oldVersion}&resourceVersionMatch=Exact` }))
        .status === 410,
    { timeoutMs: 30_000, intervalMs: 250, description: 'an exact list at a compacted resourceVersion to get 410' },
  );

  const userKc = loadKubeConfig(await cp.userKubeconfig('survivor', ['system:masters']));
  await cp.restartApiServer();

  // The restarted server's watch cache starts at the current revision and
  // etcd no longer has the old history: the watch expires.
  const watch = await firstWatchEvent(admin, `/api/v1/namespaces/compaction/configmaps?watch=1&resourceVersion=${oldVersion}`);
  const status = watch.event?.object as { code?: number; reason?: string } | undefined;
  assert.equal(status?.code, 410, `watch from ${oldVersion}: ${JSON.stringify(watch)}`);
  assert.equal(status?.reason, 'Expired');

  // Same port, same CA: clients configured before the restart keep working.
  const cm = await userKc.makeApiClient(CoreV1Api).readNamespacedConfigMap({ namespace: 'compaction', name: 'c' });
  assert.equal(cm.data?.v, '3');
});

test('stopApiServer refuses connections until startApiServer brings it back', { timeout: 120_000 }, async () => {
  await cp.stopApiServer();
  try {
    const error = await kubeRequest(admin, { path: '/readyz', timeoutMs: 5000 }).then(
      () => undefined,
      (e: unknown) => e as NodeJS.ErrnoException,
    );
    assert.equal(error?.code, 'ECONNREFUSED');
  } finally {
    await cp.startApiServer();
  }
  const ready = await kubeRequest(admin, { path: '/readyz' });
  assert.equal(ready.status, 200);
  assert.equal(ready.body, 'ok');
});
