import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachLimit } from '../../../src/controllers/parallel.ts';

test('runs every item with bounded concurrency', async () => {
  let inFlight = 0;
  let peak = 0;
  const seen: number[] = [];
  await forEachLimit(Array.from({ length: 50 }, (_, i) => i), 4, async (i) => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    await new Promise((r) => setImmediate(r));
    seen.push(i);
    inFlight--;
  });
  assert.equal(seen.length, 50);
  assert.equal(peak, 4);
});

test('rejects with the first error after started calls settle, and starts no more', async () => {
  const started: number[] = [];
  let settled = 0;
  await assert.rejects(
    forEachLimit([0, 1, 2, 3, 4, 5], 2, async (i) => {
      started.push(i);
      await new Promise((r) => setImmediate(r));
      settled++;
      if (i === 1) throw new Error('boom');
    }),
    /boom/,
  );
  assert.equal(settled, started.length, 'no call left running');
  assert.ok(started.length < 6, 'stopped starting new calls');
});
