/**
 * The deployable manifests against a real API server: after the CRDs are
 * installed for real, every object of config/crd, config/rbac and
 * config/manager (its ConfigMap rendered from the configMapGenerator by
 * scripts/kustomize.ts, no kustomize binary needed) passes a server-side apply with
 * `dryRun=All` and `fieldValidation=Strict` (an unknown or misspelt field is
 * an error, not silently dropped), without admission warnings. The namespace
 * enforces the `restricted` Pod Security level, so a pod template that would
 * break it shows up as a warning here.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { KubeConfig } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../../src/controlplane/harness.ts';
import { applyManifests, kubeRequest, loadKubeConfig, type RawResponse } from '../support/kube.ts';
import { CONFIG_DIR, manifestId, renderKustomization, type Manifest } from '../unit/manifests/kustomize.ts';

const FIELD_MANAGER = 'flotilla-manifests-test';

let cp: ControlPlane;
let kc: KubeConfig;
/** kind → resource path segment and scope, per apiVersion, from discovery. */
const discovery = new Map<string, Map<string, { resource: string; namespaced: boolean }>>();

before(async () => {
  cp = await startControlPlane({ controllerManager: false });
  kc = loadKubeConfig(cp.adminKubeconfig);
});

after(async () => {
  await cp?.stop();
});

async function resourceFor(o: Manifest): Promise<{ resource: string; namespaced: boolean }> {
  let kinds = discovery.get(o.apiVersion);
  if (!kinds) {
    const path = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
    const res = await kubeRequest(kc, { path });
    assert.equal(res.status, 200, `discovery of ${o.apiVersion}: ${JSON.stringify(res.body)}`);
    kinds = new Map();
    for (const r of (res.body as { resources: Array<{ name: string; kind: string; namespaced: boolean }> }).resources) {
      if (!r.name.includes('/')) kinds.set(r.kind, { resource: r.name, namespaced: r.namespaced });
    }
    discovery.set(o.apiVersion, kinds);
  }
  const found = kinds.get(o.kind);
  assert.ok(found, `the API server serves no ${o.kind} in ${o.apiVersion}`);
  return found;
}

async function serverSideApply(o: Manifest, dryRun: boolean): Promise<RawResponse> {
  const { resource, namespaced } = await resourceFor(o);
  if (namespaced) assert.ok(o.metadata.namespace, `${manifestId(o)} is namespaced but names no namespace`);
  else assert.equal(o.metadata.namespace, undefined, `${manifestId(o)} is cluster-scoped but names a namespace`);
  const base = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
  const scope = namespaced ? `/namespaces/${o.metadata.namespace}` : '';
  const query = new URLSearchParams({ fieldManager: FIELD_MANAGER, force: 'true', fieldValidation: 'Strict' });
  if (dryRun) query.set('dryRun', 'All');
  return kubeRequest(kc, {
    method: 'PATCH',
    path: `${base}${scope}/${resource}/${encodeURIComponent(o.metadata.name)}?${query}`,
    body: o,
    contentType: 'application/apply-patch+yaml',
  });
}

function warningsOf(res: RawResponse): string[] {
  const header = res.headers.warning;
  return header === undefined ? [] : Array.isArray(header) ? header : [header];
}

async function expectDryRunApplies(o: Manifest): Promise<void> {
  const res = await serverSideApply(o, true);
  assert.ok(res.status === 200 || res.status === 201, `dry-run apply of ${manifestId(o)} failed with HTTP ${res.status}: ${JSON.stringify(res.body)}`);
  assert.deepEqual(warningsOf(res), [], `admission warnings for ${manifestId(o)}`);
  const stored = res.body as Manifest;
  assert.equal(stored.kind, o.kind);
  assert.equal(stored.metadata.name, o.metadata.name);
}

describe('deployable manifests (server-side dry-run)', () => {
  const crds = renderKustomization(join(CONFIG_DIR, 'crd'));
  const rbac = renderKustomization(join(CONFIG_DIR, 'rbac'));
  const manager = renderKustomization(join(CONFIG_DIR, 'manager'));

  it('installs the CRDs and their size policy for real, then every one also passes a dry-run apply', async () => {
    assert.ok(crds.length > 0);
    await applyManifests(kc, crds, { fieldManager: FIELD_MANAGER });
    for (const o of crds) await expectDryRunApplies(o);
  });

  it('dry-runs the Namespace before it exists, without creating it', async () => {
    const namespaces = rbac.filter((o) => o.kind === 'Namespace');
    assert.deepEqual(namespaces.map((o) => o.metadata.name), ['flotilla-system']);
    for (const o of namespaces) await expectDryRunApplies(o);
    const res = await kubeRequest(kc, { path: '/api/v1/namespaces/flotilla-system' });
    assert.equal(res.status, 404, 'a dry run must not create the namespace');
  });

  it('dry-runs every cluster-scoped RBAC object', async () => {
    const clusterScoped = [...rbac, ...manager].filter((o) => o.metadata.namespace === undefined && o.kind !== 'Namespace');
    assert.ok(clusterScoped.some((o) => o.kind === 'ClusterRole'));
    for (const o of clusterScoped) await expectDryRunApplies(o);
  });

  it('dry-runs every namespaced object of config/rbac and config/manager once flotilla-system exists', async () => {
    // Namespaced dry runs need the namespace itself; create it from the shipped manifest.
    const [namespace] = rbac.filter((o) => o.kind === 'Namespace');
    assert.ok(namespace);
    const created = await serverSideApply(namespace, false);
    assert.ok(created.status === 200 || created.status === 201, JSON.stringify(created.body));

    const namespaced = [...rbac, ...manager].filter((o) => o.metadata.namespace !== undefined);
    const kinds = namespaced.map((o) => o.kind).sort();
    for (const kind of ['ConfigMap', 'Deployment', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'Service', 'ServiceAccount']) assert.ok(kinds.includes(kind), `a ${kind}`);
    for (const o of namespaced) await expectDryRunApplies(o);

    // Dry run means nothing was stored.
    const deployment = await kubeRequest(kc, { path: '/apis/apps/v1/namespaces/flotilla-system/deployments/flotilla-controller' });
    assert.equal(deployment.status, 404);
  });

  it('rejects a manifest with a misspelt field (the strict validation above is real)', async () => {
    const deployment = structuredClone(manager.find((o) => o.kind === 'Deployment')) as Manifest & { spec: { template: { spec: Record<string, unknown> } } };
    deployment.spec.template.spec.terminationGracePeriod = 30;
    const res = await serverSideApply(deployment, true);
    // Server-side apply builds a typed patch before field validation runs, so
    // an undeclared field fails there (500 "field not declared in schema").
    assert.ok(res.status >= 400, `expected a rejection, got HTTP ${res.status}`);
    assert.match(JSON.stringify(res.body), /terminationGracePeriod\b.*(not declared in schema|unknown field)/);
  });

  it('reports a Pod Security warning for a pod template that breaks the restricted level (the warning check above is real)', async () => {
    const deployment = structuredClone(manager.find((o) => o.kind === 'Deployment')) as Manifest & {
      spec: { template: { spec: { containers: Array<{ securityContext: Record<string, unknown> }> } } };
    };
    const container = deployment.spec.template.spec.containers[0];
    assert.ok(container);
    container.securityContext.allowPrivilegeEscalation = true;
    const res = await serverSideApply(deployment, true);
    assert.ok(res.status === 200 || res.status === 201, JSON.stringify(res.body));
    assert.match(warningsOf(res).join('\n'), /allowPrivilegeEscalation/);
  });
});
