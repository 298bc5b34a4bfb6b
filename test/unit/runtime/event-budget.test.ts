import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventBudget } from '../../../src/runtime/event-budget.ts';

function budget(opts: ConstructorParameters<typeof EventBudget>[0] = {}) {
  let now = 0;
  const b = new EventBudget({ now: () => now, ...opts });
  return { b, advance: (ms: number) => void (now += ms) };
}

const admitted = (r: ReturnType<EventBudget['admit']>) => ('release' in r ? (r.release(), 'ok') : r.dropped);

describe('EventBudget', () => {
  it('per object: a burst, then one more per refill interval (a flapping object cannot flood)', () => {
    const { b, advance } = budget({ perObjectBurst: 3, perObjectRefillMs: 60_000 });
    assert.deepEqual([1, 2, 3, 4].map(() => admitted(b.admit('a'))), ['ok', 'ok', 'ok', 'object_rate']);
    assert.equal(admitted(b.admit('b')), 'ok', 'another object has its own bucket');
    advance(59_000);
    assert.equal(admitted(b.admit('a')), 'object_rate');
    advance(1_000);
    assert.equal(admitted(b.admit('a')), 'ok');
  });

  it('overall: a wave of objects gets the burst, then qps', () => {
    const { b, advance } = budget({ qps: 10, burst: 5 });
    const wave = Array.from({ length: 8 }, (_, i) => admitted(b.admit(`o${i}`)));
    assert.deepEqual(wave, ['ok', 'ok', 'ok', 'ok', 'ok', 'rate', 'rate', 'rate']);
    advance(100);
    assert.equal(admitted(b.admit('o9')), 'ok');
    assert.equal(admitted(b.admit('o10')), 'rate');
  });

  it('a drop takes nothing: an object dropped for the overall rate keeps its own budget', () => {
    const { b, advance } = budget({ qps: 1, burst: 1, perObjectBurst: 1 });
    assert.equal(admitted(b.admit('x')), 'ok');
    assert.equal(admitted(b.admit('y')), 'rate');
    advance(1000);
    assert.equal(admitted(b.admit('y')), 'ok');
  });

  it('in flight: at most maxInFlight writes at once; a release makes room', () => {
    const { b } = budget({ maxInFlight: 2 });
    const first = b.admit('a');
    const second = b.admit('b');
    assert.equal(b.inFlight, 2);
    assert.deepEqual(b.admit('c'), { dropped: 'in_flight' });
    assert.ok('release' in first && 'release' in second);
    first.release();
    first.release(); // twice is once
    assert.equal(b.inFlight, 1);
    assert.equal(admitted(b.admit('c')), 'ok');
  });

  it('under pressure: nothing at all', () => {
    let pressure = true;
    const { b } = budget({ underPressure: () => pressure });
    assert.deepEqual(b.admit('a'), { dropped: 'api_pressure' });
    pressure = false;
    assert.equal(admitted(b.admit('a')), 'ok');
  });
});
