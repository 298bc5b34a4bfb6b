import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRegistry } from '../../../src/observability/metrics.ts';
import { ManualClock } from '../../../src/runtime/actors/manual-clock.ts';
import { InformerFactory } from '../../../src/runtime/informer/informer-factory.ts';
import { builtinTypes, type KubeObject } from '../../../src/runtime/kube/resource.ts';
import { runFor } from '../support/manual-time.ts';
import { InMemoryListerWatcher, refused } from './in-memory-lister-watcher.ts';

const configMaps: KubeObject[] = Array.from({ length: 5 }, (_, i) => ({
  metadata: { name: `cm-${i}`, namespace: 'default', resourceVersion: String(i + 1) },
}));

function informerOnManualClock() {
  const clock = new ManualClock(0);
  const api = new InMemoryListerWatcher(clock, configMaps);
  const factory = new InformerFactory({
    client: api,
    registry: createRegistry({ defaultMetrics: false }),
    clock,
    listPageSize: 2,
    reflectorBackoff: { initialMs: 200, maxMs: 1000, resetAfterMs: 5000, jitter: 0 },
  });
  const informer = factory.for(builtinTypes.configMap);
  return { clock, api, factory, informer };
}

test('a reflector backs off with the configured delays, doubling to the cap, and lists in pages of the configured size', async () => {
  const { clock, api, factory, informer } = informerOnManualClock();
  api.down = true;
  factory.start();
  await runFor(clock, 3000);
  assert.deepEqual(
    api.lists.map((l) => l.at),
    [0, 200, 600, 1400, 2400],
    'waits 200, 400, 800, then the 1000 ms cap',
  );
  assert.equal(informer.reflector.hasSynced(), false);

  api.down = false;
  await runFor(clock, 1000);
  const recovered = api.lists.slice(5);
  assert.deepEqual(
    recovered.map((l) => [l.at, l.limit, l.continue]),
    [
      [3400, 2, undefined],
      [3400, 2, '2'],
      [3400, 2, '4'],
    ],
  );
  assert.equal(informer.reflector.hasSynced(), true);
  assert.equal(informer.store.size, 5);
  assert.equal(api.openWatch.startedAt, 3400);
  await factory.stop();
});

test('a reflector healthy for longer than resetAfter starts its backoff over; one that keeps failing does not', async () => {
  const { clock, api, factory } = informerOnManualClock();
  factory.start();
  await runFor(clock, 100);
  assert.equal(api.watches.length, 1);

  // Healthy for 6 s (> resetAfter 5 s), then the watch breaks once.
  await runFor(clock, 6000);
  api.openWatch.end(refused());
  await runFor(clock, 1000);
  assert.deepEqual(
    api.watches.map((w) => [w.startedAt, w.resourceVersion]),
    [
      [0, '100'],
      [6300, '100'],
    ],
    'waits the initial 200 ms and resumes from the last resourceVersion without relisting',
  );
  assert.equal(api.lists.length, 3, 'still the one initial LIST of three pages');

  // Breaks again soon after: the wait doubles.
  api.openWatch.end(refused());
  await runFor(clock, 1000);
  assert.equal(api.watches[2]?.startedAt, 7100 + 400);
  await factory.stop();
});

test('retryNow ends a reflector\'s backoff wait at once, and is harmless while it is not waiting', async () => {
  const { clock, api, factory, informer } = informerOnManualClock();
  api.down = true;
  factory.start();
  await runFor(clock, 1500); // lists at 0, 200, 600, 1400; the next waits until 2400
  assert.equal(factory.retrying(), true);
  api.down = false;
  factory.retryNow();
  await runFor(clock, 50);
  assert.equal(api.lists[4]?.at, 1500, 'relisted when told, not at 2400');
  assert.equal(informer.reflector.hasSynced(), true);
  assert.equal(factory.retrying(), false);
  factory.retryNow();
  await runFor(clock, 50);
  assert.equal(api.lists.length, 7, 'three pages, no extra LIST from a retryNow while healthy');
  await factory.stop();
});
