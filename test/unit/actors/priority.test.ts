import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PriorityLanes } from '../../../src/runtime/actors/priority-lanes.ts';
import type { Priority } from '../../../src/runtime/actors/types.ts';
import { deferred, harness, quiesce, until } from './support.ts';

interface Node {
  id: string;
  prev: Node | null;
  next: Node | null;
  priority: Priority;
  time: number;
}
const node = (id: string, priority: Priority = id.startsWith('h') ? 'high' : 'low', time = 0): Node => ({ id, prev: null, next: null, priority, time });

test('lanes: high first, one low pick in every 1/share while both hold work', () => {
  const lanes = new PriorityLanes<Node>(0.25);
  for (let i = 0; i < 10; i++) lanes.push(node(`l${i}`));
  for (let i = 0; i < 10; i++) lanes.push(node(`h${i}`));
  const order: string[] = [];
  for (let n = lanes.pick(0); n !== null; n = lanes.pick(0)) order.push(n.id);
  assert.deepEqual(order.slice(0, 12), ['h0', 'h1', 'h2', 'l0', 'h3', 'h4', 'h5', 'l1', 'h6', 'h7', 'h8', 'l2']);
  assert.equal(order.length, 20);
  assert.deepEqual(order.slice(12), ['h9', 'l3', 'l4', 'l5', 'l6', 'l7', 'l8', 'l9']);
});

test('lanes: share 0.1 is exactly every 10th pick despite float rounding; share 0 is strict priority', () => {
  const lanes = new PriorityLanes<Node>(0.1);
  for (let i = 0; i < 100; i++) lanes.push(node('l'));
  for (let i = 0; i < 90; i++) lanes.push(node('h'));
  const lowPositions: number[] = [];
  for (let i = 0; i < 100; i++) if (lanes.pick(0)?.id === 'l') lowPositions.push(i);
  assert.deepEqual(lowPositions, [9, 19, 29, 39, 49, 59, 69, 79, 89, 99]);

  const strict = new PriorityLanes<Node>(0);
  for (let i = 0; i < 5; i++) strict.push(node('l'));
  for (let i = 0; i < 5; i++) strict.push(node('h'));
  const ids = Array.from({ length: 10 }, () => strict.pick(0)?.id).join('');
  assert.equal(ids, 'hhhhhlllll');
  assert.throws(() => new PriorityLanes<Node>(1.5), RangeError);
});

test('lanes: deferred nodes wait while anything else is ready, then run in order', () => {
  const lanes = new PriorityLanes<Node>(0.5, 10_000);
  lanes.push(node('d0', 'deferred'));
  lanes.push(node('h0'));
  lanes.push(node('l0'));
  lanes.push(node('d1', 'deferred'));
  lanes.push(node('h1'));
  const order = Array.from({ length: 5 }, () => lanes.pick(1000)?.id);
  assert.deepEqual(order, ['h0', 'l0', 'h1', 'd0', 'd1']);
  assert.equal(lanes.pick(1000), null);
});

test('lanes: a deferred node that waited its bound joins the low lane and gets the low share', () => {
  const lanes = new PriorityLanes<Node>(0.25, 5_000);
  lanes.push(node('d-old', 'deferred', 0));
  lanes.push(node('d-new', 'deferred', 4_000));
  for (let i = 0; i < 8; i++) lanes.push(node(`h${i}`));
  // Before the bound: highs only.
  assert.deepEqual([lanes.pick(4_999)?.id, lanes.pick(4_999)?.id], ['h0', 'h1']);
  // d-old is due at 5,000 and gets the low lane's turn (every 4th pick from then on); d-new is not due yet.
  const order = Array.from({ length: 4 }, () => lanes.pick(5_000)?.id);
  assert.deepEqual(order, ['h2', 'h3', 'h4', 'd-old']);
  assert.equal(lanes.deferred.size, 1);
  // A raise moves a ready node up, never down.
  const d = lanes.deferred.first!;
  lanes.raise(d, 'deferred');
  assert.equal(lanes.deferred.size, 1);
  lanes.raise(d, 'high');
  assert.equal(d.priority, 'high');
  assert.equal(lanes.pick(5_000)?.id, 'h5');
  assert.equal(lanes.high.size, 3);
  assert.throws(() => new PriorityLanes<Node>(0.1, -1), RangeError);
});

test('a high key enqueued behind 10,000 low ones starts within the next few reconciles', async () => {
  const { system } = harness({ maxInFlight: 2 });
  const order: string[] = [];
  const gates: Array<() => void> = [];
  const c = system.scheduler({
    name: 'c',
    reconcile: (ctx) => {
      order.push(ctx.key);
      return new Promise<void>((resolve) => gates.push(resolve));
    },
  });
  for (let i = 0; i < 10_000; i++) c.enqueue(`low-${i}`, { reason: 'initial' });
  await until(() => order.length === 2, 'the first two low reconciles');
  c.enqueue('user-change', { reason: 'change' });
  // Let reconciles finish one at a time and watch when the high key starts.
  while (!order.includes('user-change')) {
    const next = gates.shift();
    assert.ok(next, 'a reconcile to finish');
    next();
    const before = order.length;
    await until(() => order.length === before + 1, 'the next reconcile to start');
  }
  const startedAfter = order.indexOf('user-change') - 2;
  assert.ok(startedAfter <= 1, `high key started after ${startedAfter} further low reconciles`);
  assert.equal(c.stats().readyLow, 10_000 - (order.length - 1));
  for (const g of gates.splice(0)) g();
});

test('starvation protection: low keys progress under a continuous stream of high ones', async () => {
  const { system } = harness({ maxInFlight: 1 });
  const started: Priority[] = [];
  let nextHigh = 0;
  const c = system.scheduler({
    name: 'c',
    lowPriorityShare: 0.2,
    reconcile: async (ctx) => {
      started.push(ctx.priority);
      // Every reconcile brings two new user changes: the high lane never empties.
      if (started.length < 500) {
        c.enqueue(`h${nextHigh++}`, { priority: 'high' });
        c.enqueue(`h${nextHigh++}`, { priority: 'high' });
      }
    },
  });
  for (let i = 0; i < 1_000; i++) c.enqueue(`l${i}`, { priority: 'low' });
  c.enqueue(`h${nextHigh++}`, { priority: 'high' });
  await until(() => started.length >= 500, '500 reconciles');
  const window = started.slice(0, 500);
  const lows = window.filter((p) => p === 'low').length;
  // One pick in five goes to the low lane while both hold work.
  assert.ok(lows >= 99 && lows <= 101, `low reconciles in the first 500: ${lows}`);
  // No stretch longer than 4 highs between two lows.
  const longestHighRun = Math.max(...window.join('').split('low').map((s) => s.length / 'high'.length));
  assert.ok(longestHighRun <= 4, `longest run of highs: ${longestHighRun}`);
  await system.stop({ drainTimeoutMs: 0 });
});

test('controllers take turns on the shared limit: 10,000 keys of one do not starve another', async () => {
  const { system } = harness({ maxInFlight: 2 });
  const order: string[] = [];
  const gate = deferred();
  const reconcile = async (ctx: { key: string }): Promise<void> => {
    order.push(ctx.key);
    if (order.length <= 2) await gate.promise;
  };
  const busy = system.scheduler({ name: 'busy', reconcile });
  const quiet = system.scheduler({ name: 'quiet', reconcile });
  for (let i = 0; i < 10_000; i++) busy.enqueue(`busy-${i}`);
  await until(() => order.length === 2, 'both slots taken by the busy controller');
  for (let i = 0; i < 10; i++) quiet.enqueue(`quiet-${i}`);
  gate.resolve();
  await until(() => order.filter((k) => k.startsWith('quiet')).length === 10, 'all quiet keys');
  const lastQuiet = order.lastIndexOf('quiet-9');
  // Alternating turns: the 10 quiet keys are done within ~20 starts, not after 10,000.
  assert.ok(lastQuiet <= 2 + 20 + 2, `last quiet key started at position ${lastQuiet}`);
  await quiesce();
  await system.stop({ drainTimeoutMs: 0 });
});

test('a summary follow-up (requeuePriority deferred) waits for other keys\' writes, and an enqueue can raise it', async () => {
  const { system, clock } = harness({ maxInFlight: 1 });
  const order: string[] = [];
  const gates: Array<() => void> = [];
  const c = system.scheduler({
    name: 'c',
    maxDeferralMs: 60_000,
    reconcile: (ctx) => {
      order.push(`${ctx.key}:${ctx.priority}`);
      // Each bundle's first run "writes" and asks for a deferred summary run 50 ms later.
      const first = order.filter((o) => o.startsWith(`${ctx.key}:`)).length === 1;
      return new Promise((resolve) => gates.push(() => resolve(first ? { requeueAfterMs: 50, requeuePriority: 'deferred' } : undefined)));
    },
  });
  for (const k of ['a', 'b', 'c']) c.enqueue(k, { reason: 'dependency' });
  const step = async (): Promise<void> => {
    const before = order.length;
    gates.shift()!();
    clock.advance(100);
    await until(() => order.length === before + 1 || (gates.length === 0 && c.stats().readyDeferred + c.stats().readyHigh + c.stats().readyLow === 0), 'the next start');
  };
  await until(() => order.length === 1, 'the first start');
  await step(); // a done → a's summary is deferred, b starts
  c.enqueue('d', { reason: 'dependency' });
  await step(); // b done, c starts
  await step(); // c done, d starts (high before every deferred summary)
  // d's write is pending in the high lane... and b's summary gets raised by a user change.
  c.enqueue('b', { reason: 'change' });
  await step(); // d done → b (raised to high) before a and c
  await step();
  await step();
  await step();
  // b's summary was raised to a user change's priority; the others ran once no write was waiting.
  assert.deepEqual(order, ['a:high', 'b:high', 'c:high', 'd:high', 'b:high', 'a:deferred', 'c:deferred', 'd:deferred']);
  gates.shift()?.();
  await system.stop({ drainTimeoutMs: 0 });
});
