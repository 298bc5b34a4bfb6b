import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { compileSelector, type Labels } from '../../../src/labels/selector.ts';
import { SelectorIndex } from '../../../src/labels/selector-index.ts';
import { SelectorMatchPool, type PoolTask, type TaskOutcome } from '../../../src/runtime/pool/index.ts';
import { executeBuiltinTask } from '../../../src/runtime/pool/tasks.ts';
import { mulberry32, randomLabels, randomSelector } from '../labels/random.ts';

type Mutation = (index: SelectorIndex) => void;
type BuiltinTask = Exclude<PoolTask, { kind: 'module' }>;

interface Submitted {
  task: BuiltinTask;
  submittedSeq: number;
  outcome: Promise<TaskOutcome<unknown>>;
}

/**
 * The pool's answer must equal the main-thread index's answer *at the
 * sequence the pool reports*, and that sequence must be at least the one
 * current when the task was submitted (the task required it).
 */
describe('SelectorMatchPool consistency with the inline index', () => {
  let pool: SelectorMatchPool;

  before(() => {
    // inlineThreshold 0: every task with any work goes to a worker.
    pool = new SelectorMatchPool({ threads: 2, maxQueue: 8, inlineThreshold: 0, registry: new Registry(), deltaFlushIntervalMs: 1 });
  });

  after(() => pool.close());

  it('answers like the index at the reported sequence, under interleaved deltas (randomised)', async () => {
    const rand = mulberry32(7);
    const partitions = ['ws-a', 'ws-b'];
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    /** log[s - 1] is the mutation that produced sequence s. */
    const log: Mutation[] = [];
    const submitted: Submitted[] = [];
    const mutate = (apply: () => boolean, replay: Mutation) => {
      if (apply()) log.push(replay);
      assert.equal(pool.seq, log.length);
    };

    for (let step = 0; step < 1500; step++) {
      const r = rand();
      if (r < 0.25) {
        const id = `s${Math.floor(rand() * 60)}`;
        const partition = pick(partitions);
        const selector = compileSelector(randomSelector(rand));
        mutate(() => pool.upsertSelector(id, partition, selector), (ix) => ix.upsertSelector(id, partition, selector));
      } else if (r < 0.3) {
        const id = `s${Math.floor(rand() * 60)}`;
        mutate(() => pool.removeSelector(id), (ix) => ix.removeSelector(id));
      } else if (r < 0.55) {
        const id = `c${Math.floor(rand() * 60)}`;
        const partition = pick(partitions);
        const labels = randomLabels(rand);
        mutate(() => pool.upsertLabels(id, partition, labels), (ix) => ix.upsertLabels(id, partition, labels));
      } else if (r < 0.6) {
        const id = `c${Math.floor(rand() * 60)}`;
        mutate(() => pool.removeLabels(id), (ix) => ix.removeLabels(id));
      } else {
        const partition = pick(partitions);
        const labels = randomLabels(rand);
        const q = rand();
        // Weighted towards selectorsChangedBetween: the query the controller's fan-out sends.
        const task: BuiltinTask =
          q < 0.25 ? { kind: 'selectorsMatching', partition, labels }
          : q < 0.45 ? { kind: 'labelSetsMatching', partition, selector: compileSelector(randomSelector(rand)).toLabelSelector() }
          : { kind: 'selectorsChangedBetween', partition, oldLabels: rand() < 0.1 ? null : labels, newLabels: rand() < 0.1 ? null : randomLabels(rand) };
        const entry: Submitted = { task, submittedSeq: pool.seq, outcome: pool.execute(task, { cost: 1 }) };
        submitted.push(entry);
        // Sometimes wait for the answer before going on (read-your-writes across deltas).
        if (rand() < 0.1) await entry.outcome;
      }
    }

    const outcomes = await Promise.all(submitted.map((s) => s.outcome));
    // Replay the log once, answering each query at the sequence its outcome reports.
    const order = outcomes.map((o, i) => ({ o, s: submitted[i] as Submitted })).sort((a, b) => a.o.seq - b.o.seq);
    const reference = new SelectorIndex();
    let applied = 0;
    let pooled = 0;
    for (const { o, s } of order) {
      assert.ok(o.seq >= s.submittedSeq, `answered at ${o.seq}, required ${s.submittedSeq}`);
      assert.ok(o.seq <= log.length);
      while (applied < o.seq) (log[applied++] as Mutation)(reference);
      const expected = executeBuiltinTask(reference, s.task);
      assert.deepEqual(o.value, expected, `task ${JSON.stringify(s.task)} at seq ${o.seq}`);
      if (o.path === 'pooled') pooled++;
    }
    assert.ok(submitted.length > 400, `only ${submitted.length} queries`);
    assert.equal(pooled, submitted.length, 'every query should have gone to a worker');
    const stats = pool.stats();
    assert.equal(stats.completed.pooled, submitted.length);
    assert.equal(stats.workerRestarts, 0);
  });

  it('keeps idle replicas in step: deltas arrive without any task to wake the workers', async () => {
    for (let i = 0; i < 50; i++) pool.upsertLabels(`idle-${i}`, 'ws-idle', { n: String(i) });
    await pool.whenSynced(20_000);
    const replicas = await pool.replicaStatus(5000);
    assert.equal(replicas.length, 2);
    for (const r of replicas) {
      assert.equal(r.seq, pool.seq);
      assert.equal(r.labelSets, pool.stats().labelSets);
    }
  });

  it('answers at the latest sequence when awaited right after a mutation', async () => {
    const labels: Labels = { tier: 'gold' };
    pool.upsertSelector('gold', 'ws-ryw', { matchLabels: labels });
    const first = await pool.execute({ kind: 'selectorsMatching', partition: 'ws-ryw', labels }, { cost: 1 });
    assert.deepEqual(first.value, ['gold']);
    assert.equal(first.path, 'pooled');
    pool.removeSelector('gold');
    const second = await pool.execute({ kind: 'selectorsMatching', partition: 'ws-ryw', labels }, { cost: 1 });
    assert.deepEqual(second.value, []);
    assert.ok(second.seq >= first.seq + 1);
  });
});
