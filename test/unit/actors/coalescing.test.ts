import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Priority } from '../../../src/runtime/actors/index.ts';
import { deferred, harness, metricValue, quiesce, until } from './support.ts';

test('1,000 enqueues before the first run collapse into one reconcile', async () => {
  const { system } = harness();
  let runs = 0;
  const c = system.scheduler({ name: 'c', reconcile: async () => void runs++ });
  for (let i = 0; i < 1_000; i++) c.enqueue('ns/a');
  await until(() => runs === 1, 'first reconcile');
  await quiesce();
  assert.equal(runs, 1);
  assert.equal(c.stats().coalesced, 999);
  assert.equal(c.stats().adds, 1);
});

test('1,000 enqueues during a slow reconcile → exactly 2 reconciles, never overlapping', async () => {
  const { system, registry } = harness();
  let runs = 0;
  let active = 0;
  let maxActive = 0;
  const gate = deferred();
  const c = system.scheduler({
    name: 'c',
    reconcile: async () => {
      runs++;
      active++;
      maxActive = Math.max(maxActive, active);
      if (runs === 1) await gate.promise;
      active--;
    },
  });
  c.enqueue('ns/a');
  await until(() => runs === 1, 'first reconcile to start');
  for (let i = 0; i < 1_000; i++) c.enqueue('ns/a', { priority: i % 2 === 0 ? 'low' : 'high' });
  await quiesce();
  assert.equal(runs, 1, 'no second run while the first is in flight');
  gate.resolve();
  await until(() => runs === 2, 'the one follow-up reconcile');
  await quiesce();
  assert.equal(runs, 2);
  assert.equal(maxActive, 1);
  // First mid-run enqueue fills the mailbox (an add); the other 999 coalesce.
  assert.equal(c.stats().adds, 2);
  assert.equal(c.stats().coalesced, 999);
  assert.equal(await metricValue(registry, 'flotilla_workqueue_coalesced_total', { name: 'c' }), 999);
  assert.equal(await metricValue(registry, 'workqueue_adds_total', { name: 'c' }), 2);
  assert.equal(c.stats().actors, 0, 'actor reclaimed once idle');
});

test('a change during a reconcile is seen by exactly one more reconcile', async () => {
  const { system } = harness();
  let world = 1;
  const seen: number[] = [];
  const gate = deferred();
  const c = system.scheduler({
    name: 'c',
    reconcile: async () => {
      // Level-triggered: read the state when the reconcile starts.
      const observed = world;
      if (seen.length === 0) await gate.promise;
      seen.push(observed);
    },
  });
  c.enqueue('k');
  await until(() => c.stats().running === 1, 'first reconcile to start');
  world = 2;
  c.enqueue('k');
  gate.resolve();
  await until(() => seen.length === 2, 'second reconcile');
  await quiesce();
  assert.deepEqual(seen, [1, 2]);
});

test('a mailbox keeps the highest priority and the earliest due time', async () => {
  const { system, clock } = harness();
  const started: Array<{ key: string; priority: Priority; at: number }> = [];
  const c = system.scheduler({
    name: 'c',
    reconcile: async (ctx) => void started.push({ key: ctx.key, priority: ctx.priority, at: clock.now() }),
  });
  c.enqueue('k', { priority: 'low', delayMs: 5_000 });
  c.enqueue('k', { priority: 'high', delayMs: 1_000 });
  c.enqueue('k', { priority: 'low', delayMs: 3_000 });
  assert.equal(c.stats().waiting, 1);
  clock.advance(999);
  await quiesce();
  assert.equal(started.length, 0, 'not due before the earliest due time');
  clock.advance(1);
  await until(() => started.length === 1, 'reconcile at the earliest due time');
  clock.advance(10_000);
  await quiesce();
  assert.equal(started.length, 1, 'the later due times were merged away');
  assert.deepEqual(started[0], { key: 'k', priority: 'high', at: 2_000 });
});

test('an undelayed enqueue pulls a delayed key forward', async () => {
  const { system } = harness();
  const started: Priority[] = [];
  const c = system.scheduler({ name: 'c', reconcile: async (ctx) => void started.push(ctx.priority) });
  c.enqueue('k', { priority: 'low', delayMs: 60_000 });
  c.enqueue('k', { priority: 'low' });
  await until(() => started.length === 1, 'immediate reconcile');
  assert.deepEqual(started, ['low']);
});
