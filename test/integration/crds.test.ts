/**
 * The generated CRDs against a real API server: they install and become
 * Established, the samples and the RBAC apply, and invalid objects are
 * rejected at admission (HTTP 422) with a message naming the offending field.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { Value } from 'typebox/value';
import { parse } from 'yaml';
import { API_VERSION, Kind, Limits } from '../../src/api/constants.ts';
import { contentDigest, contentNameFor } from '../../src/api/content-name.ts';
import { KindResources, KindSchema, isFlotillaKind } from '../../src/api/kinds.ts';
import { RESOURCE_SIZE_POLICY_NAME } from '../../src/api/resource-size-policy.ts';
import { waitFor } from '../../src/util/wait.ts';
import { startControlPlane, type ControlPlane } from '../../src/controlplane/harness.ts';
import { applyManifests, kubeRequest, loadKubeConfig, parseManifests, type RawResponse } from '../support/kube.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIELD_MANAGER = 'flotilla-crd-test';
const NS = 'crd-validation';

let cp: ControlPlane;
let kc: KubeConfig;

/** Objects listed by a kustomization.yaml, in its order. */
async function kustomizationObjects(dir: string): Promise<KubernetesObject[]> {
  const kustomization = parse(await readFile(join(REPO_ROOT, dir, 'kustomization.yaml'), 'utf8'));
  const objects: KubernetesObject[] = [];
  for (const file of kustomization.resources as string[]) {
    objects.push(...parseManifests(await readFile(join(REPO_ROOT, dir, file), 'utf8')));
  }
  return objects;
}

type Manifest = KubernetesObject & { metadata: { name: string; namespace?: string }; [field: string]: unknown };

function objectPath(object: Manifest, subresource?: 'status'): string {
  assert.ok(isFlotillaKind(object.kind), `not a Flotilla kind: ${object.kind}`);
  const resource = KindResources[object.kind];
  const namespace = resource.namespaced ? `/namespaces/${object.metadata.namespace ?? NS}` : '';
  const name = encodeURIComponent(object.metadata.name);
  return `/apis/${resource.group}/${resource.version}${namespace}/${resource.plural}/${name}${subresource ? `/${subresource}` : ''}`;
}

/**
 * Invalid objects are sent as plain creates and merge patches: server-side
 * apply answers some schema violations (wrong types, duplicate map keys) with
 * 500 "failed to create typed patch object" before validation runs, an
 * upstream quirk; create and update report every violation as 422 Invalid.
 */
function create(object: Manifest): Promise<RawResponse> {
  const collection = objectPath(object).replace(/\/[^/]+$/, '');
  return kubeRequest(kc, { method: 'POST', path: collection, body: object, timeoutMs: 30_000 });
}

function mergePatch(object: Manifest, patch: Record<string, unknown>, subresource?: 'status'): Promise<RawResponse> {
  return kubeRequest(kc, {
    method: 'PATCH',
    path: objectPath(object, subresource),
    body: patch,
    contentType: 'application/merge-patch+json',
    timeoutMs: 30_000,
  });
}

before(async () => {
  cp = await startControlPlane({ controllerManager: false });
  kc = loadKubeConfig(cp.adminKubeconfig);
});

after(async () => {
  await cp?.stop();
});

describe('Flotilla CRDs on a real API server', () => {
  it('all CRDs install and become Established with accepted names', async () => {
    const objects = await kustomizationObjects('config/crd');
    const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition');
    assert.equal(crds.length, Object.keys(Kind).length);
    assert.deepEqual(
      objects.filter((o) => o.kind !== 'CustomResourceDefinition').map((o) => `${o.kind}/${o.metadata?.name}`),
      [`ValidatingAdmissionPolicy/${RESOURCE_SIZE_POLICY_NAME}`, `ValidatingAdmissionPolicyBinding/${RESOURCE_SIZE_POLICY_NAME}`],
      'besides the CRDs, config/crd holds only the resource-size policy and its binding',
    );
    // applyManifests waits for each CRD's Established condition.
    await applyManifests(kc, objects, { fieldManager: FIELD_MANAGER });
    for (const crd of crds) {
      const response = await kubeRequest(kc, { path: `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata?.name}` });
      assert.equal(response.status, 200);
      const conditions = (response.body as { status: { conditions: Array<{ type: string; status: string }> } }).status.conditions;
      const status = Object.fromEntries(conditions.map((c) => [c.type, c.status]));
      assert.equal(status['Established'], 'True', `${crd.metadata?.name}: ${JSON.stringify(conditions)}`);
      assert.equal(status['NamesAccepted'], 'True');
      assert.equal(status['NonStructuralSchema'], undefined);
    }
  });

  it('every sample applies server-side and reads back valid', async () => {
    const samples = await kustomizationObjects('config/samples');
    const stored = await applyManifests(kc, samples, { fieldManager: FIELD_MANAGER });
    assert.equal(stored.length, samples.length);
    for (const object of stored) {
      if (!isFlotillaKind(object.kind)) continue;
      assert.equal(object.apiVersion, API_VERSION);
      assert.ok(Value.Check(KindSchema[object.kind], object), `${object.kind}/${object.metadata?.name} read back invalid`);
    }
    // `kubectl get` asks for a Table: the printer columns must be in it.
    const table = await getTable('/apis/flotilla.dev/v1alpha1/namespaces/demo/bundles');
    assert.deepEqual(table.columnDefinitions.map((c) => c.name), ['Name', 'Ready', 'Status', 'Paused', 'Rollout', 'Content', 'Age']);
    assert.equal(table.rows.length, samples.filter((s) => s.kind === Kind.Bundle).length);
    const clusters = await getTable('/apis/flotilla.dev/v1alpha1/namespaces/demo/clusters');
    assert.ok(clusters.columnDefinitions.some((c) => c.name === 'Agent'), 'kubectl get clusters shows the AgentConnected status');
  });

  it('the RBAC manifests apply and grant the controller what it needs, and no more', async () => {
    await applyManifests(kc, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'flotilla-system' } });
    await applyManifests(kc, await kustomizationObjects('config/rbac'), { fieldManager: FIELD_MANAGER });
    const user = 'system:serviceaccount:flotilla-system:flotilla-controller';
    const groups = ['system:serviceaccounts', 'system:serviceaccounts:flotilla-system', 'system:authenticated'];
    const allowed = async (attributes: Record<string, string>) => {
      const review = await kubeRequest(kc, {
        method: 'POST',
        path: '/apis/authorization.k8s.io/v1/subjectaccessreviews',
        body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { user, groups, resourceAttributes: attributes } },
      });
      assert.equal(review.status, 201);
      return (review.body as { status: { allowed: boolean } }).status.allowed;
    };
    const granted: Array<Record<string, string>> = [
      { group: 'flotilla.dev', resource: 'bundledeployments', verb: 'create', namespace: 'any' },
      { group: 'flotilla.dev', resource: 'bundles', subresource: 'status', verb: 'patch', namespace: 'demo' },
      { group: 'flotilla.dev', resource: 'contents', subresource: 'finalizers', verb: 'update' },
      { group: '', resource: 'namespaces', verb: 'delete' },
      { group: 'events.k8s.io', resource: 'events', verb: 'create', namespace: 'demo' },
      { group: 'coordination.k8s.io', resource: 'leases', verb: 'update', namespace: 'flotilla-system' },
      // Agent heartbeats: read-only, cluster-wide (one informer for every deployment namespace).
      { group: 'coordination.k8s.io', resource: 'leases', verb: 'list' },
      { group: 'coordination.k8s.io', resource: 'leases', verb: 'watch' },
      { group: 'coordination.k8s.io', resource: 'leases', verb: 'get', namespace: 'cluster-abc' },
    ];
    for (const attributes of granted) {
      assert.equal(await allowed(attributes), true, JSON.stringify(attributes));
    }
    const denied: Array<Record<string, string>> = [
      { group: '', resource: 'secrets', verb: 'get', namespace: 'demo' },
      { group: 'coordination.k8s.io', resource: 'leases', verb: 'update', namespace: 'demo' },
      { group: 'coordination.k8s.io', resource: 'leases', verb: 'delete', namespace: 'cluster-abc' },
      { group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions', verb: 'create' },
    ];
    for (const attributes of denied) {
      assert.equal(await allowed(attributes), false, JSON.stringify(attributes));
    }
  });
});

// ---- invalid objects -------------------------------------------------------

const CONTENT = contentNameFor([{ name: 'a.yaml', content: 'kind: ConfigMap\n' }]);
const ZERO_COUNTS = { desiredReady: 0, ready: 0, notReady: 0, pending: 0, modified: 0, errApplied: 0, waitApplied: 0, outOfSync: 0 };

function bundle(name: string, spec: Record<string, unknown>): Manifest {
  return { apiVersion: API_VERSION, kind: Kind.Bundle, metadata: { name, namespace: NS }, spec };
}
function target(selector: Record<string, unknown>): Record<string, unknown> {
  return { targets: [{ clusterSelector: selector }] };
}
function clusterGroup(name: string, spec: Record<string, unknown>): Manifest {
  return { apiVersion: API_VERSION, kind: Kind.ClusterGroup, metadata: { name, namespace: NS }, spec };
}
function bundleDeployment(name: string, spec: Record<string, unknown>): Manifest {
  return { apiVersion: API_VERSION, kind: Kind.BundleDeployment, metadata: { name, namespace: NS }, spec };
}
function content(resources: Array<{ name: string; content: string }>, name?: string): Manifest {
  return {
    apiVersion: API_VERSION,
    kind: Kind.Content,
    metadata: { name: name ?? contentNameFor(resources) },
    spec: { sha256: contentDigest(resources), resources },
  };
}
const validBundleDeployment = () => bundleDeployment('bd', { contentName: CONTENT, deploymentID: `${CONTENT}:0123abcd` });
const condition = (overrides: Record<string, unknown>) => ({
  type: 'Ready', status: 'True', lastTransitionTime: '2025-01-01T00:00:00Z', reason: 'Ready', message: '', ...overrides,
});

interface InvalidCase {
  title: string;
  /** Created as is; must be rejected unless `change` is given. */
  object: Manifest;
  /** Then `object` must be accepted, and this merge patch (of the object or its status) rejected. */
  change?: { patch: Record<string, unknown>; subresource?: 'status' };
  /** The field path the error must name. */
  field: string;
}

const invalidCases: InvalidCase[] = [
  {
    title: 'unknown selector operator',
    object: bundle('bad-operator', target({ matchExpressions: [{ key: 'env', operator: 'Matches', values: ['a'] }] })),
    field: 'spec.targets[0].clusterSelector.matchExpressions[0].operator',
  },
  {
    title: 'values with Exists',
    object: bundle('exists-values', target({ matchExpressions: [{ key: 'env', operator: 'Exists', values: ['prod'] }] })),
    field: 'spec.targets[0].clusterSelector.matchExpressions[0].values',
  },
  {
    title: 'In without values',
    object: bundle('in-no-values', { targets: [{ clusterSelector: {} }, { clusterGroupSelector: { matchExpressions: [{ key: 'env', operator: 'In' }] } }] }),
    field: 'spec.targets[1].clusterGroupSelector.matchExpressions[0].values',
  },
  {
    title: 'a target with no criteria',
    object: bundle('empty-target', { targets: [{ name: 'nothing', doNotDeploy: true }] }),
    field: 'spec.targets[0]',
  },
  {
    title: 'Bundle name over 63 characters',
    object: bundle('b'.repeat(64), {}),
    field: 'metadata.name',
  },
  {
    title: 'Cluster name that is a DNS subdomain but not a label',
    object: { apiVersion: API_VERSION, kind: Kind.Cluster, metadata: { name: 'prod.eu', namespace: NS } },
    field: 'metadata.name',
  },
  {
    title: 'bad label key in matchLabels',
    object: clusterGroup('bad-key', { selector: { matchLabels: { 'not a key!': 'x' } } }),
    field: 'spec.selector.matchLabels',
  },
  {
    title: 'label value over 63 characters in matchLabels',
    object: clusterGroup('long-value', { selector: { matchLabels: { env: 'v'.repeat(64) } } }),
    field: 'spec.selector.matchLabels.env',
  },
  {
    title: 'maxUnavailable that is neither a count nor a percentage',
    object: bundle('bad-max-unavailable', { rolloutStrategy: { maxUnavailable: 'abc' } }),
    field: 'spec.rolloutStrategy.maxUnavailable',
  },
  {
    title: 'wrong type (paused as a string)',
    object: bundle('wrong-type', { paused: 'yes' }),
    field: 'spec.paused',
  },
  {
    title: 'ClusterGroup without selector',
    object: clusterGroup('no-selector', {}),
    field: 'spec.selector',
  },
  {
    title: 'BundleDeployment without contentName',
    object: bundleDeployment('no-content', { deploymentID: `${CONTENT}:0123abcd` }),
    field: 'spec.contentName',
  },
  {
    title: 'deploymentID not matching <contentName>:<hash>',
    object: bundleDeployment('bad-id', { contentName: CONTENT, deploymentID: 'v1' }),
    field: 'spec.deploymentID',
  },
  {
    title: 'deploymentID of another content',
    object: bundleDeployment('other-id', { contentName: CONTENT, deploymentID: `s-${'b'.repeat(64)}:0123abcd` }),
    field: 'spec.deploymentID',
  },
  {
    title: 'resources over maxItems',
    object: bundle('too-many', { resources: Array.from({ length: Limits.resourcesMaxItems + 1 }, (_, i) => ({ name: `r${i}.yaml`, content: '' })) }),
    field: 'spec.resources',
  },
  {
    title: 'content over maxLength',
    object: bundle('too-long', { resources: [{ name: 'big.yaml', content: 'x'.repeat(Limits.resourceContentMaxLength + 1) }] }),
    field: 'spec.resources[0].content',
  },
  {
    title: 'resources over the total size budget',
    object: bundle('too-big', {
      resources: [0, 1].map((i) => ({ name: `half-${i}.yaml`, content: 'x'.repeat(Math.ceil(Limits.resourcesMaxTotalSize / 2) + 1) })),
    }),
    field: 'spec.resources',
  },
  {
    title: 'duplicate resource names',
    object: bundle('duplicate', { resources: [{ name: 'a.yaml', content: '' }, { name: 'a.yaml', content: '' }] }),
    field: 'spec.resources[1]',
  },
  {
    title: 'resource name escaping its directory',
    object: bundle('escape', { resources: [{ name: '../a.yaml', content: '' }] }),
    field: 'spec.resources[0].name',
  },
  {
    title: 'Content whose name is not s-<spec.sha256>',
    object: content([{ name: 'a.yaml', content: 'x' }], `s-${'c'.repeat(64)}`),
    field: 'metadata.name',
  },
  {
    title: 'Content spec changed after creation',
    object: content([{ name: 'a.yaml', content: 'original' }]),
    // Same sha256 (so the name rule still holds): only immutability is violated.
    change: { patch: { spec: { resources: [{ name: 'a.yaml', content: 'changed' }] } } },
    field: 'spec',
  },
  {
    title: 'nonReadyClusters over 10 in status',
    object: bundle('status-many', {}),
    change: { subresource: 'status', patch: { status: { summary: { ...ZERO_COUNTS, nonReadyClusters: Array.from({ length: 11 }, (_, i) => `cluster-${i}`) } } } },
    field: 'status.summary.nonReadyClusters',
  },
  {
    title: 'negative count in status',
    object: bundle('status-negative', {}),
    change: { subresource: 'status', patch: { status: { summary: { ...ZERO_COUNTS, ready: -1 } } } },
    field: 'status.summary.ready',
  },
  {
    title: 'unknown display state in status',
    object: bundle('status-state', {}),
    change: { subresource: 'status', patch: { status: { display: { readyClusters: '1/2', state: 'Great' } } } },
    field: 'status.display.state',
  },
  {
    title: 'condition with an unknown status',
    object: validBundleDeployment(),
    change: { subresource: 'status', patch: { status: { conditions: [condition({ status: 'Maybe' })] } } },
    field: 'status.conditions[0].status',
  },
  {
    title: 'condition without reason',
    object: { ...validBundleDeployment(), metadata: { name: 'bd-reason', namespace: NS } },
    change: {
      subresource: 'status',
      patch: { status: { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2025-01-01T00:00:00Z', message: '' }] } },
    },
    field: 'status.conditions[0].reason',
  },
];

describe('invalid objects are rejected with 422 naming the field', () => {
  before(async () => {
    // Idempotent: keeps this suite runnable on its own (--test-name-pattern).
    await applyManifests(kc, await kustomizationObjects('config/crd'), { fieldManager: FIELD_MANAGER });
    await applyManifests(kc, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  });

  it('has a case for every rule family (at least 15)', () => {
    assert.ok(invalidCases.length >= 15);
  });

  for (const testCase of invalidCases) {
    it(`rejects ${testCase.title}`, async () => {
      let response = await create(testCase.object);
      if (testCase.change) {
        assert.equal(response.status, 201, `creating the valid object: ${JSON.stringify(response.body).slice(0, 500)}`);
        response = await mergePatch(testCase.object, testCase.change.patch, testCase.change.subresource);
      }
      const status = response.body as { reason?: string; message?: string; details?: { causes?: Array<{ field?: string }> } };
      assert.equal(response.status, 422, `expected 422, got ${response.status}: ${JSON.stringify(status).slice(0, 500)}`);
      assert.equal(status.reason, 'Invalid');
      assert.ok(status.message?.includes(testCase.field), `message does not name ${testCase.field}: ${status.message}`);
    });
  }
});


// ---- sizes in bytes --------------------------------------------------------

describe('manifest sizes are limited in bytes at admission, whatever the characters', () => {
  const MANIFEST_MAX = Limits.resourceContentMaxLength;
  const TOTAL_MAX = Limits.resourcesMaxTotalSize;
  const POLICY_PATH = '/apis/admissionregistration.k8s.io/v1';
  const euros = (n: number) => '€'.repeat(n); // 3 bytes each in UTF-8
  const sized = (name: string, resources: Array<{ name: string; content: string }>) => bundle(name, { resources, ...target({}) });
  /** Stored within etcd's limit, but over the byte budget: what the policy must refuse and ratchet. */
  const overBudget = () => [0, 1].map((i) => ({ name: `part-${i}.yaml`, content: euros(230_000) }));

  function dryRunCreate(object: Manifest): Promise<RawResponse> {
    const collection = objectPath(object).replace(/\/[^/]+$/, '');
    return kubeRequest(kc, { method: 'POST', path: `${collection}?dryRun=All`, body: object, timeoutMs: 30_000 });
  }

  /** Admission policies take effect asynchronously (the API server's policy informer); wait until a probe says whether this one denies. */
  async function waitForPolicy(enforced: boolean): Promise<void> {
    const probe = sized('policy-probe', overBudget());
    await waitFor(async () => ((await dryRunCreate(probe)).status === 422) === enforced, {
      timeoutMs: 30_000,
      intervalMs: 200,
      description: `the ${RESOURCE_SIZE_POLICY_NAME} policy to be ${enforced ? 'enforced' : 'lifted'}`,
    });
  }

  function expectRefused(response: RawResponse, mentions: RegExp[]): void {
    const status = response.body as { reason?: string; message?: string };
    assert.equal(response.status, 422, `expected 422, got ${response.status}: ${JSON.stringify(status).slice(0, 400)}`);
    assert.equal(status.reason, 'Invalid');
    assert.ok(status.message?.includes('spec.resources'), `the message names spec.resources: ${status.message}`);
    for (const mention of mentions) assert.match(status.message ?? '', mention);
  }

  before(async () => {
    await applyManifests(kc, await kustomizationObjects('config/crd'), { fieldManager: FIELD_MANAGER });
    await applyManifests(kc, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    await waitForPolicy(true);
  });

  it('refuses one manifest of 600,000 × € (1.8 MB), naming it, its size and the limit', async () => {
    const response = await create(sized('euro-600k', [{ name: 'euro.yaml', content: euros(600_000) }]));
    expectRefused(response, [/"euro\.yaml" takes 1800000 bytes/, new RegExp(`limit of ${MANIFEST_MAX} bytes per manifest`)]);
  });

  it('refuses one manifest of 900,000 × € (2.7 MB, beyond what etcd can even be sent)', async () => {
    const response = await create(sized('euro-900k', [{ name: 'euro.yaml', content: euros(900_000) }]));
    expectRefused(response, [/"euro\.yaml" takes 2700000 bytes/]);
  });

  it('refuses manifests each within the limit whose total is not', async () => {
    const response = await create(sized('euro-total', [0, 1].map((i) => ({ name: `half-${i}.yaml`, content: euros(300_000) }))));
    expectRefused(response, [/the manifests take 1800000 bytes/, new RegExp(`limit of ${TOTAL_MAX} bytes`)]);
  });

  it('refuses a Content over the limit too', async () => {
    expectRefused(await create(content([{ name: 'euro.yaml', content: euros(600_000) }])), [/bytes/]);
  });

  it('accepts a manifest of exactly the limit in multi-byte text, and refuses one byte more', async () => {
    const atLimit = euros((MANIFEST_MAX - 1) / 3) + 'x'; // 349,525 × 3 bytes + 1
    assert.equal(Buffer.byteLength(atLimit, 'utf8'), MANIFEST_MAX);
    const accepted = await create(sized('at-limit', [{ name: 'limit.yaml', content: atLimit }]));
    assert.equal(accepted.status, 201, JSON.stringify(accepted.body).slice(0, 300));
    expectRefused(await create(sized('over-limit', [{ name: 'limit.yaml', content: `${atLimit}x` }])), [/1048577 bytes/]);
  });

  it('accepts a Bundle without resources', async () => {
    const response = await create(bundle('no-resources', target({})));
    assert.equal(response.status, 201, JSON.stringify(response.body).slice(0, 300));
  });

  it('ratchets: an oversized object stored before the policy can still be relabelled, but its resources only shrink', async () => {
    const bindingPath = `${POLICY_PATH}/validatingadmissionpolicybindings/${RESOURCE_SIZE_POLICY_NAME}`;
    const binding = (await kubeRequest(kc, { path: bindingPath })).body as Manifest;
    assert.equal((await kubeRequest(kc, { method: 'DELETE', path: bindingPath })).status, 200);
    await waitForPolicy(false);
    const old = sized('stored-before', overBudget());
    const stored = await create(old);
    await applyManifests(kc, { apiVersion: binding.apiVersion, kind: binding.kind, metadata: { name: RESOURCE_SIZE_POLICY_NAME }, spec: binding.spec } as Manifest, {
      fieldManager: FIELD_MANAGER,
    });
    await waitForPolicy(true);
    assert.equal(stored.status, 201, JSON.stringify(stored.body).slice(0, 300));

    const relabelled = await mergePatch(old, { metadata: { labels: { touched: 'yes' }, finalizers: ['example.com/hold'] } });
    assert.equal(relabelled.status, 200, JSON.stringify(relabelled.body).slice(0, 300));
    const released = await mergePatch(old, { metadata: { finalizers: null } });
    assert.equal(released.status, 200, JSON.stringify(released.body).slice(0, 300));
    expectRefused(await mergePatch(old, { spec: { resources: [{ name: 'part-0.yaml', content: euros(460_000) }] } }), [/bytes/]);
    const shrunk = await mergePatch(old, { spec: { resources: [{ name: 'part-0.yaml', content: euros(1000) }] } });
    assert.equal(shrunk.status, 200, JSON.stringify(shrunk.body).slice(0, 300));
  });
});

/** A list as the server-side printed Table `kubectl get` requests. */
async function getTable(path: string): Promise<{ columnDefinitions: Array<{ name: string }>; rows: unknown[] }> {
  const cluster = kc.getCurrentCluster();
  assert.ok(cluster);
  const options: RequestOptions = { headers: { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' }, agent: false };
  await kc.applyToHTTPSOptions(options);
  const text = await new Promise<string>((resolve, reject) => {
    const req = httpsRequest(new URL(path, cluster.server), options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
  const table = JSON.parse(text);
  assert.equal(table.kind, 'Table', text.slice(0, 300));
  return table;
}
