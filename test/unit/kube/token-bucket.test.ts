import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBucket } from '../../../src/runtime/kube/token-bucket.ts';

test('qps 0 never waits', async () => {
  const bucket = new TokenBucket({ qps: 0, burst: 1 });
  for (let i = 0; i < 1000; i++) assert.equal(await bucket.take(), 0);
});

test('burst is granted at once, then requests are paced at qps in FIFO order', async () => {
  const bucket = new TokenBucket({ qps: 100, burst: 5 });
  const order: number[] = [];
  const started = performance.now();
  await Promise.all(Array.from({ length: 15 }, (_, i) => bucket.take().then(() => order.push(i))));
  const elapsed = performance.now() - started;
  assert.deepEqual(order, Array.from({ length: 15 }, (_, i) => i));
  // 10 tokens beyond the burst at 100/s need at least ~100 ms.
  assert.ok(elapsed >= 90, `took ${elapsed} ms`);
});

test('raising the limit at runtime releases waiters', async () => {
  const bucket = new TokenBucket({ qps: 0.01, burst: 1 });
  await bucket.take();
  const waiting = bucket.take();
  bucket.setLimits(0, 1);
  assert.equal(typeof (await waiting), 'number');
});

test('exhausted: whether a request now would wait (never with qps 0), without taking a token', async () => {
  let now = 0;
  assert.equal(new TokenBucket({ qps: 0, burst: 1 }).exhausted, false);
  const bucket = new TokenBucket({ qps: 1, burst: 2, now: () => now });
  assert.equal(bucket.exhausted, false);
  await bucket.take();
  assert.equal(bucket.exhausted, false, 'looking takes nothing: one token left');
  await bucket.take();
  assert.equal(bucket.exhausted, true);
  now += 1000;
  assert.equal(bucket.exhausted, false, 'refilled');
});
