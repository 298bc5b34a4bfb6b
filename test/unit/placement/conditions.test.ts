import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Condition } from '../../../src/api/condition.ts';
import { CONDITION_MESSAGE_MAX_LENGTH, conditionTimestamp, findCondition, setConditions } from '../../../src/placement/conditions.ts';
import { jsonEqual } from '../../../src/placement/json-equal.ts';

const T0 = '2025-01-01T00:00:00Z';
const T1 = new Date('2025-01-02T03:04:05.678Z');

describe('conditionTimestamp', () => {
  it('formats with second precision in UTC', () => {
    assert.equal(conditionTimestamp(T1), '2025-01-02T03:04:05Z');
    assert.equal(conditionTimestamp('2025-01-02T05:04:05.9+02:00'), '2025-01-02T03:04:05Z');
    assert.throws(() => conditionTimestamp('not a time'), RangeError);
  });
});

describe('setConditions', () => {
  const ready = (status: 'True' | 'False', reason: string, message = '') => ({ type: 'Ready', status, reason, message });

  it('adds new conditions with the current time, in order', () => {
    const out = setConditions(undefined, [ready('True', 'Ready'), { type: 'Targeted', status: 'True', reason: 'TargetsMatched', message: 'm' }], T1);
    assert.deepEqual(out.map((c) => [c.type, c.lastTransitionTime]), [
      ['Ready', '2025-01-02T03:04:05Z'],
      ['Targeted', '2025-01-02T03:04:05Z'],
    ]);
  });

  it('keeps lastTransitionTime while the status holds, even if reason and message change', () => {
    const previous: Condition[] = [{ type: 'Ready', status: 'False', lastTransitionTime: T0, reason: 'Pending', message: 'a' }];
    const out = setConditions(previous, [ready('False', 'ErrApplied', 'b')], T1);
    assert.deepEqual(out, [{ type: 'Ready', status: 'False', lastTransitionTime: T0, reason: 'ErrApplied', message: 'b' }]);
  });

  it('moves lastTransitionTime when the status changes', () => {
    const previous: Condition[] = [{ type: 'Ready', status: 'False', lastTransitionTime: T0, reason: 'Pending', message: '' }];
    assert.equal(setConditions(previous, [ready('True', 'Ready')], T1)[0]?.lastTransitionTime, '2025-01-02T03:04:05Z');
  });

  it('keeps other conditions and positions, and does not mutate the input', () => {
    const stalled: Condition = { type: 'Stalled', status: 'True', lastTransitionTime: T0, reason: 'TerminalError', message: 'x' };
    const previous: Condition[] = [stalled, { type: 'Ready', status: 'True', lastTransitionTime: T0, reason: 'Ready', message: '' }];
    const snapshot = structuredClone(previous);
    const out = setConditions(previous, [ready('False', 'Pending')], T1);
    assert.deepEqual(out.map((c) => c.type), ['Stalled', 'Ready']);
    assert.deepEqual(out[0], stalled);
    assert.deepEqual(previous, snapshot);
  });

  it('is idempotent: the same update on its own output changes nothing, byte for byte', () => {
    const update = [{ ...ready('False', 'Pending', 'waiting'), observedGeneration: 3 }];
    const once = setConditions(undefined, update, T1);
    const twice = setConditions(once, update, new Date('2030-01-01T00:00:00Z'));
    assert.equal(JSON.stringify(twice), JSON.stringify(once));
    assert.deepEqual(Object.keys(once[0]!), ['type', 'status', 'observedGeneration', 'lastTransitionTime', 'reason', 'message']);
  });

  it('bounds the message', () => {
    const out = setConditions(undefined, [ready('True', 'Ready', 'x'.repeat(CONDITION_MESSAGE_MAX_LENGTH + 10))], T1);
    assert.equal(out[0]?.message.length, CONDITION_MESSAGE_MAX_LENGTH);
    assert.equal(findCondition(out, 'Ready')?.reason, 'Ready');
    assert.equal(findCondition(out, 'Nope'), undefined);
  });
});

describe('jsonEqual', () => {
  const cases: [string, unknown, unknown, boolean][] = [
    ['key order', { a: 1, b: { c: 2, d: 3 } }, { b: { d: 3, c: 2 }, a: 1 }, true],
    ['undefined member is absent', { a: 1, b: undefined }, { a: 1 }, true],
    ['value differs', { a: 1 }, { a: 2 }, false],
    ['extra key', { a: 1 }, { a: 1, b: null }, false],
    ['array order matters', [1, 2], [2, 1], false],
    ['array length', [1], [1, 1], false],
    ['array vs object', [], {}, false],
    ['null vs absent', { a: null }, {}, false],
    ['string vs number', '1', 1, false],
    ['nested arrays of objects', [{ a: [1, { b: 2 }] }], [{ a: [1, { b: 2 }] }], true],
    ['-0 and 0', 0, -0, true],
  ];
  for (const [name, a, b, want] of cases) {
    it(name, () => {
      assert.equal(jsonEqual(a, b), want);
      assert.equal(jsonEqual(b, a), want);
    });
  }
});
