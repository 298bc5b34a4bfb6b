import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AdaptiveLimit,
  BASELINE_WINDOW_MS,
  INCREASE_INTERVAL_MS,
  LATENCY_FACTOR,
  MIN_LATENCY_SAMPLES,
  type LimitChangeCause,
} from '../../../src/runtime/actors/adaptive-limit.ts';
import { ManualClock } from '../../../src/runtime/actors/index.ts';
import { harness, metricValue, quiesce, until } from './support.ts';

function setup(options: { max?: number; min?: number; enabled?: boolean } = {}) {
  const clock = new ManualClock(1_000);
  const limit = new AdaptiveLimit({ max: options.max ?? 64, min: options.min ?? 1, enabled: options.enabled ?? true, clock });
  const changes: Array<[number, LimitChangeCause]> = [];
  limit.onChange((value, cause) => changes.push([value, cause]));
  /**
   * One interval of successes, `count` answers spread evenly over it, each
   * `latencyMs` after it was sent; the last one closes the interval. `kind`
   * null: requests whose latency is not comparable.
   */
  const second = (latencyMs = 10, count = 10, kind: string | null = 'apply bundledeployments'): void => {
    for (let i = 0; i < count; i++) {
      clock.advance(INCREASE_INTERVAL_MS / count);
      limit.succeeded({ startedAt: clock.now() - latencyMs, latencyMs, kind: kind ?? undefined });
    }
  };
  return { clock, limit, changes, second };
}

test('adaptive limit: starts at the maximum and halves on a 429', () => {
  const { clock, limit, changes } = setup({ max: 64 });
  assert.equal(limit.limit, 64);
  limit.throttled(clock.now());
  assert.equal(limit.limit, 32);
  assert.deepEqual(changes, [[32, 'throttled']]);
});

test('adaptive limit: one decrease per window, as TCP: 429s of requests sent before the last decrease do not count again', () => {
  const { clock, limit } = setup({ max: 64 });
  const burstSentAt = clock.now();
  clock.advance(5);
  // 60 requests of one burst rejected: the window that caused them was 64.
  for (let i = 0; i < 60; i++) limit.throttled(burstSentAt);
  assert.equal(limit.limit, 32);
  // A retry sent after the decrease and rejected again: 32 is still too many.
  clock.advance(1000);
  limit.throttled(clock.now());
  assert.equal(limit.limit, 16);
});

test('adaptive limit: recovers by 1 per second of successes, and never beyond the maximum', () => {
  const { clock, limit, second } = setup({ max: 8 });
  limit.throttled(clock.now());
  assert.equal(limit.limit, 4);
  const seen: number[] = [];
  for (let s = 0; s < 10; s++) {
    second();
    seen.push(limit.limit);
  }
  assert.deepEqual(seen, [5, 6, 7, 8, 8, 8, 8, 8, 8, 8]);
});

test('adaptive limit: successes within one interval raise it once, however many there are', () => {
  const { clock, limit } = setup({ max: 64 });
  limit.throttled(clock.now());
  assert.equal(limit.limit, 32);
  const answer = (): void => {
    clock.advance(10);
    limit.succeeded({ startedAt: clock.now() - 5, latencyMs: 5, kind: 'get bundles' });
  };
  for (let i = 0; i < 50; i++) answer(); // 500 ms of successes
  assert.equal(limit.limit, 32, 'no increase before a full interval');
  for (let i = 0; i < 60; i++) answer(); // to 1.1 s after the decrease
  assert.equal(limit.limit, 33);
});

test('adaptive limit: never below the floor, however many 429s', () => {
  const { clock, limit } = setup({ max: 64, min: 3 });
  for (let i = 0; i < 20; i++) {
    clock.advance(100);
    limit.throttled(clock.now());
  }
  assert.equal(limit.limit, 3);
  const floorOne = setup({ max: 5 });
  for (let i = 0; i < 20; i++) {
    floorOne.clock.advance(100);
    floorOne.limit.throttled(floorOne.clock.now());
  }
  assert.equal(floorOne.limit.limit, 1);
});

test('adaptive limit: requests much slower than their baseline lower it; as slow as usual raise it', () => {
  const { clock, limit, second, changes } = setup({ max: 64 });
  limit.throttled(clock.now()); // leave the maximum so that an increase is visible
  const start = limit.limit;
  second(10); // baseline: 10 ms
  assert.equal(limit.limit, start + 1);
  second(10 * LATENCY_FACTOR); // 4× is still acceptable
  assert.equal(limit.limit, start + 2);
  second(10 * LATENCY_FACTOR + 20); // 6×: queuing
  assert.equal(limit.limit, Math.floor((start + 2) / 2));
  assert.equal(changes.at(-1)?.[1], 'latency');
});

test('adaptive limit: slow requests that say nothing about congestion (no kind) and too few samples are ignored', () => {
  const { clock, limit, second } = setup({ max: 64 });
  limit.throttled(clock.now());
  second(10);
  const before = limit.limit;
  second(500, 20, null); // e.g. LISTs of any size
  assert.equal(limit.limit, before + 1);
  second(500, MIN_LATENCY_SAMPLES - 1); // a few slow ones, too few to judge
  assert.equal(limit.limit, before + 2);
});

test('adaptive limit: the latency baseline forgets what is older than its window', () => {
  const { clock, limit, second } = setup({ max: 64 });
  limit.throttled(clock.now());
  second(10);
  const before = limit.limit;
  // Quiet for the whole window; then the server is slower for good (a
  // bigger cluster, say): 100 ms, 10× the forgotten 10 ms.
  clock.advance(BASELINE_WINDOW_MS);
  second(100);
  second(100);
  second(100);
  assert.ok(limit.limit > before, `100 ms is the new normal: the limit rises (${before} → ${limit.limit})`);
  assert.equal(limit.limit, before + 3);
});

test('adaptive limit: a hot-reloaded maximum applies at once; an unthrottled limit follows it up, a reduced one is only clamped', () => {
  const { clock, limit } = setup({ max: 64 });
  limit.setMax(100);
  assert.equal(limit.limit, 100, 'not throttled: follows the new maximum');
  limit.setMax(10);
  assert.equal(limit.limit, 10, 'lowered: clamped at once');
  limit.throttled(clock.now());
  assert.equal(limit.limit, 5);
  limit.setMax(50);
  assert.equal(limit.limit, 5, 'throttled: keeps what it learnt');
  limit.setMax(3);
  assert.equal(limit.limit, 3);
  assert.throws(() => limit.setMax(0), RangeError);
});

test('adaptive limit: the floor is hot-reloadable and a floor above the maximum yields to it', () => {
  const { clock, limit } = setup({ max: 16 });
  for (let i = 0; i < 10; i++) {
    clock.advance(100);
    limit.throttled(clock.now());
  }
  assert.equal(limit.limit, 1);
  limit.setMin(4);
  assert.equal(limit.limit, 4);
  limit.setMax(2);
  assert.equal(limit.limit, 2);
});

test('adaptive limit: disabled, it stays at the maximum whatever happens; enabling starts from the maximum', () => {
  const { clock, limit, second } = setup({ max: 20, enabled: false });
  limit.throttled(clock.now());
  second(10);
  second(10_000);
  assert.equal(limit.limit, 20);
  limit.setMax(30);
  assert.equal(limit.limit, 30);
  limit.setEnabled(true);
  limit.throttled(clock.now());
  assert.equal(limit.limit, 15);
  limit.setEnabled(false);
  assert.equal(limit.limit, 30);
});

test('actor system: the adaptive limit drives reconciles in flight; the configured maximum stays reported as such', async () => {
  const { system, registry, clock } = harness({ maxInFlight: 8, adaptive: true });
  let inFlight = 0;
  let started = 0;
  const releases: Array<() => void> = [];
  const bundles = system.scheduler({
    name: 'bundles',
    reconcile: () => {
      inFlight++;
      started++;
      return new Promise<void>((resolve) =>
        releases.push(() => {
          inFlight--;
          resolve();
        }),
      );
    },
  });
  for (let i = 0; i < 100; i++) bundles.enqueue(`k${i}`);
  await until(() => inFlight === 8, '8 in flight');

  system.inFlightLimit.throttled(clock.now());
  assert.equal(system.stats().limit, 4);
  assert.equal(await metricValue(registry, 'flotilla_reconcile_concurrency_limit', {}), 4);
  assert.equal(await metricValue(registry, 'flotilla_reconcile_concurrency_limit_decreases_total', { signal: 'throttled' }), 1);
  assert.equal(await metricValue(registry, 'controller_runtime_max_concurrent_reconciles', { controller: 'bundles' }), 8);

  // Lowering takes nothing away: the 8 running finish, and none starts until fewer than 4 run.
  for (let i = 0; i < 4; i++) releases.shift()!();
  await quiesce();
  assert.equal(inFlight, 4);
  assert.equal(started, 8, 'nothing started while 4 or more ran');
  releases.shift()!();
  await until(() => started === 9, 'one started in the slot freed below the limit');
  await quiesce();
  assert.equal(started, 9);

  // A hot-reloaded maximum below the current limit applies at once.
  system.setMaxInFlight(2);
  assert.equal(system.maxInFlight, 2);
  assert.equal(system.stats().limit, 2);
  assert.throws(() => system.setMaxInFlight(0), /maxInFlight/);
  assert.throws(() => system.setMinInFlight(1.5), /minInFlight/);
  system.setAdaptive(false);
  assert.equal(system.stats().limit, 2);
  while (releases.length > 0) releases.shift()!();
});
