import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Store } from '../../../src/runtime/informer/store.ts';
import { BackoffManager } from '../../../src/runtime/informer/backoff-manager.ts';
import type { KubeObject } from '../../../src/runtime/kube/resource.ts';

function obj(ns: string, name: string, rv: string, labels?: Record<string, string>, owner?: string): KubeObject {
  return {
    metadata: {
      namespace: ns,
      name,
      resourceVersion: rv,
      ...(labels ? { labels } : {}),
      ...(owner ? { ownerReferences: [{ apiVersion: 'v1', kind: 'X', name: 'o', uid: owner }] } : {}),
    },
  };
}

function recorder(store: Store) {
  const events: string[] = [];
  store.addHandler({
    onAdd: (o, initial) => events.push(`add ${o.metadata.name} initial=${initial}`),
    onUpdate: (a, b, resync) => events.push(`update ${a.metadata.resourceVersion}->${b.metadata.resourceVersion} resync=${resync}`),
    onDelete: (o) => events.push(`delete ${o.metadata.name}`),
  });
  return events;
}

test('indexes follow adds, label changes and deletes', () => {
  const store = new Store();
  store.upsert(obj('a', 'x', '1', { env: 'prod' }, 'u1'));
  store.upsert(obj('b', 'y', '2', { env: 'dev' }));
  assert.deepEqual([...store.indexKeys('namespace', 'a')], ['a/x']);
  assert.deepEqual([...store.indexKeys('label', 'env=prod')], ['a/x']);
  assert.deepEqual([...store.indexKeys('label', 'env')].sort(), ['a/x', 'b/y']);
  assert.deepEqual([...store.indexKeys('owner', 'u1')], ['a/x']);

  store.upsert(obj('a', 'x', '3', { env: 'dev' }));
  assert.equal(store.indexKeys('label', 'env=prod').size, 0);
  assert.deepEqual([...store.indexKeys('label', 'env=dev')].sort(), ['a/x', 'b/y']);
  assert.equal(store.indexKeys('owner', 'u1').size, 0);

  store.delete('b/y');
  assert.deepEqual([...store.indexKeys('label', 'env=dev')], ['a/x']);
  assert.deepEqual(store.indexValues('namespace'), ['a']);
});

test('handlers see old and new objects, initial-list flag and resync flag', () => {
  const store = new Store();
  const events = recorder(store);
  store.replace([obj('a', 'x', '1'), obj('a', 'y', '1')], true);
  store.upsert(obj('a', 'x', '2'));
  store.upsert(obj('a', 'x', '2')); // same resourceVersion: no event
  store.resync();
  store.delete('a/y');
  assert.deepEqual(events, [
    'add x initial=true',
    'add y initial=true',
    'update 1->2 resync=false',
    'update 2->2 resync=true',
    'update 1->1 resync=true',
    'delete y',
  ]);
});

test('replace emits only real differences', () => {
  const store = new Store();
  store.replace([obj('a', 'x', '1'), obj('a', 'y', '1'), obj('a', 'z', '1')], true);
  const events = recorder(store);
  const diff = store.replace([obj('a', 'x', '1'), obj('a', 'y', '5'), obj('a', 'w', '6')], false);
  assert.deepEqual(diff, { added: 1, updated: 1, deleted: 1 });
  assert.deepEqual(events.sort(), ['add w initial=false', 'delete z', 'update 1->5 resync=false']);
  assert.equal(store.size, 3);
});

test('a throwing handler does not break the cache or other handlers', () => {
  const store = new Store();
  store.addHandler({ onAdd: () => { throw new Error('boom'); } });
  const events = recorder(store);
  store.upsert(obj('a', 'x', '1'));
  assert.equal(store.get('a/x')?.metadata.resourceVersion, '1');
  assert.deepEqual(events, ['add x initial=false']);
});

test('custom indexers index existing objects when added late', () => {
  const store = new Store();
  store.upsert(obj('a', 'x', '1', { team: 'blue' }));
  store.addIndexer('team', (o) => (o.metadata.labels?.team ? [o.metadata.labels.team] : []));
  assert.deepEqual(store.byIndex('team', 'blue').map((o) => o.metadata.name), ['x']);
  assert.throws(() => store.indexKeys('nope', 'x'), /no index named "nope"/);
});

test('reflector backoff doubles to the cap with jitter and resets after a healthy stretch', () => {
  let now = 0;
  const backoff = new BackoffManager({ now: () => now, random: () => 0 });
  const waits = Array.from({ length: 8 }, () => {
    now += 1000;
    return backoff.next();
  });
  assert.deepEqual(waits, [800, 1600, 3200, 6400, 12800, 25600, 30000, 30000]);
  now += 120_001;
  assert.equal(backoff.next(), 800);
  const jittery = new BackoffManager({ now: () => now, random: () => 0.5 });
  assert.equal(jittery.next(), 1200);
});
