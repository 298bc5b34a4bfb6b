import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { TerminalError, TransientError } from '../../../src/runtime/errors.ts';
import type { DeadLetterDetails } from '../../../src/runtime/actors/index.ts';
import { deferred, harness, metricValue, quiesce, until } from './support.ts';

/** A pino logger writing parsed JSON lines into an array. */
function capturingLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

test('terminal error dead-letters: metric, log, hook once; resync does not release it, a change does', async () => {
  const { logger, lines } = capturingLogger();
  const { system, registry } = harness({ logger });
  let calls = 0;
  let valid = false;
  const hookCalls: Array<{ key: string; error: unknown; details: DeadLetterDetails }> = [];
  const c = system.scheduler({
    name: 'bundles',
    reconcile: async () => {
      calls++;
      if (!valid) throw new TerminalError('InvalidTargets', 'target 0 has no criteria');
    },
    onDeadLetter: async (key, error, details) => {
      hookCalls.push({ key, error, details });
      throw new Error('status write failed'); // must be logged and tolerated
    },
  });
  c.enqueue('ns/b');
  await until(() => c.isDeadLettered('ns/b') && c.stats().running === 0, 'dead-letter');
  assert.equal(calls, 1, 'terminal errors are not retried');
  assert.equal(hookCalls.length, 1);
  assert.equal(hookCalls[0]?.key, 'ns/b');
  assert.ok(hookCalls[0]?.error instanceof TerminalError);
  assert.deepEqual(
    { attempts: hookCalls[0]?.details.attempts, cause: hookCalls[0]?.details.cause, classification: hookCalls[0]?.details.classification },
    { attempts: 1, cause: 'terminal', classification: { kind: 'terminal', reason: 'InvalidTargets' } },
  );
  assert.equal(await metricValue(registry, 'flotilla_dead_letter_total', { controller: 'bundles', cause: 'terminal' }), 1);
  assert.equal(await metricValue(registry, 'flotilla_dead_letter_keys', { controller: 'bundles' }), 1);
  const dl = lines.find((l) => l.msg === 'reconcile dead-lettered; not retried until the object changes');
  assert.ok(dl, 'a dead-letter log line');
  assert.equal(dl.level, 50);
  assert.equal(dl.controller, 'bundles');
  assert.equal(dl.key, 'ns/b');
  assert.equal(typeof dl.reconcileID, 'string');
  assert.equal(dl.classification, 'terminal');
  assert.ok(lines.some((l) => l.msg === 'onDeadLetter hook failed' && l.key === 'ns/b'), 'hook failure logged');

  // Resync, initial list, requeue and dependency enqueues leave it alone.
  for (const reason of ['resync', 'initial', 'requeue', 'dependency'] as const) c.enqueue('ns/b', { reason });
  await quiesce();
  assert.equal(calls, 1);
  assert.equal(c.stats().suppressed, 4);
  assert.equal(c.isDeadLettered('ns/b'), true);

  // The user fixes the object: a change releases it.
  valid = true;
  c.enqueue('ns/b', { reason: 'change' });
  await until(() => calls === 2, 'reconcile after the change');
  await until(() => c.stats().actors === 0, 'reclaimed after success');
  assert.equal(c.isDeadLettered('ns/b'), false);
  assert.equal(hookCalls.length, 1);
  assert.equal(await metricValue(registry, 'flotilla_dead_letter_keys', { controller: 'bundles' }), 0);
});

test('maxAttempts consecutive failures dead-letter the key; a synchronously throwing hook is tolerated', async () => {
  const { system, clock } = harness();
  let calls = 0;
  let hookCalls = 0;
  let attempts = 0;
  const c = system.scheduler({
    name: 'c',
    maxAttempts: 3,
    backoff: { baseMs: 10, maxMs: 10, jitter: 0 },
    reconcile: async () => {
      calls++;
      throw new TransientError('still broken');
    },
    onDeadLetter: (_key, _err, details) => {
      hookCalls++;
      attempts = details.attempts;
      throw new Error('sync hook bug');
    },
  });
  c.enqueue('k');
  for (let i = 1; i < 3; i++) {
    await until(() => c.stats().waiting === 1, `retry ${i} scheduled`);
    clock.advance(10);
  }
  await until(() => c.isDeadLettered('k') && c.stats().running === 0, 'dead-letter after 3 attempts');
  clock.advance(10_000);
  await quiesce();
  assert.equal(calls, 3);
  assert.equal(hookCalls, 1);
  assert.equal(attempts, 3);
  assert.equal(c.stats().deadLetters, 1);
  // Released by a change, the attempt budget starts over.
  c.enqueue('k');
  await until(() => calls === 4 && c.stats().waiting === 1, 'first attempt after release');
  assert.equal(c.isDeadLettered('k'), false);
});

test('the hook is awaited before the key can run again; a change during the failing run releases it afterwards', async () => {
  const { system } = harness();
  const hookGate = deferred();
  const runGate = deferred();
  let calls = 0;
  let hookDone = false;
  let startedBeforeHookDone = false;
  const c = system.scheduler({
    name: 'c',
    reconcile: async () => {
      calls++;
      if (calls === 1) {
        await runGate.promise;
        throw new TerminalError('Invalid', 'bad');
      }
      if (!hookDone) startedBeforeHookDone = true;
    },
    onDeadLetter: async () => {
      await hookGate.promise;
      hookDone = true;
    },
  });
  c.enqueue('k');
  await until(() => calls === 1, 'first run');
  c.enqueue('k', { reason: 'change' }); // the object changed while the run was in flight
  runGate.resolve();
  await until(() => c.isDeadLettered('k'), 'dead-lettered');
  await quiesce();
  assert.equal(calls, 1, 'waits for the hook');
  hookGate.resolve();
  await until(() => calls === 2, 'the change runs once more');
  assert.equal(startedBeforeHookDone, false);
  await until(() => c.stats().actors === 0, 'reclaimed');
});

test('forget drops pending work, backoff and dead-letter state', async () => {
  const { system, clock } = harness();
  let calls = 0;
  const c = system.scheduler({
    name: 'c',
    reconcile: async (ctx) => {
      calls++;
      if (ctx.key === 'dead') throw new TerminalError('Invalid', 'bad');
      if (ctx.key === 'flaky') throw new TransientError('x');
    },
  });
  c.enqueue('dead');
  c.enqueue('flaky');
  c.enqueue('delayed', { delayMs: 1_000 });
  await until(() => c.isDeadLettered('dead') && c.stats().waiting === 2 && c.stats().running === 0, 'states');
  assert.equal(c.stats().actors, 3);
  assert.equal(c.stats().deadLettered, 1);
  for (const key of ['dead', 'flaky', 'delayed', 'unknown']) c.forget(key);
  assert.equal(c.stats().actors, 0);
  assert.equal(c.stats().deadLettered, 0);
  assert.equal(c.stats().waiting, 0);
  clock.advance(10_000);
  await quiesce();
  assert.equal(calls, 2, 'nothing forgotten ran again');
  // A re-created object starts from scratch: resync is not suppressed any more.
  c.enqueue('dead', { reason: 'resync' });
  await until(() => calls === 3, 'fresh key runs');
});

test('forget during a run discards its outcome but never lets a re-created key run concurrently', async () => {
  const { system } = harness();
  const gate = deferred();
  let active = 0;
  let maxActive = 0;
  let calls = 0;
  const c = system.scheduler({
    name: 'c',
    reconcile: async () => {
      calls++;
      active++;
      maxActive = Math.max(maxActive, active);
      if (calls === 1) await gate.promise;
      active--;
      if (calls === 1) throw new TransientError('old object');
    },
  });
  c.enqueue('k');
  await until(() => calls === 1, 'first run');
  c.forget('k');
  c.enqueue('k'); // re-created while the old run is in flight
  await quiesce();
  assert.equal(calls, 1);
  gate.resolve();
  await until(() => calls === 2, 'new object reconciled after the old run');
  await until(() => c.stats().actors === 0, 'reclaimed: the old failure left no backoff');
  assert.equal(maxActive, 1);
  assert.equal(c.stats().retries, 0);
});
