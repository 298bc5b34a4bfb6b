import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError, ConflictError, ThrottledError, TransientError } from '../../../src/runtime/errors.ts';
import { backoffDelay } from '../../../src/runtime/actors/index.ts';
import { harness, metricValue, quiesce, until } from './support.ts';

test('backoffDelay: base, doubling, cap; jitter stays within ±j and under the cap', () => {
  const exact = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffDelay(n, 5, 200, 0, Math.random));
  assert.deepEqual(exact, [5, 10, 20, 40, 80, 160, 200, 200]);
  assert.equal(backoffDelay(10_000, 5, 1_000_000, 0, Math.random), 1_000_000, 'huge exponents stay finite and capped');
  assert.equal(backoffDelay(3, 5, 1000, 0.2, () => 0), 16);
  assert.equal(backoffDelay(3, 5, 1000, 0.2, () => 0.5), 20);
  assert.ok(Math.abs(backoffDelay(3, 5, 1000, 0.2, () => 0.999999) - 24) < 1e-4);
  assert.equal(backoffDelay(20, 5, 1000, 0.2, () => 0.999999), 1000, 'jitter never exceeds the cap');
  for (let i = 0; i < 10_000; i++) {
    const n = 1 + (i % 12);
    const d = Math.min(5 * 2 ** (n - 1), 1000);
    const v = backoffDelay(n, 5, 1000, 0.2, Math.random);
    assert.ok(v >= d * 0.8 && v <= Math.min(1000, d * 1.2), `retry ${n}: ${v} outside [${d * 0.8}, ${d * 1.2}]`);
  }
  // Full jitter (j = 1) spans [0, 2d] clamped to the cap.
  assert.equal(backoffDelay(2, 5, 1000, 1, () => 0), 0);
});

/** Runs a controller whose reconcile outcome is scripted per call; records (time, attempt). */
function scripted(outcomes: Array<Error | null>, options: { baseMs?: number; maxMs?: number; conflictMaxMs?: number } = {}) {
  const h = harness();
  const calls: Array<{ at: number; attempt: number }> = [];
  const c = h.system.scheduler({
    name: 'c',
    backoff: { baseMs: options.baseMs ?? 5, maxMs: options.maxMs ?? 40, jitter: 0 },
    conflictMaxMs: options.conflictMaxMs,
    reconcile: async (ctx) => {
      calls.push({ at: h.clock.now(), attempt: ctx.attempt });
      const outcome = outcomes[calls.length - 1];
      if (outcome) throw outcome;
    },
  });
  /** Advances the clock to the next due time and waits for the next call. */
  const next = async (): Promise<number> => {
    const before = calls.length;
    await until(() => c.stats().running === 0 && c.stats().waiting === 1, 'the retry to be scheduled');
    const due = h.clock.nextDueAt();
    assert.ok(due !== undefined, 'a timer is armed');
    const delay = due - h.clock.now();
    h.clock.advance(delay);
    await until(() => calls.length === before + 1, 'the retry to run');
    return delay;
  };
  return { ...h, c, calls, next };
}

test('transient errors back off base, doubling, capped; success resets it', async () => {
  const fail = new TransientError('apiserver unavailable');
  const { c, calls, next, registry } = scripted([fail, fail, fail, fail, fail, fail, null, fail, null]);
  c.enqueue('k');
  await until(() => calls.length === 1, 'first run');
  const delays: number[] = [];
  for (let i = 0; i < 6; i++) delays.push(await next());
  assert.deepEqual(delays, [5, 10, 20, 40, 40, 40]);
  assert.deepEqual(calls.map((x) => x.attempt), [1, 2, 3, 4, 5, 6, 7]);
  await until(() => c.stats().actors === 0, 'success to clear the state');
  // A later failure starts again from the base delay.
  c.enqueue('k');
  await until(() => calls.length === 8, 'run after success');
  assert.equal(await next(), 5);
  assert.equal(calls[7]?.attempt, 1);
  assert.equal(calls[8]?.attempt, 2);
  assert.equal(c.stats().retries, 7);
  assert.equal(await metricValue(registry, 'workqueue_retries_total', { name: 'c' }), 7);
  assert.equal(await metricValue(registry, 'controller_runtime_reconcile_errors_total', { controller: 'c' }), 7);
  assert.equal(await metricValue(registry, 'controller_runtime_reconcile_total', { controller: 'c', result: 'success' }), 2);
});

test('conflicts retry on the same doubling but under their own small cap', async () => {
  const conflict = new ConflictError('the object has been modified');
  const { c, calls, next } = scripted([conflict, conflict, conflict, conflict, conflict, null], {
    maxMs: 10_000,
    conflictMaxMs: 15,
  });
  c.enqueue('k');
  await until(() => calls.length === 1, 'first run');
  const delays: number[] = [];
  for (let i = 0; i < 5; i++) delays.push(await next());
  assert.deepEqual(delays, [5, 10, 15, 15, 15]);
});

test('throttled waits at least retryAfter, even when a change arrives meanwhile', async () => {
  const { c, calls, next, clock } = scripted([
    new ThrottledError('too many requests', 2_000),
    new ApiError({ statusCode: 429, message: 'slow down', verb: 'PATCH', resource: 'bundles', retryAfterSeconds: 3 }),
    null,
  ]);
  c.enqueue('k');
  await until(() => calls.length === 1, 'first run');
  await until(() => c.stats().waiting === 1, 'retry scheduled');
  // A user change would normally pull the retry forward; Retry-After wins.
  c.enqueue('k', { reason: 'change' });
  clock.advance(1_999);
  await quiesce();
  assert.equal(calls.length, 1, 'not before Retry-After');
  assert.equal(await next(), 1);
  assert.equal(calls[1]!.at - calls[0]!.at, 2_000);
  // 429 from the API: Retry-After 3 s beats the 10 ms backoff.
  assert.equal(await next(), 3_000);
  await until(() => c.stats().actors === 0, 'success');
});

test('an enqueue during transient backoff runs the key now (client-go semantics)', async () => {
  const { c, calls, clock } = scripted([new TransientError('x'), null], { maxMs: 60_000, baseMs: 60_000 });
  c.enqueue('k');
  await until(() => c.stats().waiting === 1, 'retry scheduled a minute out');
  c.enqueue('k', { reason: 'change' });
  await until(() => calls.length === 2, 'immediate run');
  assert.equal(calls[1]!.at, clock.now());
  assert.equal(calls[1]!.attempt, 2, 'the failure count survives until a success');
});

test('requeueAfterMs schedules a low-priority run; 0 means no requeue', async () => {
  const h = harness();
  const calls: Array<{ at: number; priority: string }> = [];
  const c = h.system.scheduler({
    name: 'c',
    reconcile: async (ctx) => {
      calls.push({ at: h.clock.now(), priority: ctx.priority });
      return { requeueAfterMs: calls.length === 1 ? 30_000 : 0 };
    },
  });
  c.enqueue('k');
  await until(() => c.stats().waiting === 1, 'requeue scheduled');
  h.clock.advance(30_000);
  await until(() => calls.length === 2, 'requeued run');
  await until(() => c.stats().actors === 0, 'no further requeue');
  assert.deepEqual(calls, [
    { at: 1_000, priority: 'high' },
    { at: 31_000, priority: 'low' },
  ]);
  assert.equal(await metricValue(h.registry, 'controller_runtime_reconcile_total', { controller: 'c', result: 'requeue_after' }), 1);
});

test('a synchronous throw or a non-Error rejection is an ordinary transient failure', async () => {
  const h = harness();
  let calls = 0;
  const c = h.system.scheduler({
    name: 'c',
    backoff: { baseMs: 5, maxMs: 5, jitter: 0 },
    reconcile: ((): Promise<void> => {
      calls++;
      if (calls === 1) throw new Error('bug');
      if (calls === 2) return Promise.reject('a string');
      return Promise.resolve();
    }) as () => Promise<void>,
  });
  c.enqueue('k');
  await until(() => c.stats().waiting === 1, 'retry after sync throw');
  h.clock.advance(5);
  await until(() => calls === 2 && c.stats().waiting === 1, 'retry after string rejection');
  h.clock.advance(5);
  await until(() => c.stats().actors === 0, 'success');
  assert.equal(c.stats().errors, 2);
  assert.equal(c.stats().retries, 2);
});

test('the controller draws jitter from the injected random source', async () => {
  const h = harness({ random: () => 0 });
  let calls = 0;
  const c = h.system.scheduler({
    name: 'c',
    backoff: { baseMs: 100, maxMs: 10_000, jitter: 0.5 },
    reconcile: async () => {
      calls++;
      if (calls === 1) throw new TransientError('x');
    },
  });
  c.enqueue('k');
  await until(() => c.stats().waiting === 1, 'retry scheduled');
  // random() = 0 → the low end of ±50 %: 100 ms · 0.5.
  assert.equal(h.clock.nextDueAt()! - h.clock.now(), 50);
});

test('invalid options are rejected with the field named', () => {
  const { system } = harness();
  const reconcile = async (): Promise<void> => {};
  assert.throws(() => system.scheduler({ name: 'a', reconcile, maxAttempts: -1 }), /maxAttempts/);
  assert.throws(() => system.scheduler({ name: 'b', reconcile, backoff: { baseMs: 0, maxMs: 10 } }), /backoff.baseMs/);
  assert.throws(() => system.scheduler({ name: 'c', reconcile, backoff: { baseMs: 10, maxMs: 5 } }), /backoff.maxMs/);
  assert.throws(() => system.scheduler({ name: 'd', reconcile, backoff: { baseMs: 1, maxMs: 5, jitter: 2 } }), /jitter/);
  assert.throws(() => system.scheduler({ name: 'e', reconcile, lowPriorityShare: -0.1 }), /lowPriorityShare/);
  assert.throws(() => system.setMaxInFlight(1.5), /maxInFlight/);
});
