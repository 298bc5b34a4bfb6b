import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { SelectorMatchPool } from '../../../src/runtime/pool/index.ts';
import { fixtures, newGate, track, waitUntil } from './helpers.ts';

describe('SelectorMatchPool backpressure', () => {
  let pool: SelectorMatchPool;
  let registry: Registry;

  before(() => {
    registry = new Registry();
    pool = new SelectorMatchPool({ threads: 1, maxQueue: 2, inlineThreshold: 0, registry });
  });

  after(() => pool.close());

  it('makes callers beyond threads + maxQueue wait, then resolves every one of them', async () => {
    const { gate, open } = newGate();
    const total = 10;
    const calls = Array.from({ length: total }, (_, i) =>
      track(pool.runOnReplica<{ gate: Int32Array; echo: number }, number>({ module: fixtures, export: 'blockUntilOpened', input: { gate, echo: i }, cost: 1 })),
    );
    // 1 running + 2 queued in Piscina; the other 7 await admission (not rejected, not dropped).
    await waitUntil(() => pool.stats().inFlight === 3 && pool.stats().waiting === 7, 'three admitted, seven waiting');
    assert.equal(calls.filter((c) => c.settled).length, 0);
    assert.equal(pool.stats().queueDepth, 9);
    const depth = await registry.getSingleMetric('flotilla_pool_queue_depth')?.get();
    assert.equal(depth?.values[0]?.value, 9);

    open();
    await Promise.all(calls.map((c) => c.promise));
    assert.deepEqual(calls.map((c) => c.error), Array(total).fill(undefined));
    assert.deepEqual(calls.map((c) => c.value), Array.from({ length: total }, (_, i) => i));
    const stats = pool.stats();
    assert.equal(stats.completed.pooled, total);
    assert.equal(stats.inFlight, 0);
    assert.equal(stats.waiting, 0);
  });

  it('admits waiting callers in arrival order', async () => {
    const { gate, open } = newGate();
    const finished: number[] = [];
    const calls = Array.from({ length: 8 }, (_, i) =>
      pool
        .runOnReplica<{ gate: Int32Array; echo: number }, number>({ module: fixtures, export: 'blockUntilOpened', input: { gate, echo: i }, cost: 1 })
        .then((v) => finished.push(v)),
    );
    await waitUntil(() => pool.stats().waiting === 5, 'five waiting');
    open();
    await Promise.all(calls);
    // One worker runs tasks one at a time, so completion order is admission order.
    assert.deepEqual(finished, [0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('lets a larger maxQueue admit the waiters (config reload)', async () => {
    const { gate, open } = newGate();
    const calls = Array.from({ length: 6 }, (_, i) =>
      track(pool.runOnReplica({ module: fixtures, export: 'blockUntilOpened', input: { gate, echo: i }, cost: 1 })),
    );
    await waitUntil(() => pool.stats().waiting === 3, 'three waiting');
    const resized = pool.resize({ maxQueue: 10 });
    // The new generation admits the three waiters while the old one still holds its three tasks.
    await waitUntil(() => pool.stats().waiting === 0 && pool.stats().inFlight === 6, 'all six admitted');
    open();
    await Promise.all(calls.map((c) => c.promise));
    await resized;
    assert.deepEqual(calls.map((c) => c.error), Array(6).fill(undefined));
    assert.equal(pool.stats().maxQueue, 10);
  });
});
