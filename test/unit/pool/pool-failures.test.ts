import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { TerminalError, TransientError, classifyError } from '../../../src/runtime/errors.ts';
import { SelectorMatchPool, WorkerTaskError } from '../../../src/runtime/pool/index.ts';
import { fixtures, newGate, waitUntil } from './helpers.ts';

/** Loads a small index so a rebuilt replica can be checked against it. */
function seed(pool: SelectorMatchPool): void {
  for (let i = 0; i < 20; i++) pool.upsertSelector(`sel-${i}`, 'ws', { matchLabels: { app: `a${i % 4}` } });
  for (let i = 0; i < 10; i++) pool.upsertLabels(`cluster-${i}`, 'ws', { app: `a${i % 4}` });
}

async function restartsCounter(registry: Registry): Promise<number> {
  const metric = await registry.getSingleMetric('flotilla_pool_worker_restarts_total')?.get();
  return metric?.values[0]?.value ?? 0;
}

async function assertReplicaRebuilt(pool: SelectorMatchPool): Promise<void> {
  await waitUntil(() => pool.stats().liveThreads === 1, 'replacement worker running');
  await pool.whenSynced(); // the replacement said hello and acknowledged its snapshot
  // A later task runs on the replacement, whose replica booted from a snapshot.
  const described = await pool.runOnReplica<{ partition: string }, { selectors: number; labelSets: number; ids: string[] }>({
    module: fixtures,
    export: 'describeReplica',
    input: { partition: 'ws' },
    cost: 1,
  });
  assert.equal(described.selectors, pool.index.selectorCount);
  assert.equal(described.labelSets, pool.index.labelSetCount);
  assert.deepEqual(described.ids, pool.index.selectorIds('ws'));
  const outcome = await pool.execute({ kind: 'selectorsMatching', partition: 'ws', labels: { app: 'a1' } }, { cost: 1 });
  assert.equal(outcome.path, 'pooled');
  assert.deepEqual(outcome.value, ['sel-1', 'sel-13', 'sel-17', 'sel-5', 'sel-9']);
}

describe('SelectorMatchPool worker failures', () => {
  let pool: SelectorMatchPool;
  let registry: Registry;

  before(() => {
    registry = new Registry();
    pool = new SelectorMatchPool({
      threads: 1,
      maxQueue: 4,
      inlineThreshold: 0,
      registry,
      // Small enough that `exhaustMemory` fails fast, large enough for the worker and its replica.
      resourceLimits: { maxOldGenerationSizeMb: 48, maxYoungGenerationSizeMb: 8 },
    });
    seed(pool);
  });

  after(() => pool.close());

  it('replaces a crashed worker; its task fails as TransientError and later tasks use a rebuilt replica', async () => {
    await pool.whenSynced();
    const before = pool.stats().workerRestarts;
    const err = await pool.runOnReplica({ module: fixtures, export: 'crashWorker', input: null, cost: 1 }).then(
      () => assert.fail('a crashed worker cannot answer'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof TransientError, `got ${String(err)}`);
    assert.match((err as Error).message, /simulated worker crash/);
    assert.equal(classifyError(err).kind, 'transient');
    await waitUntil(() => pool.stats().workerRestarts === before + 1, 'restart counted');
    // Mutations made while the worker was down reach the replacement through its snapshot.
    pool.upsertSelector('sel-late', 'ws', { matchLabels: { app: 'a1' } });
    pool.removeSelector('sel-late');
    await assertReplicaRebuilt(pool);
    assert.equal(await restartsCounter(registry), pool.stats().workerRestarts);
  });

  it('replaces a worker that exits', async () => {
    const before = pool.stats().workerRestarts;
    await assert.rejects(pool.runOnReplica({ module: fixtures, export: 'exitWorker', input: null, cost: 1 }), (err: unknown) => {
      assert.ok(err instanceof TransientError);
      assert.match(err.message, /exited with code: 3/);
      return true;
    });
    await waitUntil(() => pool.stats().workerRestarts === before + 1, 'restart counted');
    await assertReplicaRebuilt(pool);
  });

  it('replaces a worker that runs out of memory (resourceLimits); the task fails as TransientError', async () => {
    const before = pool.stats().workerRestarts;
    const err = await pool.runOnReplica({ module: fixtures, export: 'exhaustMemory', input: null, cost: 1 }).then(
      () => assert.fail('cannot finish'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof TransientError, `got ${String(err)}`);
    assert.equal(((err as Error).cause as { code?: string }).code, 'ERR_WORKER_OUT_OF_MEMORY');
    assert.match((err as Error).message, /ERR_WORKER_OUT_OF_MEMORY/);
    await waitUntil(() => pool.stats().workerRestarts === before + 1, 'restart counted');
    await assertReplicaRebuilt(pool);
  });

  it('carries the error class of a task that throws, without restarting the worker', async () => {
    const before = pool.stats().workerRestarts;
    await assert.rejects(pool.runOnReplica({ module: fixtures, export: 'throwTerminal', input: null, cost: 1 }), (err: unknown) => {
      assert.ok(err instanceof TerminalError);
      assert.equal(err.reason, 'BadInput');
      assert.equal(err.message, 'the input cannot be processed');
      assert.match(err.stack ?? '', /replica-tasks\.ts/);
      return true;
    });
    await assert.rejects(pool.runOnReplica({ module: fixtures, export: 'throwCustom', input: null, cost: 1 }), (err: unknown) => {
      assert.ok(err instanceof WorkerTaskError);
      assert.equal(err.remoteName, 'CustomFailure');
      assert.equal(err.code, 'E_CUSTOM');
      return true;
    });
    await assert.rejects(pool.runOnReplica({ module: fixtures, export: 'notAFunction', input: null, cost: 1 }), (err: unknown) => {
      assert.ok(err instanceof TerminalError);
      assert.equal(err.reason, 'InvalidPoolTask');
      return true;
    });
    assert.equal(pool.stats().workerRestarts, before);
    const metric = await registry.getSingleMetric('flotilla_pool_tasks_total')?.get();
    const errors = metric?.values.filter((v) => v.labels.result === 'error' && v.labels.path === 'pooled') ?? [];
    assert.equal(errors.reduce((n, v) => n + v.value, 0), 3);
    const failures = metric?.values.filter((v) => v.labels.result === 'worker_failure') ?? [];
    assert.equal(failures.reduce((n, v) => n + v.value, 0), 3);
  });

  it('rejects an invalid selector as a terminal error before it reaches a worker', async () => {
    await assert.rejects(pool.labelSetsMatching('ws', { matchExpressions: [{ key: 'a', operator: 'In' }] }), (err: unknown) => {
      assert.ok(err instanceof TerminalError);
      assert.match(err.message, /matchExpressions\[0\]\.values: Required value/);
      return true;
    });
    assert.throws(() => pool.upsertSelector('bad', 'ws', { matchLabels: { 'no good': 'x' } }), TerminalError);
    assert.equal(pool.index.getSelector('bad'), undefined);
  });
});

describe('SelectorMatchPool task timeout', () => {
  it('aborts a task that runs too long, replaces its worker, and does not hang control calls to it', async () => {
    const pool = new SelectorMatchPool({ threads: 1, maxQueue: 2, inlineThreshold: 0, registry: new Registry(), taskTimeoutMs: 1000 });
    try {
      seed(pool);
      await pool.whenSynced();
      const { gate, open, blocked } = newGate();
      try {
        const stuck = pool.runOnReplica({ module: fixtures, export: 'blockUntilOpened', input: { gate, echo: 1 }, cost: 1 });
        await waitUntil(() => blocked() === 1, 'worker blocked in the task');
        // The worker's event loop is blocked: this control call cannot be answered. It must
        // settle when the worker is terminated (exit watch), long before its own 60 s timeout.
        const status = pool.replicaStatus(60_000);
        await assert.rejects(stuck, (err: unknown) => {
          assert.ok(err instanceof TransientError);
          assert.match(err.message, /timed out after 1000 ms/);
          return true;
        });
        assert.deepEqual(await status, []);
      } finally {
        open();
      }
      await waitUntil(() => pool.stats().workerRestarts === 1, 'restart counted');
      await assertReplicaRebuilt(pool);
    } finally {
      await pool.close();
    }
  });
});
