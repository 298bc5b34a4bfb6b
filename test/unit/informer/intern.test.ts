import { test } from 'node:test';
import assert from 'node:assert/strict';
import { internRepeatedStrings, StringInterner } from '../../../src/runtime/informer/intern.ts';

/** Two copies of the same text that are distinct strings in memory (as JSON.parse makes them). */
const copies = (s: string) => JSON.parse(JSON.stringify([s, s])) as [string, string];

test('objects parsed apart end up sharing one copy of their repeated fields, values unchanged', () => {
  const interner = new StringInterner();
  const make = () =>
    JSON.parse(
      JSON.stringify({
        apiVersion: 'flotilla.dev/v1alpha1',
        kind: 'BundleDeployment',
        metadata: {
          name: 'unique-name',
          namespace: 'cluster-ws-c-0001-abcdef',
          labels: { 'flotilla.dev/bundle-namespace': 'a-long-workspace-name' },
          finalizers: ['flotilla.dev/bundle-deployment-cleanup'],
          ownerReferences: [{ apiVersion: 'flotilla.dev/v1alpha1', kind: 'Bundle', name: 'owner-bundle-name', uid: 'u-1' }],
        },
        spec: { contentName: `s-${'a'.repeat(60)}`, deploymentID: `sha256:${'b'.repeat(64)}`, options: { namespace: 'nested-is-left-alone' } },
        status: { message: 'status is left alone' },
      }),
    );
  const a = internRepeatedStrings(make(), interner);
  const b = internRepeatedStrings(make(), interner);
  assert.deepEqual(a, make(), 'same values');
  // apiVersion (the owner's too), kind, namespace, a label value, a finalizer, the owner's kind, name and uid, two spec fields.
  assert.equal(interner.size, 10);
  // Identity is not observable for strings in JavaScript; what is shared shows in the table: a second object adds nothing.
  const before = interner.size;
  internRepeatedStrings(make(), interner);
  assert.equal(interner.size, before);
  assert.equal(a.metadata.name, b.metadata.name);
});

test('the table is bounded, long strings are not kept, and anything but strings passes through', () => {
  const interner = new StringInterner(3);
  for (const s of ['a', 'b', 'c']) interner.intern(s);
  assert.equal(interner.size, 3);
  interner.intern('d');
  assert.equal(interner.size, 1, 'starts afresh when full');
  const [long] = copies('x'.repeat(300));
  assert.equal(interner.intern(long), long);
  assert.equal(interner.size, 1, 'a long string is content, not a reference: not kept');
  const withConditions = { status: { conditions: [{ type: 'Ready', status: 'True', reason: 'ResourcesApplied', message: 'unique text' }, null] } };
  const fresh = new StringInterner();
  assert.deepEqual(internRepeatedStrings(structuredClone(withConditions), fresh), withConditions);
  assert.equal(fresh.size, 3, 'type, status and reason; not the message');
  const odd = { apiVersion: 1, metadata: { labels: { n: 5 }, finalizers: 'not-a-list', ownerReferences: [null] }, spec: ['list'] };
  assert.deepEqual(internRepeatedStrings(structuredClone(odd), interner), odd);
});
