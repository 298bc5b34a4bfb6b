import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TtlCache } from '../../../src/observability/ttl-cache.ts';

function clock() {
  let now = 0;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('TtlCache', () => {
  it('returns a value until its time to live has passed, then forgets it', () => {
    const time = clock();
    const cache = new TtlCache<string>({ maxEntries: 10, now: time.now });
    cache.set('a', 'x', 1_000);
    time.advance(999);
    assert.equal(cache.get('a'), 'x');
    time.advance(1);
    assert.equal(cache.get('a'), undefined);
    assert.equal(cache.size, 0);
  });

  it('evicts the least recently used entry when full', () => {
    const cache = new TtlCache<number>({ maxEntries: 2, now: clock().now });
    cache.set('a', 1, 1_000);
    cache.set('b', 2, 1_000);
    assert.equal(cache.get('a'), 1); // a is now the most recent
    cache.set('c', 3, 1_000);
    assert.equal(cache.get('b'), undefined);
    assert.equal(cache.get('a'), 1);
    assert.equal(cache.get('c'), 3);
    assert.equal(cache.size, 2);
  });

  it('setting a key again replaces its value and its expiry', () => {
    const time = clock();
    const cache = new TtlCache<string>({ maxEntries: 10, now: time.now });
    cache.set('a', 'old', 100);
    cache.set('a', 'new', 10_000);
    time.advance(5_000);
    assert.equal(cache.get('a'), 'new');
  });

  it('deleteIf removes an entry only while it holds the given value', () => {
    const cache = new TtlCache<object>({ maxEntries: 10, now: clock().now });
    const first = {};
    const second = {};
    cache.set('a', second, 1_000);
    cache.deleteIf('a', first);
    assert.equal(cache.get('a'), second);
    cache.deleteIf('a', second);
    assert.equal(cache.get('a'), undefined);
  });

  it('rejects a size that is not a positive integer', () => {
    assert.throws(() => new TtlCache({ maxEntries: 0 }), /maxEntries must be a positive integer, got 0/);
  });
});
