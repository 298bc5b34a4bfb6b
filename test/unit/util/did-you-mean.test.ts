import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closestName, editDistance } from '../../../src/util/did-you-mean.ts';
import { decodePointer, valueAt, withoutNulls } from '../../../src/util/plain-data.ts';

test('edit distance counts insertions, deletions and substitutions', () => {
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('targets', 'targets'), 0);
});

test('the closest known name ignores case, - and _, and is no suggestion when too far', () => {
  const known = ['targets', 'paused', 'rolloutStrategy', 'maxConcurrentReconciles'];
  assert.equal(closestName('target', known), 'targets');
  assert.equal(closestName('max_concurrent_reconciles', known), 'maxConcurrentReconciles');
  assert.equal(closestName('rollout-strategy', known), 'rolloutStrategy');
  assert.equal(closestName('selector', known), undefined);
  assert.equal(closestName('x', []), undefined);
});

test('plain data: a path into parsed YAML, and YAML nulls as absent keys', () => {
  const data = { a: { list: [{ name: 'x' }] } };
  assert.equal(valueAt(data, ['a', 'list', 0, 'name']), 'x');
  assert.equal(valueAt(data, ['a', 'missing', 'deeper']), undefined);
  assert.deepEqual(withoutNulls({ a: null, b: { c: null, d: 1 }, e: [{ f: null }] }), { b: { d: 1 }, e: [{}] });
  assert.deepEqual(decodePointer('/spec/targets/0/a~1b~0c'), ['spec', 'targets', 0, 'a/b~c']);
  assert.deepEqual(decodePointer(''), []);
});
