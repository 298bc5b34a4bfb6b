/**
 * The Applier's ordering guarantees against an in-memory API: the parent
 * lists every member before the member is written, an infrastructure
 * failure is thrown only with that holding, and bad manifests never throw.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Applier } from '../../../src/agent/apply/applier.ts';
import { ApplySetKeys } from '../../../src/agent/apply/types.ts';
import { ApiError } from '../../../src/runtime/errors.ts';
import type { ListOptions, RequestSpec } from '../../../src/runtime/kube/api-types.ts';
import type { KubeObject, ObjectList, ResourceType } from '../../../src/runtime/kube/resource.ts';

const discovery: Record<string, unknown> = {
  '/api/v1': {
    resources: [
      { name: 'configmaps', kind: 'ConfigMap', namespaced: true },
      { name: 'secrets', kind: 'Secret', namespaced: true },
      { name: 'namespaces', kind: 'Namespace', namespaced: false },
    ],
  },
};

function notFound(what: string): ApiError {
  return new ApiError({ statusCode: 404, reason: 'NotFound', message: `${what} not found`, verb: 'get', resource: what, body: { message: `${what} not found` } });
}

/** Just enough of an API server: objects by kind/namespace/name, equality label selectors, a write log. */
class FakeApi {
  readonly objects = new Map<string, KubeObject>();
  readonly writes: string[] = [];
  failApply: ((obj: KubeObject) => Error | undefined) | undefined;
  #rv = 0;

  key(type: ResourceType, namespace: string | undefined, name: string): string {
    return `${type.kind}/${type.namespaced ? namespace ?? '' : ''}/${name}`;
  }
  get server(): string {
    return 'fake';
  }
  async request<T>(spec: RequestSpec): Promise<T> {
    const doc = discovery[spec.path];
    if (!doc) throw notFound(spec.path);
    return doc as T;
  }
  async get<T extends KubeObject>(type: ResourceType, name: string, namespace?: string): Promise<T> {
    const obj = this.objects.get(this.key(type, namespace, name));
    if (!obj) throw notFound(name);
    return structuredClone(obj) as T;
  }
  async list<T extends KubeObject>(type: ResourceType, opts: ListOptions = {}): Promise<ObjectList<T>> {
    const [k, v] = (opts.labelSelector ?? '').split('=');
    const items = [...this.objects.entries()]
      .filter(([key]) => key.startsWith(`${type.kind}/`))
      .map(([, o]) => o)
      .filter((o) => !k || o.metadata.labels?.[k] === v);
    return { metadata: {}, items: structuredClone(items) as T[] };
  }
  async apply<T extends KubeObject>(type: ResourceType, obj: T): Promise<T> {
    const failure = this.failApply?.(obj);
    if (failure) throw failure;
    this.writes.push(`apply ${this.key(type, obj.metadata.namespace, obj.metadata.name ?? '')}`);
    const stored = { ...structuredClone(obj), metadata: { ...structuredClone(obj.metadata), resourceVersion: String(++this.#rv) } };
    this.objects.set(this.key(type, obj.metadata.namespace, obj.metadata.name ?? ''), stored);
    return structuredClone(stored) as T;
  }
  async patch<T extends KubeObject>(): Promise<T> {
    throw new Error('not used');
  }
  async delete(type: ResourceType, name: string, namespace?: string): Promise<unknown> {
    const key = this.key(type, namespace, name);
    if (!this.objects.delete(key)) throw notFound(name);
    this.writes.push(`delete ${key}`);
    return {};
  }
}

const cm = (name: string) => ({ name: `${name}.yaml`, content: `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\n` });
const secret = (name: string) => ({ name: `${name}.yaml`, content: `apiVersion: v1\nkind: Secret\nmetadata: {name: ${name}}\n` });

function setup(): { api: FakeApi; applier: Applier } {
  const api = new FakeApi();
  api.objects.set('Namespace//agents', { metadata: { name: 'agents' } });
  return { api, applier: new Applier({ client: api, namespace: 'agents', tooling: 'flotilla/test' }) };
}

test('the parent lists a new group-kind before any member of it is written, and the final write only when it changes', async () => {
  const { api, applier } = setup();
  await applier.apply({ name: 'bd', deploymentID: 'd1', resources: [cm('a')] });
  assert.deepEqual(api.writes, ['apply ConfigMap/agents/bd-bd', 'apply ConfigMap/default/a'], 'a new set: one parent write, naming the deployment, and no prune');
  assert.equal(api.objects.get('ConfigMap/agents/bd-bd')!.metadata.annotations?.[ApplySetKeys.deploymentID], 'd1');
  api.writes.length = 0;
  await applier.apply({ name: 'bd', deploymentID: 'd1', resources: [cm('a')] });
  assert.deepEqual(api.writes, ['apply ConfigMap/default/a'], 'an unchanged apply writes no parent');
  api.writes.length = 0;
  await applier.apply({ name: 'bd', deploymentID: 'd2', resources: [secret('s')] });
  assert.deepEqual(api.writes, ['apply ConfigMap/agents/bd-bd', 'apply Secret/default/s', 'delete ConfigMap/default/a', 'apply ConfigMap/agents/bd-bd']);
  const parent = api.objects.get('ConfigMap/agents/bd-bd')!;
  assert.equal(parent.metadata.annotations?.[ApplySetKeys.containsGroupKinds], 'Secret');
});

test('an infrastructure failure mid-apply is thrown, with the parent already listing what was written', async () => {
  const { api, applier } = setup();
  await applier.apply({ name: 'bd', deploymentID: 'd1', resources: [cm('a')] });
  api.failApply = (obj) =>
    obj.metadata.name === 't' ? new ApiError({ statusCode: 503, reason: 'ServiceUnavailable', message: 'etcd down', verb: 'apply', resource: 'secrets' }) : undefined;
  await assert.rejects(applier.apply({ name: 'bd', deploymentID: 'd2', resources: [secret('s'), secret('t')] }), /503/);
  assert.ok(api.objects.has('Secret/default/s'), 'the first Secret was written');
  const parent = api.objects.get('ConfigMap/agents/bd-bd')!;
  assert.equal(parent.metadata.annotations?.[ApplySetKeys.containsGroupKinds], 'ConfigMap,Secret', 'old and new kinds both listed');
  assert.ok(api.objects.has('ConfigMap/default/a'), 'nothing pruned before the apply completed');
  api.failApply = undefined;
  const outcome = await applier.apply({ name: 'bd', deploymentID: 'd2', resources: [secret('s'), secret('t')] });
  assert.deepEqual(outcome.pruned.map((r) => r.name), ['a']);
});

test('a new set whose apply leaves problems does not claim the deployment on its parent', async () => {
  const { api, applier } = setup();
  const outcome = await applier.apply({ name: 'bd', deploymentID: 'd1', resources: [cm('a'), { name: 'b.yaml', content: 'kind: [' }] });
  assert.equal(outcome.problems.length, 1);
  assert.equal(api.objects.get('ConfigMap/agents/bd-bd')!.metadata.annotations?.[ApplySetKeys.deploymentID], undefined);
});

test('bad manifests never throw, and an unreadable manifest stops pruning', async () => {
  const { api, applier } = setup();
  await applier.apply({ name: 'bd', deploymentID: 'd1', resources: [cm('a'), cm('b')] });
  const outcome = await applier.apply({ name: 'bd', deploymentID: 'd2', resources: [cm('a'), { name: 'b.yaml', content: 'kind: [' }] });
  assert.deepEqual(outcome.problems.map((p) => p.manifest), ['b.yaml']);
  assert.deepEqual(outcome.pruned, []);
  assert.ok(api.objects.has('ConfigMap/default/b'), 'b stays while its manifest cannot be read');
  assert.equal(api.objects.get('ConfigMap/agents/bd-bd')!.metadata.annotations?.[ApplySetKeys.deploymentID], 'd1');
});

test('a missing agent namespace is a clear thrown error', async () => {
  const api = new FakeApi();
  api.failApply = (obj) => (obj.metadata.namespace === 'agents' ? notFound('namespaces agents') : undefined);
  const applier = new Applier({ client: api, namespace: 'agents', tooling: 'flotilla/test' });
  await assert.rejects(applier.apply({ name: 'bd', deploymentID: 'd1', resources: [cm('a')] }), /agent namespace agents does not exist/);
  assert.equal(api.objects.size, 0, 'no member written without a parent');
});

test('a ServiceAccount in the options without a way to impersonate is refused, not applied with the agent\'s rights', async () => {
  const { api, applier } = setup();
  await assert.rejects(applier.apply({ name: 'bd', deploymentID: 'd1', resources: [cm('a')], options: { serviceAccount: 'sa' } }), /cannot impersonate/);
  assert.deepEqual(api.writes, []);
});
