import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { ActorSystem, ShutdownError, LeadershipLostError } from '../../../src/runtime/actors/index.ts';
import { createRegistry } from '../../../src/observability/metrics.ts';
import { deferred, harness, quiesce, until } from './support.ts';

test('stop drains in-flight reconciles, drops pending work and ignores later enqueues', async () => {
  const { system } = harness({ maxInFlight: 2 });
  const gates = [deferred(), deferred()];
  let started = 0;
  let finished = 0;
  let abortedSignals = 0;
  const c = system.scheduler({
    name: 'c',
    reconcile: async (ctx) => {
      const gate = gates[started++];
      await gate?.promise;
      if (ctx.signal.aborted) abortedSignals++;
      finished++;
    },
  });
  for (let i = 0; i < 10; i++) c.enqueue(`k${i}`);
  await until(() => started === 2, 'two in flight');
  const stopping = system.stop({ drainTimeoutMs: 30_000 });
  c.enqueue('late');
  assert.equal(c.stats().events, 10, 'enqueue after stop is a no-op');
  gates[0]?.resolve();
  gates[1]?.resolve();
  assert.deepEqual(await stopping, { drained: true });
  await quiesce();
  assert.equal(started, 2, 'nothing new started after stop');
  assert.equal(finished, 2);
  assert.equal(abortedSignals, 0);
  assert.equal(c.stats().actors, 0);
  assert.equal(system.stop({ drainTimeoutMs: 0 }), system.stop({ drainTimeoutMs: 0 }), 'idempotent');
});

test('stop aborts reconciles still running when the drain timeout expires', async () => {
  const { system, clock } = harness();
  let reason: unknown;
  const c = system.scheduler({
    name: 'c',
    reconcile: (ctx) =>
      new Promise<void>((_resolve, reject) => {
        ctx.signal.addEventListener('abort', () => {
          reason = ctx.signal.reason;
          reject(ctx.signal.reason as Error);
        });
      }),
  });
  c.enqueue('stuck');
  await until(() => c.stats().running === 1, 'stuck reconcile');
  let result: { drained: boolean } | undefined;
  const stopping = system.stop({ drainTimeoutMs: 5_000 }).then((r) => (result = r));
  clock.advance(4_999);
  await quiesce();
  assert.equal(result, undefined, 'still draining before the timeout');
  assert.equal(reason, undefined);
  clock.advance(1);
  await stopping;
  assert.deepEqual(result, { drained: false });
  assert.ok((reason as unknown) instanceof ShutdownError);
  await until(() => c.stats().running === 0, 'aborted run settled');
  assert.equal(c.stats().actors, 0);
});

test('system pause: no new reconciles, in-flight signals aborted, mailboxes kept; resume runs them', async () => {
  const { system, clock } = harness({ maxInFlight: 1 });
  const runs: string[] = [];
  let abortReason: unknown;
  const c = system.scheduler({
    name: 'c',
    reconcile: (ctx) => {
      runs.push(ctx.key);
      if (ctx.key !== 'a' || runs.length > 1) return Promise.resolve();
      return new Promise<void>((_resolve, reject) =>
        ctx.signal.addEventListener('abort', () => {
          abortReason = ctx.signal.reason;
          reject(ctx.signal.reason as Error);
        }),
      );
    },
  });
  c.enqueue('a');
  c.enqueue('b');
  c.enqueue('c', { delayMs: 1_000 });
  await until(() => runs.length === 1, 'a running');
  system.pause();
  assert.equal(system.paused, true);
  assert.ok(abortReason instanceof LeadershipLostError);
  await until(() => c.stats().running === 0, 'aborted run settled');
  clock.advance(1_000); // c falls due while paused
  c.enqueue('d');
  // A controller created while the system is paused starts paused too.
  let otherRuns = 0;
  const other = system.scheduler({ name: 'other', reconcile: async () => void otherRuns++ });
  other.enqueue('x');
  await quiesce();
  assert.deepEqual(runs, ['a']);
  assert.equal(otherRuns, 0);
  const s = c.stats();
  assert.equal(s.readyHigh + s.readyLow, 4, 'a (re-pended), b, c, d kept');
  assert.equal(s.errors, 1);
  assert.equal(s.retries, 0, 'the abort is not counted as a failure');

  system.resume();
  await until(() => runs.length === 5 && otherRuns === 1, 'everything after resume');
  assert.deepEqual(runs.slice(1).sort(), ['a', 'b', 'c', 'd']);
  assert.equal(runs.filter((k) => k === 'a').length, 2);
  await until(() => c.stats().actors === 0, 'reclaimed');
});

test('controller pause/resume only affects that controller', async () => {
  const { system } = harness();
  const runs: string[] = [];
  const a = system.scheduler({ name: 'a', reconcile: async (ctx) => void runs.push(`a:${ctx.key}`) });
  const b = system.scheduler({ name: 'b', reconcile: async (ctx) => void runs.push(`b:${ctx.key}`) });
  a.pause();
  assert.equal(a.paused, true);
  a.enqueue('1');
  b.enqueue('1');
  await until(() => runs.includes('b:1'), 'b runs');
  await quiesce();
  assert.deepEqual(runs, ['b:1']);
  a.resume();
  await until(() => runs.includes('a:1'), 'a runs after resume');
});

test('idle actors are reclaimed: the registry returns to empty after 20,000 keys', async () => {
  const { system } = harness({ maxInFlight: 16 });
  const c = system.scheduler({ name: 'c', reconcile: async () => {} });
  for (let i = 0; i < 20_000; i++) c.enqueue(`ns/obj-${i}`, { reason: i % 2 ? 'initial' : 'change' });
  assert.equal(c.stats().actors, 20_000);
  await until(() => c.stats().reconciles === 20_000, 'all reconciled');
  assert.equal(c.stats().actors, 0);
});

test('delays use a single unref-able timer per controller, whatever the number of delayed keys', async () => {
  const { system, clock } = harness({ maxInFlight: 8 });
  let runs = 0;
  const c = system.scheduler({ name: 'c', reconcile: async () => void runs++ });
  for (let i = 0; i < 1_000; i++) c.enqueue(`k${i}`, { delayMs: 1 + (i % 100) * 10 });
  assert.equal(clock.pendingTimers, 1);
  assert.equal(clock.nextDueAt(), clock.now() + 1);
  clock.advance(500);
  await until(() => runs === 500, 'keys due within 500 ms');
  assert.equal(clock.pendingTimers, 1);
  clock.advance(500);
  await until(() => runs === 1_000, 'the rest');
  assert.equal(clock.pendingTimers, 0);

  // With the real clock the timer must not hold the process open.
  const real = new ActorSystem({ maxInFlight: 1, registry: createRegistry({ defaultMetrics: false }) });
  const rc = real.scheduler({ name: 'real', reconcile: async () => {} });
  rc.enqueue('far', { delayMs: 3_600_000 });
  const handles = (process as unknown as { getActiveResourcesInfo(): string[] }).getActiveResourcesInfo();
  assert.equal(handles.filter((h) => h === 'Timeout').length, 0, 'the delay timer is unref()d');
  await real.stop({ drainTimeoutMs: 0 });
});

test('metrics: every workqueue and controller-runtime series exists for a controller', async () => {
  const { system, registry } = harness();
  const c = system.scheduler({ name: 'bundles', reconcile: async () => {} });
  c.enqueue('k');
  await until(() => c.stats().reconciles === 1, 'one reconcile');
  const text = await registry.metrics();
  for (const series of [
    'workqueue_depth{name="bundles"} 0',
    'workqueue_adds_total{name="bundles"} 1',
    'workqueue_queue_duration_seconds_count{name="bundles"} 1',
    'workqueue_work_duration_seconds_count{name="bundles"} 1',
    'workqueue_unfinished_work_seconds{name="bundles"} 0',
    'workqueue_longest_running_processor_seconds{name="bundles"} 0',
    'workqueue_retries_total{name="bundles"} 0',
    'controller_runtime_reconcile_total{controller="bundles",result="success"} 1',
    'controller_runtime_reconcile_errors_total{controller="bundles"} 0',
    'controller_runtime_reconcile_time_seconds_bucket{le="0.005",controller="bundles"} 1',
    'controller_runtime_active_workers{controller="bundles"} 0',
    'controller_runtime_max_concurrent_reconciles{controller="bundles"} 4',
    'flotilla_workqueue_coalesced_total{name="bundles"} 0',
    'flotilla_dead_letter_total{controller="bundles",cause="terminal"} 0',
    'flotilla_dead_letter_keys{controller="bundles"} 0',
  ]) {
    assert.ok(text.includes(series), `missing ${series}`);
  }
  assert.ok(text.includes('workqueue_queue_duration_seconds_bucket{le="1e-8",name="bundles"}'), 'client-go buckets');
  assert.throws(() => system.scheduler({ name: 'bundles', reconcile: async () => {} }), /already exists/);
});

test('unfinished work and the longest running processor are computed at scrape time', async () => {
  const { system, registry, clock } = harness();
  const gate = deferred();
  const c = system.scheduler({ name: 'slow', reconcile: () => gate.promise });
  c.enqueue('a');
  await until(() => c.stats().running === 1, 'running');
  clock.advance(1_500);
  c.enqueue('b');
  await until(() => c.stats().running === 2, 'two running');
  clock.advance(500);
  const text = await registry.metrics();
  assert.ok(text.includes('workqueue_unfinished_work_seconds{name="slow"} 2.5'), text);
  assert.ok(text.includes('workqueue_longest_running_processor_seconds{name="slow"} 2'));
  assert.ok(text.includes('controller_runtime_active_workers{controller="slow"} 2'));
  gate.resolve();
});

test('each reconcile logs its end at debug with controller, key, reconcileID, durationMs, result', async () => {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const { system } = harness({ logger: pino({ level: 'debug' }, stream) });
  const ids: string[] = [];
  const c = system.scheduler({
    name: 'clusters',
    reconcile: async (ctx) => {
      ids.push(ctx.reconcileID);
      ctx.log.info('inside');
    },
  });
  c.enqueue('ns/a');
  c.enqueue('ns/b');
  await until(() => lines.filter((l) => l.msg === 'reconcile finished').length === 2, 'two end lines');
  const end = lines.find((l) => l.msg === 'reconcile finished' && l.key === 'ns/a');
  const inside = lines.find((l) => l.msg === 'inside' && l.key === 'ns/a');
  assert.equal(end?.controller, 'clusters');
  assert.equal(end?.result, 'success');
  assert.equal(typeof end?.durationMs, 'number');
  assert.equal(end?.level, 20);
  assert.equal(end?.reconcileID, inside?.reconcileID);
  assert.equal(new Set(ids).size, 2, 'reconcile IDs are unique');
});
