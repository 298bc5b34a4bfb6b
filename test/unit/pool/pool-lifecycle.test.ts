import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { TransientError } from '../../../src/runtime/errors.ts';
import { DEFAULT_INLINE_THRESHOLD, SelectorMatchPool } from '../../../src/runtime/pool/index.ts';
import { fixtures, newGate, track, waitUntil } from './helpers.ts';

function block(pool: SelectorMatchPool, gate: Int32Array, echo: number) {
  return pool.runOnReplica<{ gate: Int32Array; echo: number }, number>({ module: fixtures, export: 'blockUntilOpened', input: { gate, echo }, cost: 1 });
}

describe('SelectorMatchPool lifecycle', () => {
  it('close() waits for running tasks, then answers later calls inline', async () => {
    const pool = new SelectorMatchPool({ threads: 1, maxQueue: 2, inlineThreshold: 0, registry: new Registry() });
    pool.upsertSelector('all', 'ws', {});
    const { gate, open } = newGate();
    const order: string[] = [];
    const running = block(pool, gate, 7).then((v) => {
      order.push('task');
      return v;
    });
    await waitUntil(() => pool.stats().inFlight === 1, 'task running');
    const closing = track(pool.close().then(() => order.push('close')));
    for (let i = 0; i < 20; i++) await nextTurn();
    assert.equal(closing.settled, false, 'close() must wait for the running task');
    open();
    assert.equal(await running, 7);
    await closing.promise;
    assert.deepEqual(order, ['task', 'close']);
    assert.equal(pool.stats().liveThreads, 0);
    assert.equal(pool.stats().closed, true);
    const after = await pool.execute({ kind: 'selectorsMatching', partition: 'ws', labels: {} }, { cost: 1_000_000 });
    assert.deepEqual(after, { value: ['all'], seq: 1, path: 'inline' });
    assert.equal(pool.close(), pool.close(), 'idempotent');
  });

  it('close() gives up on a stuck task after its timeout: the task fails as TransientError', async () => {
    const pool = new SelectorMatchPool({ threads: 1, maxQueue: 2, inlineThreshold: 0, registry: new Registry() });
    pool.upsertSelector('s1', 'ws', {});
    const { gate, open } = newGate();
    try {
      // One running and two queued (all three never released) ...
      const admitted = [1, 2, 3].map((i) => track(block(pool, gate, i)));
      // ... and three callers held back by backpressure.
      const describe = () => pool.runOnReplica({ module: fixtures, export: 'describeReplica', input: { partition: 'ws' }, cost: 1 });
      const waiting = [1, 2, 3].map(() => track(describe()));
      await waitUntil(() => pool.stats().inFlight === 3 && pool.stats().waiting === 3, 'three admitted, three waiting');
      await pool.close({ timeoutMs: 200 });
      await Promise.all([...admitted, ...waiting].map((t) => t.promise));
      for (const t of admitted) assert.ok(t.error instanceof TransientError, `got ${String(t.error)}`);
      // Callers still waiting for admission when the pool closed are answered inline instead.
      assert.deepEqual(waiting.map((t) => t.value), Array(3).fill({ selectors: 1, labelSets: 0, ids: ['s1'] }));
    } finally {
      open();
    }
  });

  it('lazyWorkers: no worker until a task exceeds the inline threshold; the late worker boots from a snapshot and reports its heap', async () => {
    const pool = new SelectorMatchPool({ threads: 1, maxQueue: 2, inlineThreshold: 10, lazyWorkers: true, registry: new Registry() });
    try {
      for (let i = 0; i < 5; i++) pool.upsertLabels(`c${i}`, 'ws', { env: i % 2 === 0 ? 'prod' : 'dev' });
      await pool.whenSynced(1000); // nothing started: trivially in step
      assert.deepEqual(await pool.labelSetsMatching('ws', { matchLabels: { env: 'prod' } }), ['c0', 'c2', 'c4']);
      assert.equal(pool.stats().liveThreads, 0, 'small tasks start no worker');
      assert.deepEqual(await pool.workerHeapStatistics(), []);
      const pooled = await pool.execute({ kind: 'selectorsMatching', partition: 'ws', labels: {} }, { cost: 1_000 });
      assert.equal(pooled.path, 'pooled');
      assert.equal(pool.stats().liveThreads, 1);
      const described = await pool.runOnReplica({ module: fixtures, export: 'describeReplica', input: { partition: 'ws' }, cost: 1_000 });
      assert.deepEqual(described, { selectors: 0, labelSets: 5, ids: [] }, 'the replica holds everything written before the worker started');
      pool.upsertLabels('c5', 'ws', { env: 'prod' });
      assert.deepEqual(await pool.runOnReplica({ module: fixtures, export: 'describeReplica', input: { partition: 'ws' }, cost: 1_000 }), { selectors: 0, labelSets: 6, ids: [] }, 'and follows deltas after');
      await pool.whenSynced(5000);
      const heaps = await pool.workerHeapStatistics();
      assert.equal(heaps.length, 1);
      assert.ok((heaps[0]?.heap.used_heap_size ?? 0) > 0);
      assert.equal(pool.stats().workerRestarts, 0);
    } finally {
      await pool.close();
    }
  });

  it('routes by cost: at or below inlineThreshold inline, above it pooled; counts both in metrics', async () => {
    const registry = new Registry();
    const pool = new SelectorMatchPool({ threads: 1, maxQueue: 2, inlineThreshold: 5, registry });
    try {
      for (let i = 0; i < 10; i++) pool.upsertSelector(`s${i}`, 'ws', { matchLabels: { app: i < 5 ? 'small' : 'big' } });
      for (let i = 10; i < 20; i++) pool.upsertSelector(`s${i}`, 'ws', { matchLabels: { app: 'big' } });
      const small = await pool.execute({ kind: 'selectorsMatching', partition: 'ws', labels: { app: 'small' } });
      const big = await pool.execute({ kind: 'selectorsMatching', partition: 'ws', labels: { app: 'big' } });
      assert.equal(small.path, 'inline');
      assert.equal(small.value.length, 5);
      assert.equal(big.path, 'pooled');
      assert.equal(big.value.length, 15);
      await pool.resize({ inlineThreshold: 100 });
      assert.equal((await pool.execute({ kind: 'selectorsMatching', partition: 'ws', labels: { app: 'big' } })).path, 'inline');
      assert.equal(pool.stats().generation, 1, 'threshold changes in place');
      const text = await registry.metrics();
      assert.match(text, /flotilla_pool_tasks_total\{task="selectorsMatching",path="inline",result="success"\} 2/);
      assert.match(text, /flotilla_pool_tasks_total\{task="selectorsMatching",path="pooled",result="success"\} 1/);
      assert.match(text, /flotilla_pool_task_duration_seconds_count\{task="selectorsMatching"\} 3/);
      assert.match(text, /flotilla_pool_threads 1/);
      assert.match(text, /flotilla_pool_worker_restarts_total 0/);
      assert.match(text, /flotilla_pool_queue_depth 0/);
    } finally {
      await pool.close();
    }
  });

  it('resize() swaps in a new generation with the new thread count; replicas boot from a snapshot', async () => {
    const pool = new SelectorMatchPool({ threads: 1, maxQueue: 2, inlineThreshold: 0, registry: new Registry() });
    try {
      for (let i = 0; i < 30; i++) pool.upsertLabels(`c${i}`, 'ws', { zone: `z${i % 3}` });
      const { gate, open } = newGate();
      const inFlight = track(block(pool, gate, 5));
      await waitUntil(() => pool.stats().inFlight === 1, 'task running on generation 1');
      const resized = track(pool.resize({ threads: 2 }));
      // The new generation serves while the old one finishes its task.
      const during = await pool.labelSetsMatching('ws', { matchLabels: { zone: 'z1' } });
      assert.equal(during.length, 10);
      assert.equal(resized.settled, false, 'old generation still has a running task');
      open();
      await inFlight.promise;
      assert.equal(inFlight.value, 5);
      await resized.promise;
      assert.equal(resized.error, undefined);
      await pool.whenSynced();
      const stats = pool.stats();
      assert.equal(stats.generation, 2);
      assert.equal(stats.threads, 2);
      assert.equal(stats.liveThreads, 2);
      const replicas = await pool.replicaStatus();
      assert.equal(replicas.length, 2);
      for (const r of replicas) assert.equal(r.labelSets, 30);

      await pool.resize({ threads: 0 });
      assert.equal(pool.stats().liveThreads, 0);
      const inline = await pool.execute({ kind: 'selectorsMatching', partition: 'ws', labels: {} }, { cost: 1_000_000 });
      assert.equal(inline.path, 'inline');
      pool.upsertLabels('c-new', 'ws', { zone: 'z1' });
      await pool.resize({ threads: 1 });
      const back = await pool.execute({ kind: 'labelSetsMatching', partition: 'ws', selector: { matchLabels: { zone: 'z1' } } }, { cost: 1 });
      assert.equal(back.path, 'pooled');
      assert.equal(back.value.length, 11);
    } finally {
      await pool.close();
    }
  });

  it('threads: 0 runs everything inline without workers', async () => {
    const pool = new SelectorMatchPool({ threads: 0, maxQueue: 0, registry: new Registry() });
    pool.upsertSelector('s', 'ws', { matchExpressions: [{ key: 'gpu', operator: 'Exists' }] });
    const outcome = await pool.execute({ kind: 'selectorsChangedBetween', partition: 'ws', oldLabels: {}, newLabels: { gpu: '1' } }, { cost: 1e9 });
    assert.deepEqual(outcome, { value: ['s'], seq: 1, path: 'inline' });
    assert.equal(pool.stats().inlineThreshold, DEFAULT_INLINE_THRESHOLD);
    await pool.whenSynced(100);
    await pool.close();
  });

  it('validates its options', () => {
    const registry = new Registry();
    assert.throws(() => new SelectorMatchPool({ threads: -1, maxQueue: 1, registry }), RangeError);
    assert.throws(() => new SelectorMatchPool({ threads: 1.5, maxQueue: 1, registry }), RangeError);
    assert.throws(() => new SelectorMatchPool({ threads: 0, maxQueue: 1, inlineThreshold: Number.NaN, registry }), RangeError);
  });
});
