import { plainEqual, RecordStore } from '../../../src/runtime/pool/record-store.ts';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { silentLogger } from '../../../src/observability/logger.ts';
import { compileSelector } from '../../../src/labels/selector.ts';
import { ConflictError, TerminalError, ThrottledError, TransientError } from '../../../src/runtime/errors.ts';
import { AdmissionGate } from '../../../src/runtime/pool/admission.ts';
import { decodeError, encodeError, WorkerTaskError } from '../../../src/runtime/pool/error-codec.ts';
import type { DeltaBatch, IndexDelta } from '../../../src/runtime/pool/protocol.ts';
import { IndexReplica, ReplicaGapError } from '../../../src/runtime/pool/replica.ts';
import { replicaControl } from '../../../src/runtime/pool/replica-endpoint.ts';
import { ReplicaLink } from '../../../src/runtime/pool/replica-link.ts';
import { selectorWorkerUrl } from '../../../src/runtime/pool/worker-url.ts';
import { waitUntil } from './helpers.ts';

const upsert = (id: string, env: string): IndexDelta => ({ op: 'upsertLabels', id, partition: 'p', labels: { env } });
const batch = (firstSeq: number, ...deltas: IndexDelta[]): DeltaBatch => ({ firstSeq, deltas });

describe('AdmissionGate', () => {
  it('admits up to capacity, then queues FIFO and hands released slots to the oldest waiter', async () => {
    const gate = new AdmissionGate(2);
    assert.equal(gate.tryAcquire(), true);
    assert.equal(await gate.acquire(), true);
    const order: number[] = [];
    const waiters = [1, 2, 3].map((i) => gate.acquire().then((ok) => (ok ? order.push(i) : undefined)));
    assert.equal(gate.tryAcquire(), false, 'no barging past waiters');
    assert.equal(gate.waiting, 3);
    gate.release();
    gate.release();
    await Promise.resolve();
    assert.deepEqual(order, [1, 2]);
    assert.equal(gate.used, 2);
    gate.release();
    await Promise.all(waiters);
    assert.deepEqual(order, [1, 2, 3]);
    assert.equal(gate.used, 2);
  });

  it('grows and shrinks capacity', async () => {
    const gate = new AdmissionGate(1);
    assert.equal(gate.tryAcquire(), true);
    const admitted: number[] = [];
    const waiters = [1, 2].map((i) => gate.acquire().then(() => admitted.push(i)));
    gate.resize(3);
    await Promise.all(waiters);
    assert.deepEqual(admitted, [1, 2]);
    assert.equal(gate.used, 3);
    gate.resize(1);
    const late = gate.acquire();
    gate.release(); // used 3 -> 2: still above capacity, the waiter keeps waiting
    gate.release(); // 2 -> 1
    assert.equal(gate.waiting, 1);
    gate.release(); // 1 -> handed over
    assert.equal(await late, true);
    assert.equal(gate.used, 1);
  });

  it('opens for every waiter with false when released on close', async () => {
    const gate = new AdmissionGate(1);
    gate.tryAcquire();
    const waiters = [gate.acquire(), gate.acquire()];
    gate.releaseWaiters();
    assert.deepEqual(await Promise.all(waiters), [false, false]);
    assert.throws(() => new AdmissionGate(0), RangeError);
  });
});

describe('IndexReplica', () => {
  it('applies batches in order, skips resent deltas and refuses gaps', () => {
    const r = new IndexReplica();
    assert.throws(() => r.applyDeltas(batch(1, upsert('a', 'x'))), ReplicaGapError);
    r.loadSnapshot({ seq: 0, selectors: [['s', 'p', compileSelector({ matchLabels: { env: 'x' } }).toLabelSelector()]], labelSets: [], records: [] });
    assert.equal(r.applyDeltas(batch(1, upsert('a', 'x'), upsert('b', 'y'))), 2);
    assert.equal(r.applyDeltas(batch(2, upsert('b', 'y'), upsert('c', 'x'))), 3, 'overlapping resend');
    assert.equal(r.applyDeltas(batch(1, upsert('a', 'IGNORED'))), 3, 'entirely old batch');
    assert.throws(() => r.applyDeltas(batch(5, upsert('d', 'x'))), /missing/);
    assert.equal(r.seq, 3);
    assert.deepEqual(r.index.labelSetIds('p'), ['a', 'b', 'c']);
    assert.equal(r.index.getLabels('a')?.labels.env, 'x');
  });

  it('defers deltas that arrive while a task runs, so the task sees one state', async () => {
    const r = new IndexReplica();
    r.loadSnapshot({ seq: 0, selectors: [], labelSets: [], records: [] });
    let release!: () => void;
    const during = r.runExclusive(async () => {
      const before = r.index.labelSetCount;
      await new Promise<void>((resolve) => (release = resolve));
      return [before, r.index.labelSetCount];
    });
    assert.equal(r.applyDeltas(batch(1, upsert('a', 'x'))), 1, 'acknowledged on receipt');
    assert.equal(r.seq, 0, 'not applied yet');
    release();
    assert.deepEqual(await during, [0, 0]);
    assert.equal(r.seq, 1);
    assert.equal(r.index.labelSetCount, 1);
  });

  it('replicates records: snapshot, upserts and removals in order, resends skipped, gaps refused', () => {
    const r = new IndexReplica();
    r.loadSnapshot({ seq: 0, selectors: [], labelSets: [], records: [['cluster', 'ws/a', 'ws', { labels: { env: 'x' } }]] });
    const rec = (key: string, value: unknown) => ({ op: 'upsertRecord' as const, table: 'cluster', key, partition: 'ws', value });
    assert.equal(r.applyDeltas({ firstSeq: 1, deltas: [rec('ws/b', { labels: {} }), rec('ws/a', { labels: { env: 'y' } })] }), 2);
    assert.equal(r.applyDeltas({ firstSeq: 2, deltas: [rec('ws/a', { labels: { env: 'IGNORED' } }), { op: 'removeRecord', table: 'cluster', key: 'ws/b' }] }), 3, 'overlapping resend');
    assert.throws(() => r.applyDeltas({ firstSeq: 6, deltas: [rec('ws/c', {})] }), ReplicaGapError);
    assert.deepEqual([...r.records.inPartition('cluster', 'ws')], [['ws/a', { labels: { env: 'y' } }]]);
    assert.equal(r.records.count, 1);
    assert.equal(r.status(1).records, 1);
  });

  it('waitFor resolves when the sequence arrives and times out as TransientError otherwise', async () => {
    const r = new IndexReplica();
    assert.notEqual(r.waitFor(0, 1000), undefined);
    r.loadSnapshot({ seq: 0, selectors: [], labelSets: [], records: [] });
    assert.equal(r.waitFor(0, 1000), undefined, 'already there: no promise');
    const arrives = r.waitFor(2, 5000);
    r.applyDeltas(batch(1, upsert('a', 'x'), upsert('b', 'x')));
    await arrives;
    await assert.rejects(r.waitFor(3, 10) as Promise<void>, TransientError);
  });
});

describe('error codec', () => {
  it('round-trips the classes the scheduler classifies', () => {
    const roundTrip = (e: unknown) => decodeError(structuredClone(encodeError(e)));
    const terminal = roundTrip(new TerminalError('BadInput', 'nope'));
    assert.ok(terminal instanceof TerminalError && terminal.reason === 'BadInput' && terminal.message === 'nope');
    assert.ok(roundTrip(new TransientError('later')) instanceof TransientError);
    assert.ok(roundTrip(new ConflictError('409')) instanceof ConflictError);
    const throttled = roundTrip(new ThrottledError('slow down', 1500));
    assert.ok(throttled instanceof ThrottledError && throttled.retryAfterMs === 1500);
    const invalid = roundTrip(compileSelectorError());
    assert.ok(invalid instanceof TerminalError && invalid.reason === 'InvalidSelector');
    const other = roundTrip(Object.assign(new RangeError('bad'), { code: 'E_X' }));
    assert.ok(other instanceof WorkerTaskError && other.remoteName === 'RangeError' && other.code === 'E_X');
    assert.match(roundTrip('a string').message, /non-Error thrown: a string/);
  });
});

function compileSelectorError(): unknown {
  try {
    compileSelector({ matchExpressions: [{ key: 'a', operator: 'Bogus' }] });
  } catch (err) {
    return err;
  }
  throw new Error('expected compileSelector to throw');
}

describe('selectorWorkerUrl', () => {
  it('picks the worker with the extension of the running module', () => {
    assert.equal(selectorWorkerUrl('file:///app/src/runtime/pool/worker-url.ts').href, 'file:///app/workers/selector-worker.ts');
    assert.equal(selectorWorkerUrl('file:///app/dist/src/runtime/pool/worker-url.js').href, 'file:///app/dist/workers/selector-worker.js');
  });
});

describe('ReplicaLink', () => {
  /** A replica exposed with comlink in this thread: the same protocol a worker speaks. */
  function localReplica() {
    const { port1, port2 } = new MessageChannel();
    const replica = new IndexReplica();
    Comlink.expose(replicaControl(replica, 0), port1 as unknown as Comlink.Endpoint);
    return { replica, workerEnd: port1, mainEnd: port2 };
  }

  it('answers a refused (gapped) batch by resending a snapshot', async () => {
    const { replica, workerEnd, mainEnd } = localReplica();
    const deaths: string[] = [];
    let snapshots = 0;
    const link = new ReplicaLink(1, mainEnd, undefined, {
      snapshot: () => {
        snapshots++;
        return { seq: 2, selectors: [], labelSets: [['a', 'p', { env: 'x' }], ['b', 'p', { env: 'y' }]], records: [] };
      },
      acked: () => {},
      died: (_, reason) => deaths.push(reason),
    }, silentLogger);
    // No snapshot yet: the replica refuses deltas, the link recovers with a snapshot.
    link.sendDeltas(batch(1, upsert('a', 'x'), upsert('b', 'y')));
    await waitUntil(() => link.ackedSeq === 2, 'snapshot acknowledged');
    assert.equal(snapshots, 1);
    assert.equal(replica.seq, 2);
    link.sendDeltas(batch(3, upsert('c', 'z')));
    await waitUntil(() => link.ackedSeq === 3, 'delta acknowledged');
    assert.deepEqual(replica.index.labelSetIds('p'), ['a', 'b', 'c']);
    assert.deepEqual(deaths, []);
    workerEnd.close();
    await waitUntil(() => !link.alive, 'link notices the closed channel');
  });

  it('fails a pending call when the other end dies instead of hanging (comlink alone would wait forever)', async () => {
    // A peer that never answers: nothing is exposed on its end.
    const { port1: peer, port2: main } = new MessageChannel();
    const deaths: string[] = [];
    const link = new ReplicaLink(2, main, undefined, { snapshot: () => ({ seq: 0, selectors: [], labelSets: [], records: [] }), acked: () => {}, died: (_, r) => deaths.push(r) }, silentLogger);
    const pending = link.status(60_000);
    peer.close();
    await assert.rejects(pending, TransientError);
    assert.equal(link.alive, false);
    assert.deepEqual(deaths, ['control port closed']);
    await assert.rejects(link.status(10), TransientError, 'later calls fail fast');
  });

  it('times out a call the peer never answers', async () => {
    const { port1: peer, port2: main } = new MessageChannel();
    const link = new ReplicaLink(3, main, undefined, { snapshot: () => ({ seq: 0, selectors: [], labelSets: [], records: [] }), acked: () => {}, died: () => {} }, silentLogger);
    await assert.rejects(link.status(50), /did not answer within 50 ms/);
    peer.close();
  });
});

describe('RecordStore', () => {
  it('keeps partitions in step with upserts, moves and removals; equal values are no-ops', () => {
    const s = new RecordStore();
    assert.equal(s.upsert('bd', 'n1/b', 'ws/b', { print: 'x' }), true);
    assert.equal(s.upsert('bd', 'n1/b', 'ws/b', { print: 'x' }), false, 'equal value');
    assert.equal(s.upsert('bd', 'n2/b', 'ws/b', { print: 'y' }), true);
    assert.equal(s.upsert('bd', 'n2/b', 'ws/c', { print: 'y' }), true, 'moved partition');
    assert.deepEqual([...s.inPartition('bd', 'ws/b').keys()], ['n1/b']);
    assert.deepEqual([...s.inPartition('bd', 'ws/c').keys()], ['n2/b']);
    assert.equal(s.remove('bd', 'n1/b'), true);
    assert.equal(s.remove('bd', 'n1/b'), false);
    assert.equal(s.inPartition('bd', 'ws/b').size, 0);
    const copy = RecordStore.fromDump(s.dump());
    assert.deepEqual(copy.get('bd', 'n2/b'), { print: 'y' });
    assert.equal(copy.count, 1);
  });
});

describe('plainEqual', () => {
  it('compares plain data structurally: key order ignored, array order and values not', () => {
    assert.equal(plainEqual({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 }), true);
    assert.equal(plainEqual({ a: [1, 2] }, { a: [2, 1] }), false);
    assert.equal(plainEqual({ a: 1 }, { a: 1, b: undefined }), false, 'a present key differs from an absent one');
    assert.equal(plainEqual({ a: null }, { a: {} }), false);
    assert.equal(plainEqual([], {}), false);
  });
});
