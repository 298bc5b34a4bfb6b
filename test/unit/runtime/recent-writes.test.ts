import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecentWrites } from '../../../src/runtime/recent-writes.ts';
import type { KubeObject } from '../../../src/runtime/kube/resource.ts';

const obj = (name: string, rv: string, extra: Record<string, unknown> = {}): KubeObject => ({
  metadata: { name, namespace: 'ns', resourceVersion: rv },
  ...extra,
});

test('our write wins over an older cached object until the cache catches up', () => {
  const recent = new RecentWrites();
  recent.written('b', obj('b', '10', { v: 'written' }));
  assert.equal(recent.fresher('b', obj('b', '9', { v: 'stale' }))?.v, 'written');
  assert.equal(recent.fresher('b', undefined)?.v, 'written', 'created but not yet cached');
  assert.equal(recent.fresher('b', obj('b', '10', { v: 'cached' }))?.v, 'cached', 'cache caught up');
  assert.equal(recent.fresher('b', obj('b', '9', { v: 'stale' }))?.v, 'stale', 'entry dropped once settled');
});

test('a newer cached object (someone else wrote after us) wins', () => {
  const recent = new RecentWrites();
  recent.written('b', obj('b', '10', { v: 'ours' }));
  assert.equal(recent.fresher('b', obj('b', '12', { v: 'theirs' }))?.v, 'theirs');
});

test('deleted objects disappear until the cache drops them, unless recreated', () => {
  const recent = new RecentWrites();
  recent.deleted('b', obj('b', '10'));
  assert.equal(recent.fresher('b', obj('b', '10')), undefined);
  assert.equal(recent.fresher('b', obj('b', '15', { v: 'recreated' }))?.v, 'recreated');
  recent.deleted('c', obj('c', '3'));
  assert.equal(recent.fresher('c', undefined), undefined);
  assert.equal(recent.fresher('c', obj('c', '3'))?.metadata.name, 'c', 'settled: cache rules again');
});

test('merge adds written-but-uncached members and drops deleted ones', () => {
  const recent = new RecentWrites();
  recent.written('x', obj('x', '20'), 'g');
  recent.deleted('y', obj('y', '5'), 'g');
  const merged = recent.merge('g', [obj('y', '5'), obj('z', '7')], (o) => o.metadata.name ?? '');
  assert.deepEqual(merged.map((o) => o.metadata.name).sort(), ['x', 'z']);
});

test('entries expire after two minutes so a lost event cannot pin stale state', () => {
  let now = 0;
  const recent = new RecentWrites(() => now);
  recent.written('b', obj('b', '10', { v: 'ours' }));
  now = 121_000;
  assert.equal(recent.fresher('b', obj('b', '9', { v: 'cache' }))?.v, 'cache');
});

test('non-numeric resourceVersions fall back to the cache', () => {
  const recent = new RecentWrites();
  recent.written('b', obj('b', 'abc', { v: 'ours' }));
  assert.equal(recent.fresher('b', obj('b', 'xyz', { v: 'cache' }))?.v, 'cache');
});

test('entries nobody reads again are swept, so the overlay cannot grow without bound', () => {
  let now = 0;
  const recent = new RecentWrites(() => now);
  for (let i = 0; i < 100; i++) recent.written(`o${i}`, obj(`o${i}`, '10'), 'g');
  assert.equal(recent.size, 100);
  now = 121_000;
  recent.written('fresh', obj('fresh', '11'));
  assert.equal(recent.size, 1);
  assert.deepEqual(recent.merge<KubeObject>('g', [], (o) => o.metadata.name ?? ''), []);
});

test('isOwnWrite recognises the echo of our latest write, and nothing else', () => {
  const recent = new RecentWrites();
  assert.equal(recent.isOwnWrite('b', '10'), false, 'nothing written yet');
  recent.written('b', obj('b', '10', { status: { ours: true } }));
  assert.equal(recent.isOwnWrite('b', '10'), true, 'the watch event of our write');
  assert.equal(recent.isOwnWrite('b', '11'), false, 'someone else wrote after us');
  assert.equal(recent.isOwnWrite('b', '9'), false, 'an older version');
  assert.equal(recent.isOwnWrite('b', undefined), false);
  assert.equal(recent.isOwnWrite('b', 'xyz'), false, 'non-numeric: not known to be ours');
  recent.written('b', obj('b', '12'));
  assert.equal(recent.isOwnWrite('b', '10'), false, 'superseded by our later write');
  assert.equal(recent.isOwnWrite('b', '12'), true);
  recent.deleted('c', obj('c', '20'));
  assert.equal(recent.isOwnWrite('c', '20'), false, 'a deletion has no version to echo');
});

test('a deletion the informer observed supersedes our earlier write (the object is not resurrected from memory)', () => {
  const recent = new RecentWrites();
  recent.written('b', obj('b', '10', { v: 'ours' }), 'g');
  // The cache saw our create, then someone else's delete, before any reconcile read the entry.
  recent.observedDeleted('b', obj('b', '14'));
  assert.equal(recent.fresher('b', undefined), undefined, 'gone, so the reconcile recreates it');
  assert.deepEqual(recent.merge<KubeObject>('g', [], (o) => o.metadata.name ?? ''), [], 'not a member of its group any more');
  // A write newer than the deletion (we recreated it) is kept.
  recent.written('c', obj('c', '20', { v: 'recreated' }));
  recent.observedDeleted('c', obj('c', '18'));
  assert.equal(recent.fresher('c', undefined)?.v, 'recreated');
});

test('the informer delivering our write drops its entry, after the handlers of that event asked isOwnWrite', async () => {
  const recent = new RecentWrites();
  recent.written('b', obj('b', '10', { v: 'ours' }), 'g');
  recent.observed('b', obj('b', '10', { v: 'cached' }));
  // The store's other handlers run synchronously in the same dispatch: the echo is still recognised.
  assert.equal(recent.isOwnWrite('b', '10'), true);
  assert.equal(recent.size, 1);
  await Promise.resolve();
  assert.equal(recent.size, 0, 'dropped once the dispatch is over');
  assert.equal(recent.isOwnWrite('b', '10'), false);
  assert.deepEqual(recent.merge<KubeObject>('g', [], (o) => o.metadata.name ?? ''), [], 'left its group too');
});

test('an older version delivered keeps the entry, and a write issued since the event survives its drop', async () => {
  const recent = new RecentWrites();
  recent.written('b', obj('b', '10', { v: 'ours' }));
  recent.observed('b', obj('b', '9'));
  await Promise.resolve();
  assert.equal(recent.fresher('b', obj('b', '9'))?.v, 'ours', 'the cache is still behind');
  recent.observed('b', obj('b', '10'));
  recent.written('b', obj('b', '11', { v: 'newer' }));
  await Promise.resolve();
  assert.equal(recent.isOwnWrite('b', '11'), true, 'our newer write is not in the cache yet');
  assert.equal(recent.fresher('b', obj('b', '10'))?.v, 'newer');
});

test('deletions by us are settled by observedDeleted, not by observed', async () => {
  const recent = new RecentWrites();
  recent.deleted('b', obj('b', '10'));
  recent.observed('b', obj('b', '10'));
  await Promise.resolve();
  assert.equal(recent.fresher('b', obj('b', '10')), undefined, 'still hidden until the deletion is seen');
  recent.observedDeleted('b', obj('b', '10'));
  assert.equal(recent.size, 0);
});

test('a hard size bound evicts the oldest entries and reports them, groups included', () => {
  const evictions: Array<[string, number]> = [];
  const recent = new RecentWrites({ maxEntries: 3, onEvicted: (reason, n) => evictions.push([reason, n]) });
  for (let i = 0; i < 5; i++) recent.written(`o${i}`, obj(`o${i}`, String(10 + i)), 'g');
  assert.equal(recent.size, 3);
  assert.deepEqual(evictions, [['size_limit', 1], ['size_limit', 1]]);
  assert.equal(recent.fresher('o0', undefined), undefined, 'the oldest is gone');
  assert.equal(recent.fresher('o4', undefined)?.metadata.name, 'o4', 'the newest is kept');
  // Rewriting an entry makes it the newest: o2 survives the next eviction, o3 does not.
  recent.written('o2', obj('o2', '20'), 'g');
  recent.written('o5', obj('o5', '21'), 'g');
  assert.deepEqual(evictions.at(-1), ['size_limit', 1]);
  assert.deepEqual(
    recent.merge<KubeObject>('g', [], (o) => o.metadata.name ?? '').map((o) => o.metadata.name).sort(),
    ['o2', 'o4', 'o5'],
    'o3 evicted; the group holds only live entries',
  );
  assert.throws(() => new RecentWrites({ maxEntries: 0 }), /maxEntries/);
});

test('expired entries are reported as evictions', () => {
  let now = 0;
  const evictions: Array<[string, number]> = [];
  const recent = new RecentWrites({ now: () => now, onEvicted: (reason, n) => evictions.push([reason, n]) });
  recent.written('a', obj('a', '1'));
  recent.written('b', obj('b', '2'));
  now = 121_000;
  recent.written('c', obj('c', '3'));
  assert.deepEqual(evictions, [['expired', 2]]);
  assert.equal(recent.size, 1);
});
