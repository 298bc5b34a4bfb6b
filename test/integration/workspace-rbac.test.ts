/**
 * Workspace users get Flotilla through Kubernetes' built-in roles, for real:
 * with the shipped config/rbac applied and kube-controller-manager's
 * clusterrole-aggregation controller running, a user bound to `edit` in a
 * workspace manages Bundles, Clusters and ClusterGroups there (and nothing
 * the controller owns), one bound to `view` reads them and writes nothing,
 * and `admin` includes what `edit` has. Every request is the real kubectl,
 * as a client-certificate user, against the real API server's authorizer.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startControlPlane, DEFAULT_CONTROLLERS, type ControlPlane } from '../../src/controlplane/harness.ts';
import { waitFor } from '../support/kube.ts';
import { kubectl, kubectlOk } from '../support/kubectl.ts';
import { CONFIG_DIR, renderKustomization, REPO_ROOT } from '../unit/manifests/kustomize.ts';

const WORKSPACE = 'team-a';
const OTHER_WORKSPACE = 'team-b';
const CONTENT = `s-${'0'.repeat(64)}`;

let cp: ControlPlane;
let admin: string;
let editor: string;
let viewer: string;
let nsAdmin: string;

const bundle = (name: string) => ({
  apiVersion: 'flotilla.dev/v1alpha1',
  kind: 'Bundle',
  metadata: { name },
  spec: {
    resources: [{ name: 'cm.yaml', content: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hello\ndata:\n  a: b\n' }],
    targets: [{ name: 'all', clusterSelector: {} }],
  },
});
const tenantObjects = [
  bundle('web'),
  { apiVersion: 'flotilla.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'prod-1', labels: { env: 'prod' } }, spec: {} },
  { apiVersion: 'flotilla.dev/v1alpha1', kind: 'ClusterGroup', metadata: { name: 'production' }, spec: { selector: { matchLabels: { env: 'prod' } } } },
];
const bundleDeployment = {
  apiVersion: 'flotilla.dev/v1alpha1',
  kind: 'BundleDeployment',
  metadata: { name: 'web' },
  spec: { contentName: CONTENT, deploymentID: `${CONTENT}:0123456789abcdef` },
};

const asJson = (objects: object[]) => objects.map((o) => JSON.stringify(o)).join('\n');

async function expectForbidden(kubeconfig: string, args: string[], input?: string): Promise<void> {
  const result = await kubectl(kubeconfig, args, input === undefined ? {} : { input });
  assert.notEqual(result.code, 0, `kubectl ${args.join(' ')} was allowed:\n${result.stdout}`);
  assert.match(result.stderr, /forbidden/i, `kubectl ${args.join(' ')} failed for another reason`);
}

async function canI(kubeconfig: string, args: string[]): Promise<string> {
  return (await kubectl(kubeconfig, ['auth', 'can-i', ...args])).stdout.trim();
}

before(async () => {
  cp = await startControlPlane({ controllerManager: true });
  admin = cp.adminKubeconfig;
  for (const dir of ['crd', 'rbac']) await kubectlOk(admin, ['apply', '--server-side', '-k', `config/${dir}`], { cwd: REPO_ROOT });
  const crds = renderKustomization(join(CONFIG_DIR, 'crd')).filter((o) => o.kind === 'CustomResourceDefinition');
  await kubectlOk(admin, ['wait', '--for=condition=Established', '--timeout=60s', ...crds.map((o) => `crd/${o.metadata.name}`)]);
  for (const ns of [WORKSPACE, OTHER_WORKSPACE]) {
    await kubectlOk(admin, ['create', 'namespace', ns]);
    await kubectlOk(admin, ['label', 'namespace', ns, 'flotilla.dev/workspace=true']);
  }
  // Plain RoleBindings to the built-in roles, as a cluster administrator would write them.
  for (const [user, role] of [['alice', 'edit'], ['bob', 'view'], ['carol', 'admin']] as const) {
    await kubectlOk(admin, ['-n', WORKSPACE, 'create', 'rolebinding', `${user}-${role}`, `--clusterrole=${role}`, `--user=${user}`]);
  }
  editor = await cp.userKubeconfig('alice');
  viewer = await cp.userKubeconfig('bob');
  nsAdmin = await cp.userKubeconfig('carol');
  // Aggregation is asynchronous: wait until the authorizer sees the aggregated rules.
  for (const [kubeconfig, verb] of [[editor, 'create'], [viewer, 'list'], [nsAdmin, 'create']] as const) {
    await waitFor(async () => (await canI(kubeconfig, [verb, 'bundles.flotilla.dev', '-n', WORKSPACE])) === 'yes', {
      timeoutMs: 30_000,
      description: `${verb} bundles through the aggregated built-in role`,
    });
  }
});

after(async () => {
  await cp?.stop();
});

describe('Flotilla through the built-in roles', () => {
  it('the harness runs the clusterrole-aggregation controller, which copied the Flotilla rules into edit, admin and view', async () => {
    assert.ok((DEFAULT_CONTROLLERS as readonly string[]).includes('clusterrole-aggregation-controller'));
    const rulesOf = async (role: string) =>
      (JSON.parse(await kubectlOk(admin, ['get', 'clusterrole', role, '-o', 'json'])) as { rules: Array<{ apiGroups?: string[]; resources?: string[]; verbs: string[] }> }).rules.filter((r) =>
        r.apiGroups?.includes('flotilla.dev'),
      );
    for (const role of ['edit', 'admin']) {
      const rules = await rulesOf(role);
      assert.ok(rules.some((r) => r.resources?.includes('bundles') && r.verbs.includes('create')), `${role} creates bundles`);
      assert.ok(rules.some((r) => r.resources?.includes('bundledeployments') && r.verbs.includes('list')), `${role} lists bundledeployments`);
    }
    const view = await rulesOf('view');
    assert.ok(view.length > 0);
    for (const rule of view) assert.deepEqual([...rule.verbs].sort(), ['get', 'list', 'watch']);
  });

  it('edit: creates, changes and deletes Bundles, Clusters and ClusterGroups in its workspace', async () => {
    const applied = await kubectlOk(editor, ['-n', WORKSPACE, 'apply', '--server-side', '-f', '-'], { input: asJson(tenantObjects) });
    assert.match(applied, /bundle\.flotilla\.dev\/web serverside-applied/);
    await kubectlOk(editor, ['-n', WORKSPACE, 'label', 'cluster', 'prod-1', 'region=eu']);
    const labels = await kubectlOk(admin, ['-n', WORKSPACE, 'get', 'cluster', 'prod-1', '-o', 'jsonpath={.metadata.labels.region}']);
    assert.equal(labels, 'eu');
    await kubectlOk(editor, ['-n', WORKSPACE, 'create', '-f', '-'], { input: JSON.stringify(bundle('scratch')) });
    await kubectlOk(editor, ['-n', WORKSPACE, 'delete', 'bundle', 'scratch', '--wait=false']);
    const names = await kubectlOk(editor, ['-n', WORKSPACE, 'get', 'bundles,clusters,clustergroups', '-o', 'name']);
    assert.deepEqual(names.trim().split('\n').sort(), ['bundle.flotilla.dev/web', 'cluster.flotilla.dev/prod-1', 'clustergroup.flotilla.dev/production']);
  });

  it('edit: nothing the controller or the agents own (BundleDeployments, status, Contents), and nothing in another workspace', async () => {
    await expectForbidden(editor, ['-n', WORKSPACE, 'create', '-f', '-'], JSON.stringify(bundleDeployment));
    await expectForbidden(editor, ['-n', WORKSPACE, 'patch', 'bundle', 'web', '--subresource=status', '--type=merge', '-p', '{"status":{"observedGeneration":1}}']);
    await expectForbidden(editor, ['get', 'contents.flotilla.dev']);
    await expectForbidden(editor, ['get', 'contents.flotilla.dev', CONTENT]);
    await expectForbidden(editor, ['-n', OTHER_WORKSPACE, 'create', '-f', '-'], JSON.stringify(bundle('web')));
    await expectForbidden(editor, ['-n', OTHER_WORKSPACE, 'get', 'bundles']);
    // It can still read BundleDeployments, where it has edit.
    assert.equal(await canI(editor, ['list', 'bundledeployments.flotilla.dev', '-n', WORKSPACE]), 'yes');
  });

  it('view: lists and reads, but creates, changes and deletes nothing', async () => {
    const names = await kubectlOk(viewer, ['-n', WORKSPACE, 'get', 'bundles,clusters,clustergroups,bundledeployments', '-o', 'name']);
    assert.deepEqual(names.trim().split('\n').sort(), ['bundle.flotilla.dev/web', 'cluster.flotilla.dev/prod-1', 'clustergroup.flotilla.dev/production']);
    const bundleJson = JSON.parse(await kubectlOk(viewer, ['-n', WORKSPACE, 'get', 'bundle', 'web', '-o', 'json'])) as { spec: { targets: unknown[] } };
    assert.equal(bundleJson.spec.targets.length, 1);

    await expectForbidden(viewer, ['-n', WORKSPACE, 'create', '-f', '-'], JSON.stringify(bundle('mine')));
    await expectForbidden(viewer, ['-n', WORKSPACE, 'label', 'cluster', 'prod-1', 'env=dev', '--overwrite']);
    await expectForbidden(viewer, ['-n', WORKSPACE, 'delete', 'bundle', 'web']);
    await expectForbidden(viewer, ['get', 'contents.flotilla.dev']);
    // Still there, unchanged.
    assert.equal(await kubectlOk(admin, ['-n', WORKSPACE, 'get', 'cluster', 'prod-1', '-o', 'jsonpath={.metadata.labels.env}']), 'prod');
  });

  it('admin: what edit has, and still no BundleDeployment writes', async () => {
    for (const resource of ['bundles', 'clusters', 'clustergroups']) {
      assert.equal(await canI(nsAdmin, ['delete', `${resource}.flotilla.dev`, '-n', WORKSPACE]), 'yes', resource);
    }
    assert.equal(await canI(nsAdmin, ['create', 'bundledeployments.flotilla.dev', '-n', WORKSPACE]), 'no');
    assert.equal(await canI(nsAdmin, ['update', 'bundles.flotilla.dev', '--subresource=status', '-n', WORKSPACE]), 'no');
  });
});
