import { test } from 'node:test';
import assert from 'node:assert/strict';
import { memoryNote, memoryReport, type SettledMemory } from '../../../bench/lib/memory.ts';

const reading = (heapUsedBytes: number, rssBytes: number): SettledMemory => ({
  forcedGc: true,
  recentWrites: 0,
  heapUsedBytes,
  heapTotalBytes: heapUsedBytes * 2,
  workerHeapUsedBytes: 0,
  workerThreads: 0,
  rssBytes,
  externalBytes: 1,
  arrayBuffersBytes: 1,
});

test('heap per cached object is the heap above the empty-world baseline, over the objects, next to their JSON', () => {
  const r = memoryReport(reading(60_000_000, 150_000_000), { objects: 10_000, bytes: 8_000_000 }, reading(40_000_000, 120_000_000));
  assert.equal(r.jsonBytesPerObject, 800);
  assert.equal(r.heapBytesPerObject, 2000);
  assert.equal(r.heapPerJson, 2.5);
  assert.equal(r.heapBytesPerObjectWithBaseline, 6000, 'the old upper bound is kept for comparison');
  assert.equal(r.baselineRssBytes, 120_000_000);
  assert.match(memoryNote(r), /2000 B per object over the empty-world baseline \(2\.5× its JSON\)/);
});

test('without a baseline or objects there is no per-object figure, not a wrong one', () => {
  const none = memoryReport(reading(60_000_000, 1), { objects: 10, bytes: 1000 }, undefined);
  assert.equal(none.heapBytesPerObject, null);
  assert.equal(none.heapPerJson, null);
  assert.match(memoryNote(none), /no baseline/);
  const empty = memoryReport(reading(60_000_000, 1), { objects: 0, bytes: 0 }, reading(1, 1));
  assert.equal(empty.heapBytesPerObject, null);
});
