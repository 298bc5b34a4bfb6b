import { seededRandom } from '../../support/random.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { harness, quiesce, turn, until } from './support.ts';

test('10,000-key storm with random re-enqueues: never two reconciles of one key, no update lost, all actors reclaimed', async () => {
  const { system } = harness({ maxInFlight: 32 });
  const random = seededRandom(42);
  const KEYS = 10_000;
  const inProgress = new Set<string>();
  let overlaps = 0;
  /** Version of each key's object; bumped by every enqueue (a "change"). */
  const version = new Map<string, number>();
  /** Highest version each key's reconciles have observed. */
  const observed = new Map<string, number>();
  let reconciles = 0;

  const c = system.scheduler({
    name: 'storm',
    reconcile: async (ctx) => {
      if (inProgress.has(ctx.key)) overlaps++;
      inProgress.add(ctx.key);
      reconciles++;
      const v = version.get(ctx.key) ?? 0;
      // Yield a random number of turns so runs interleave with enqueues.
      const turns = Math.floor(random() * 3);
      for (let i = 0; i < turns; i++) await turn();
      // Some re-enqueue themselves (or a neighbour) from inside the reconcile.
      if (random() < 0.05) change(`k${Math.floor(random() * KEYS)}`);
      observed.set(ctx.key, Math.max(observed.get(ctx.key) ?? 0, v));
      inProgress.delete(ctx.key);
    },
  });
  const change = (key: string): void => {
    version.set(key, (version.get(key) ?? 0) + 1);
    c.enqueue(key, { priority: random() < 0.3 ? 'high' : 'low', reason: 'change' });
  };

  for (let i = 0; i < KEYS; i++) change(`k${i}`);
  // Random re-enqueues arriving in bursts while reconciles run.
  for (let burst = 0; burst < 50; burst++) {
    for (let i = 0; i < 400; i++) change(`k${Math.floor(random() * KEYS)}`);
    await turn();
  }

  await until(() => c.stats().actors === 0, 'every actor to be reclaimed', 30_000);
  await quiesce();
  assert.equal(overlaps, 0, 'a key was reconciled twice at once');
  assert.equal(inProgress.size, 0);
  // Level-triggered guarantee: after the storm, every key's last change was seen.
  let stale = 0;
  for (const [key, v] of version) if ((observed.get(key) ?? 0) !== v) stale++;
  assert.equal(stale, 0, 'keys whose latest change was never reconciled');
  const stats = c.stats();
  assert.equal(stats.events, stats.adds + stats.coalesced);
  assert.ok(reconciles >= KEYS && reconciles <= stats.adds, `reconciles ${reconciles} within [${KEYS}, ${stats.adds}]`);
  assert.ok(stats.coalesced > 0, 'the storm coalesced some events');
});
