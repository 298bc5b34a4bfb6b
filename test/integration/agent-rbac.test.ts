/**
 * The agent's security boundary, with real requests: `flotilla cluster add`
 * registers two Clusters in one workspace (A installed into a downstream
 * control plane, B with --print), and agent A's minted token is then tried
 * against everything it must and must not reach. `flotilla cluster remove`
 * revokes it (401) and uninstalls the agent downstream.
 */
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { GROUP, Label, VERSION, WORKSPACE_LABEL_VALUE } from '../../src/api/constants.ts';
import { prepareAdd } from '../../src/cli/cluster-commands.ts';
import { startControlPlane, type ControlPlane } from '../../src/controlplane/harness.ts';
import { startPlacementEnv, type PlacementEnv } from '../support/flotilla.ts';
import { apiStatusCode, kubeRequest, loadKubeConfig, waitFor } from '../support/kube.ts';
import { runCli, type CliResult } from '../support/cli.ts';

const API = `/apis/${GROUP}/${VERSION}`;
const WS = 'team-a';
const OTHER_WS = 'team-b';

let env: PlacementEnv | undefined;
let downstream: ControlPlane | undefined;

interface Registered {
  namespace: string;
  kc: KubeConfig;
  bd: Record<string, any>;
}
let a: Registered;
let b: Registered;
let otherNamespace: string;
let contentName: string;

function flotilla(args: string[]): Promise<CliResult> {
  return runCli(args);
}

function kubeConfigFrom(yaml: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(yaml);
  return kc;
}

async function deploymentNamespace(custom: CustomObjectsApi, workspace: string, name: string): Promise<string> {
  return waitFor(
    async () => ((await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: workspace, plural: 'clusters', name })) as { status?: { namespace?: string } }).status?.namespace,
    { timeoutMs: 30_000, description: `Cluster ${workspace}/${name} to get a deployment namespace` },
  );
}

async function bundleDeploymentIn(custom: CustomObjectsApi, namespace: string): Promise<Record<string, any>> {
  return waitFor(
    async () => ((await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural: 'bundledeployments' })) as { items: Array<Record<string, any>> }).items[0],
    { timeoutMs: 30_000, description: `a BundleDeployment in ${namespace}` },
  );
}

before(async () => {
  // Upstream needs kube-controller-manager: the token controller and namespace deletion.
  env = await startPlacementEnv({ controllerManager: true });
  downstream = await startControlPlane({ controllerManager: false });
  const flotillaProcess = await env.startFlotilla();
  await flotillaProcess.waitForReady();
  const admin = env.adminKubeConfig;
  const core = admin.makeApiClient(CoreV1Api);
  const custom = admin.makeApiClient(CustomObjectsApi);
  for (const ws of [WS, OTHER_WS]) await core.createNamespace({ body: { metadata: { name: ws, labels: { [Label.Workspace]: WORKSPACE_LABEL_VALUE } } } });
  const bundle = (namespace: string) => ({
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'Bundle',
    metadata: { name: 'app', namespace },
    spec: {
      resources: [{ name: 'cm.yaml', content: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  k: v\n' }],
      targets: [{ name: 'all', clusterSelector: {} }],
    },
  });
  for (const ws of [WS, OTHER_WS]) await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ws, plural: 'bundles', body: bundle(ws) });
  // A Cluster in another workspace, created directly: the agent must reach nothing of it.
  await custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: OTHER_WS, plural: 'clusters', body: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Cluster', metadata: { name: 'c', namespace: OTHER_WS } } });

  // A: the real path, installed into the downstream control plane.
  const addA = await flotilla(['cluster', 'add', 'a', '-n', WS, '--kubeconfig', downstream.adminKubeconfig, '--upstream-kubeconfig', env.cp.adminKubeconfig, '--agent-namespace', 'agents-a', '--labels', 'env=dev', '--timeout', '60s']);
  assert.equal(addA.code, 0, `cluster add a:\n${addA.stdout}\n${addA.stderr}`);
  const secret = await loadKubeConfig(downstream.adminKubeconfig).makeApiClient(CoreV1Api).readNamespacedSecret({ name: 'flotilla-agent-upstream', namespace: 'agents-a' });
  const nsA = await deploymentNamespace(custom, WS, 'a');
  a = { namespace: nsA, kc: kubeConfigFrom(Buffer.from(secret.data?.kubeconfig ?? '', 'base64').toString('utf8')), bd: await bundleDeploymentIn(custom, nsA) };

  // B: --print, nothing installed; the kubeconfig is in the printed Secret.
  const addB = await flotilla(['cluster', 'add', 'b', '-n', WS, '--print', '--upstream-kubeconfig', env.cp.adminKubeconfig]);
  assert.equal(addB.code, 0, `cluster add b --print:\n${addB.stderr}`);
  const printed = parseAllDocuments(addB.stdout).map((d) => d.toJS() as Record<string, any>);
  const printedSecret = printed.find((o) => o.kind === 'Secret');
  const nsB = await deploymentNamespace(custom, WS, 'b');
  b = { namespace: nsB, kc: kubeConfigFrom(Buffer.from(printedSecret?.data.kubeconfig, 'base64').toString('utf8')), bd: await bundleDeploymentIn(custom, nsB) };
  otherNamespace = await deploymentNamespace(custom, OTHER_WS, 'c');
  contentName = a.bd.spec.contentName;
});

after(async () => {
  await Promise.allSettled([env?.stop(), downstream?.stop()]);
});

async function status(kc: KubeConfig, method: string, path: string, body?: unknown, contentType?: string): Promise<number> {
  return (await kubeRequest(kc, { method, path, ...(body === undefined ? {} : { body }), ...(contentType ? { contentType } : {}), timeoutMs: 15_000 })).status;
}

test('cluster add: A installed downstream in its agent namespace; A and B got their own deployment namespaces; the agent kubeconfig points there', async () => {
  assert.notEqual(a.namespace, b.namespace);
  const apps = loadKubeConfig(downstream!.adminKubeconfig).makeApiClient(AppsV1Api);
  const deployment = await apps.readNamespacedDeployment({ name: 'flotilla-agent', namespace: 'agents-a' });
  assert.deepEqual(deployment.spec?.template.spec?.containers[0]?.args?.slice(0, 5), ['agent', '--upstream-kubeconfig', '/etc/flotilla/upstream/kubeconfig', '--namespace', a.namespace]);
  assert.equal(a.kc.getContextObject(a.kc.getCurrentContext())?.namespace, a.namespace);
  assert.equal(a.kc.getCurrentCluster()?.server, env!.cp.apiServerUrl);
  const cluster = (await env!.adminKubeConfig.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: WS, plural: 'clusters', name: 'a' })) as { metadata: { labels?: Record<string, string> } };
  assert.equal(cluster.metadata.labels?.env, 'dev');
});

test('cluster add again converges (server-side apply): exit 0, same namespace; a namespace that is no workspace is refused with exit 2', async () => {
  const again = await flotilla(['cluster', 'add', 'a', '-n', WS, '--kubeconfig', downstream!.adminKubeconfig, '--upstream-kubeconfig', env!.cp.adminKubeconfig, '--agent-namespace', 'agents-a', '--labels', 'env=dev']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, new RegExp(`deployment namespace ${a.namespace}`));
  assert.match(again.stdout, /kubectl get cluster a -n team-a \(condition AgentConnected\)/);
  const refused = await flotilla(['cluster', 'add', 'x', '-n', 'default', '--print', '--upstream-kubeconfig', env!.cp.adminKubeconfig]);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /Namespace default is not a workspace/);
});

test('agent A may: read its BundleDeployments, write their status, get a Content by name, create and renew its Lease', async () => {
  const bds = `${API}/namespaces/${a.namespace}/bundledeployments`;
  const bd = `${bds}/${a.bd.metadata.name}`;
  assert.equal(await status(a.kc, 'GET', bds), 200, 'list BDs');
  assert.equal(await status(a.kc, 'GET', `${bds}?watch=1&timeoutSeconds=1`), 200, 'watch BDs');
  assert.equal(await status(a.kc, 'GET', bd), 200, 'get BD');
  const patch = { status: { appliedDeploymentID: a.bd.spec.deploymentID, ready: false, nonModified: true } };
  assert.equal(await status(a.kc, 'PATCH', `${bd}/status`, patch, 'application/merge-patch+json'), 200, 'patch BD status');
  const current = (await kubeRequest(a.kc, { path: `${bd}/status` })).body as Record<string, any>;
  current.status = { ...current.status, ready: true };
  assert.equal(await status(a.kc, 'PUT', `${bd}/status`, current), 200, 'update BD status');
  assert.equal(await status(a.kc, 'GET', `${API}/contents/${contentName}`), 200, 'get Content by name');

  const leases = `/apis/coordination.k8s.io/v1/namespaces/${a.namespace}/leases`;
  const created = await kubeRequest(a.kc, { method: 'POST', path: leases, body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'flotilla-agent' }, spec: { holderIdentity: 'agent-a', leaseDurationSeconds: 40 } } });
  assert.equal(created.status, 201, 'create the heartbeat Lease');
  const lease = created.body as Record<string, any>;
  lease.spec.renewTime = new Date().toISOString().replace(/Z$/, '000Z'); // MicroTime
  assert.equal(await status(a.kc, 'PUT', `${leases}/flotilla-agent`, lease), 200, 'renew the heartbeat Lease');
});

test('agent A may not: list or watch or change Contents, reach B or another workspace, write BD specs, read Bundles, Clusters, ClusterGroups or Secrets, touch other Leases', async () => {
  const bdsA = `${API}/namespaces/${a.namespace}/bundledeployments`;
  const bdA = `${bdsA}/${a.bd.metadata.name}`;
  const content = `${API}/contents/${contentName}`;
  const fullContent = (await kubeRequest(env!.adminKubeConfig, { path: content })).body;
  const leases = `/apis/coordination.k8s.io/v1/namespaces/${a.namespace}/leases`;
  // A Lease with another name, made by the admin, for the agent to try to update.
  const other = await kubeRequest(env!.adminKubeConfig, { method: 'POST', path: leases, body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'someone-else' }, spec: { holderIdentity: 'x' } } });
  assert.equal(other.status, 201);
  const newBd = { apiVersion: `${GROUP}/${VERSION}`, kind: 'BundleDeployment', metadata: { name: 'forged', namespace: a.namespace }, spec: a.bd.spec };
  const forbidden: Array<[string, string, string, unknown?]> = [
    ['list Contents', 'GET', `${API}/contents`],
    ['watch Contents', 'GET', `${API}/contents?watch=1&timeoutSeconds=1`],
    ['update a Content', 'PUT', content, fullContent],
    ['delete a Content', 'DELETE', content],
    ['get a BD in B\'s namespace', 'GET', `${API}/namespaces/${b.namespace}/bundledeployments/${b.bd.metadata.name}`],
    ['list BDs in B\'s namespace', 'GET', `${API}/namespaces/${b.namespace}/bundledeployments`],
    ['update a BD spec in its own namespace', 'PUT', bdA, a.bd],
    ['create a BD', 'POST', bdsA, newBd],
    ['delete a BD', 'DELETE', bdA],
    ['list BDs across namespaces', 'GET', `${API}/bundledeployments`],
    ['list Bundles in the workspace', 'GET', `${API}/namespaces/${WS}/bundles`],
    ['get a Bundle', 'GET', `${API}/namespaces/${WS}/bundles/app`],
    ['list Clusters in the workspace', 'GET', `${API}/namespaces/${WS}/clusters`],
    ['get its own Cluster', 'GET', `${API}/namespaces/${WS}/clusters/a`],
    ['list ClusterGroups in the workspace', 'GET', `${API}/namespaces/${WS}/clustergroups`],
    ['get ClusterGroups', 'GET', `${API}/namespaces/${WS}/clustergroups/any`],
    ['get its token Secret', 'GET', `/api/v1/namespaces/${a.namespace}/secrets/flotilla-agent-token`],
    ['list Secrets in its namespace', 'GET', `/api/v1/namespaces/${a.namespace}/secrets`],
    ['update a Lease with another name', 'PUT', `${leases}/someone-else`, other.body],
    ['get a Lease with another name', 'GET', `${leases}/someone-else`],
    ['list BDs in another workspace\'s deployment namespace', 'GET', `${API}/namespaces/${otherNamespace}/bundledeployments`],
    ['list Clusters in another workspace', 'GET', `${API}/namespaces/${OTHER_WS}/clusters`],
    ['list Bundles in another workspace', 'GET', `${API}/namespaces/${OTHER_WS}/bundles`],
    ['create a Lease in another workspace\'s deployment namespace', 'POST', `/apis/coordination.k8s.io/v1/namespaces/${otherNamespace}/leases`, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'flotilla-agent' }, spec: {} }],
  ];
  const wrong: string[] = [];
  for (const [what, method, path, body] of forbidden) {
    const code = await status(a.kc, method, path, body);
    if (code !== 403) wrong.push(`${what} (${method} ${path}): HTTP ${code}, expected 403`);
  }
  assert.deepEqual(wrong, []);
  // Agent B is confined the same way, the other way round.
  assert.equal(await status(b.kc, 'GET', `${API}/namespaces/${b.namespace}/bundledeployments`), 200);
  assert.equal(await status(b.kc, 'GET', bdsA), 403);
});

test('cluster add --run-local up to the agent start: the kubeconfig in DIR (0600) authenticates as that Cluster\'s agent; the argv for the agent', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-run-local-'));
  try {
    const lines: string[] = [];
    const plan = await prepareAdd(
      ['l', '-n', WS, '--kubeconfig', downstream!.adminKubeconfig, '--upstream-kubeconfig', env!.cp.adminKubeconfig, '--run-local', '--dir', dir],
      { PATH: process.env.PATH ?? '' },
      (line) => lines.push(line),
    );
    assert.ok(plan, 'a local-run plan');
    const nsL = await deploymentNamespace(env!.adminKubeConfig.makeApiClient(CustomObjectsApi), WS, 'l');
    assert.equal(plan.kubeconfigPath, join(dir, 'upstream.kubeconfig'));
    assert.equal(statSync(plan.kubeconfigPath).mode & 0o777, 0o600);
    assert.deepEqual(plan.argv, ['--upstream-kubeconfig', plan.kubeconfigPath, '--namespace', nsL, '--kubeconfig', downstream!.adminKubeconfig, '--agent-namespace', 'flotilla-system']);
    const kc = loadKubeConfig(plan.kubeconfigPath);
    assert.equal(await status(kc, 'GET', `${API}/namespaces/${nsL}/bundledeployments`), 200);
    assert.equal(await status(kc, 'GET', `${API}/namespaces/${a.namespace}/bundledeployments`), 403);
    // Nothing was installed downstream for it.
    await assert.rejects(loadKubeConfig(downstream!.adminKubeconfig).makeApiClient(CoreV1Api).readNamespace({ name: 'flotilla-system' }), (e: unknown) => apiStatusCode(e) === 404);
    assert.ok(lines.some((l) => l.includes(`written to ${plan.kubeconfigPath}`)), lines.join('\n'));
    assert.ok(lines.at(-1)?.includes('kubectl get cluster l -n team-a'), lines.join('\n'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('flotilla --help lists cluster; flotilla cluster --help documents add and remove', async () => {
  const top = await flotilla(['--help']);
  assert.match(top.stdout, /^  cluster +\S/m);
  const help = await flotilla(['cluster', 'add', '--help']);
  assert.equal(help.code, 0);
  for (const flag of ['--namespace', '--kubeconfig', '--context', '--upstream-kubeconfig', '--upstream-context', '--labels', '--agent-namespace', '--image', '--upstream-server', '--print', '--run-local', '--dir', '--timeout']) {
    assert.match(help.stdout, new RegExp(`^  (-n, )?${flag}`, 'm'), flag);
  }
  assert.match(help.stdout, /^Usage: flotilla cluster add NAME/m);
  assert.match(help.stdout, /^ +flotilla cluster remove NAME -n WORKSPACE/m);
});

test('cluster remove: deployment namespace and ClusterRoleBinding gone, token rejected (401), agent uninstalled downstream (its namespace kept for an ApplySet parent); again: nothing to do, exit 0', async () => {
  // What an agent leaves while it still tracks deployed resources.
  const downCore = loadKubeConfig(downstream!.adminKubeconfig).makeApiClient(CoreV1Api);
  await downCore.createNamespacedConfigMap({ namespace: 'agents-a', body: { metadata: { name: 'bd-app', labels: { 'applyset.kubernetes.io/id': 'applyset-x-v1' } } } });
  const removed = await flotilla(['cluster', 'remove', 'a', '-n', WS, '--kubeconfig', downstream!.adminKubeconfig, '--upstream-kubeconfig', env!.cp.adminKubeconfig, '--agent-namespace', 'agents-a', '--timeout', '60s']);
  assert.equal(removed.code, 0, `${removed.stdout}\n${removed.stderr}`);
  assert.match(removed.stdout, new RegExp(`ClusterRoleBinding flotilla-agent:${a.namespace} deleted`));
  const rbac = env!.adminKubeConfig.makeApiClient(RbacAuthorizationV1Api);
  await assert.rejects(rbac.readClusterRoleBinding({ name: `flotilla-agent:${a.namespace}` }), (e: unknown) => apiStatusCode(e) === 404);
  await assert.rejects(env!.adminKubeConfig.makeApiClient(CoreV1Api).readNamespace({ name: a.namespace }), (e: unknown) => apiStatusCode(e) === 404);
  await waitFor(async () => (await status(a.kc, 'GET', `${API}/namespaces/${a.namespace}/bundledeployments`)) === 401, { timeoutMs: 20_000, description: 'agent A\'s token to be rejected' });
  // B is untouched.
  assert.equal(await status(b.kc, 'GET', `${API}/namespaces/${b.namespace}/bundledeployments`), 200);

  const down = loadKubeConfig(downstream!.adminKubeconfig);
  await assert.rejects(down.makeApiClient(AppsV1Api).readNamespacedDeployment({ name: 'flotilla-agent', namespace: 'agents-a' }), (e: unknown) => apiStatusCode(e) === 404);
  await assert.rejects(down.makeApiClient(RbacAuthorizationV1Api).readClusterRole({ name: 'flotilla-agent:agents-a' }), (e: unknown) => apiStatusCode(e) === 404);
  assert.match(removed.stdout, /namespace agents-a kept: it still holds 1 ApplySet parent/);
  assert.equal((await downCore.readNamespace({ name: 'agents-a' })).metadata?.deletionTimestamp, undefined);

  const again = await flotilla(['cluster', 'remove', 'a', '-n', WS, '--upstream-kubeconfig', env!.cp.adminKubeconfig, '--timeout', '10s']);
  assert.equal(again.code, 0, again.stderr);
  // First, which management cluster it talks to.
  assert.equal(again.stdout.split('\n')[0], `management cluster: ${env!.cp.apiServerUrl} (context "${env!.adminKubeConfig.getCurrentContext()}" of ${env!.cp.adminKubeconfig})`);
  assert.match(again.stdout, /cluster team-a\/a not found/);
  assert.match(again.stdout, /already gone/);
});
