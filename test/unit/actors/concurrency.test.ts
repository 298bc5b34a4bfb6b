import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConcurrencyLimiter } from '../../../src/runtime/actors/index.ts';
import { harness, metricValue, quiesce, turn, until } from './support.ts';

test('limiter: acquire waits for a slot, release is idempotent, abort withdraws the claim', async () => {
  const limiter = new ConcurrencyLimiter(1);
  const first = await limiter.acquire();
  assert.equal(limiter.inFlight, 1);
  let secondGot = false;
  const second = limiter.acquire().then((release) => {
    secondGot = true;
    return release;
  });
  const aborter = new AbortController();
  const third = limiter.acquire(aborter.signal);
  await quiesce();
  assert.equal(secondGot, false);
  aborter.abort(new Error('gave up'));
  await assert.rejects(third, /gave up/);
  first();
  first(); // a second call must not free a second slot
  const release2 = await second;
  assert.equal(limiter.inFlight, 1);
  release2();
  assert.equal(limiter.inFlight, 0);
  assert.throws(() => limiter.release(), /without a held slot/);
  assert.throws(() => limiter.setLimit(0), RangeError);
});

test('reconciles in flight never exceed the global limit across controllers; the limit changes at runtime', async () => {
  const { system, registry } = harness({ maxInFlight: 3 });
  let inFlight = 0;
  let peak = 0;
  let startsOverLimit = 0;
  const releases: Array<() => void> = [];
  const reconcile = (): Promise<void> => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    if (inFlight > system.maxInFlight) startsOverLimit++;
    return new Promise<void>((resolve) =>
      releases.push(() => {
        inFlight--;
        resolve();
      }),
    );
  };
  const a = system.scheduler({ name: 'a', reconcile });
  const b = system.scheduler({ name: 'b', reconcile });
  for (let i = 0; i < 100; i++) {
    a.enqueue(`a${i}`);
    b.enqueue(`b${i}`);
  }
  await until(() => inFlight === 3, '3 in flight');
  await quiesce();
  assert.equal(inFlight, 3);
  assert.equal(await metricValue(registry, 'controller_runtime_max_concurrent_reconciles', { controller: 'a' }), 3);

  // Raise: admits more at once.
  system.setMaxInFlight(6);
  await until(() => inFlight === 6, '6 in flight');
  await quiesce();
  assert.equal(inFlight, 6);

  // Lower below the current count: nothing is cancelled, nothing new starts
  // until the count is below the new limit.
  system.setMaxInFlight(2);
  await quiesce();
  assert.equal(inFlight, 6);
  for (let i = 0; i < 4; i++) releases.shift()?.();
  await quiesce();
  assert.equal(inFlight, 2, 'finished runs were not replaced while at/over the new limit');
  releases.shift()?.();
  await until(() => inFlight === 2, 'a replacement once below the limit');
  await quiesce();
  assert.equal(inFlight, 2);

  // Drain everything with the limit at 2; the peak stayed at the highest limit set.
  for (let i = 0; i < 10_000 && a.stats().reconciles + b.stats().reconciles < 200; i++) {
    releases.shift()?.();
    await turn();
  }
  assert.equal(a.stats().reconciles + b.stats().reconciles, 200);
  assert.equal(startsOverLimit, 0, 'a reconcile started while at the limit');
  assert.equal(peak, 6);
  assert.equal(system.stats().inFlight, 0);
  const active = await metricValue(registry, 'controller_runtime_active_workers', { controller: 'a' });
  assert.equal(active, 0);
});
