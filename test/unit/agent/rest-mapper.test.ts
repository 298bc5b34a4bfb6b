import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RestMapper } from '../../../src/agent/apply/rest-mapper.ts';
import { ApiError } from '../../../src/runtime/errors.ts';
import type { RequestSpec } from '../../../src/runtime/kube/api-types.ts';

/** A discovery endpoint whose documents the test edits; it counts reads per path. */
function fakeDiscovery(documents: Record<string, unknown>) {
  const reads: string[] = [];
  return {
    reads,
    documents,
    client: {
      async request<T>(spec: RequestSpec): Promise<T> {
        reads.push(spec.path);
        const doc = documents[spec.path];
        if (doc === undefined) throw new ApiError({ statusCode: 404, reason: 'NotFound', message: 'not found', verb: 'get', resource: 'discovery' });
        return structuredClone(doc) as T;
      },
    },
  };
}

const coreV1 = {
  resources: [
    { name: 'configmaps', kind: 'ConfigMap', namespaced: true },
    { name: 'namespaces', kind: 'Namespace', namespaced: false },
    { name: 'namespaces/status', kind: 'Namespace', namespaced: false },
  ],
};

test('maps kinds to resources from one discovery read per group-version', async () => {
  const d = fakeDiscovery({ '/api/v1': coreV1 });
  const mapper = new RestMapper({ client: d.client });
  assert.deepEqual(await mapper.resourceFor('v1', 'ConfigMap'), { group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true });
  assert.deepEqual(await mapper.resourceFor('v1', 'Namespace'), { group: '', version: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false });
  assert.deepEqual(d.reads, ['/api/v1']);
});

test('a miss re-reads at most once per interval, then answers undefined; a new kind is found after the interval', async () => {
  let now = 1_000;
  const d = fakeDiscovery({ '/api/v1': coreV1 });
  const mapper = new RestMapper({ client: d.client, minRefreshIntervalMs: 5_000, now: () => now });
  assert.equal(await mapper.resourceFor('v1', 'Widget'), undefined);
  assert.equal(await mapper.resourceFor('v1', 'Widget'), undefined);
  assert.equal(d.reads.length, 1);
  assert.equal(await mapper.resourceFor('example.com/v1', 'Widget'), undefined);
  assert.equal(await mapper.resourceFor('example.com/v1', 'Widget'), undefined);
  assert.deepEqual(d.reads, ['/api/v1', '/apis/example.com/v1']);
  d.documents['/apis/example.com/v1'] = { resources: [{ name: 'widgets', kind: 'Widget', namespaced: true }] };
  now += 5_000;
  assert.equal((await mapper.resourceFor('example.com/v1', 'Widget'))?.plural, 'widgets');
});

test('invalidate() forces a fresh read at once (a CRD became Established)', async () => {
  const d = fakeDiscovery({});
  const mapper = new RestMapper({ client: d.client, minRefreshIntervalMs: 60_000 });
  assert.equal(await mapper.resourceFor('example.com/v1', 'Widget'), undefined);
  d.documents['/apis/example.com/v1'] = { resources: [{ name: 'widgets', kind: 'Widget', namespaced: false }] };
  assert.equal(await mapper.resourceFor('example.com/v1', 'Widget'), undefined);
  mapper.invalidate();
  assert.equal((await mapper.resourceFor('example.com/v1', 'Widget'))?.namespaced, false);
});

test('group-kinds resolve through the group\'s preferred version', async () => {
  const d = fakeDiscovery({
    '/apis/apps': { preferredVersion: { version: 'v1' }, versions: [{ version: 'v1' }] },
    '/apis/apps/v1': { resources: [{ name: 'deployments', kind: 'Deployment', namespaced: true }] },
    '/api/v1': coreV1,
  });
  const mapper = new RestMapper({ client: d.client });
  assert.equal((await mapper.resourceForGroupKind('apps', 'Deployment'))?.plural, 'deployments');
  assert.equal((await mapper.resourceForGroupKind('', 'ConfigMap'))?.plural, 'configmaps');
  assert.equal(await mapper.resourceForGroupKind('gone.example.com', 'Thing'), undefined);
});

test('discovery failures other than 404 are thrown, not taken for an unknown kind', async () => {
  const mapper = new RestMapper({
    client: {
      async request<T>(): Promise<T> {
        throw new ApiError({ statusCode: 503, reason: 'ServiceUnavailable', message: 'unavailable', verb: 'get', resource: 'discovery' });
      },
    },
  });
  await assert.rejects(mapper.resourceFor('metrics.k8s.io/v1beta1', 'PodMetrics'), /503/);
});
