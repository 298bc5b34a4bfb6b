import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { BundleTarget } from '../../../src/api/bundle.ts';
import { ClusterFanOut, type FanOutIndex } from '../../../src/controllers/fan-out.ts';
import type { BundleObject, ClusterGroupObject, ClusterObject } from '../../../src/controllers/placement-context.ts';
import { SelectorIndex } from '../../../src/labels/selector-index.ts';
import { toCompiledSelector } from '../../../src/labels/selector.ts';
import { silentLogger } from '../../../src/observability/logger.ts';
import { clusterChangeAffectsBundle, targetDependencies } from '../../../src/placement/target-dependencies.ts';
import { computePlacement } from '../../../src/placement/targeting.ts';
import { PlacementWorld } from '../../support/placement-world.ts';
import { groups as fixtureGroups, seededRandom } from '../placement/fixtures.ts';

/** The pool's answers from a main-thread index: the same SelectorIndex the workers replicate. */
function inlineIndex(): FanOutIndex {
  const index = new SelectorIndex();
  return {
    upsertSelector: (id, partition, selector) => index.upsertSelector(id, partition, toCompiledSelector(selector)),
    removeSelector: (id) => index.removeSelector(id),
    selectorsChangedBetween: async (partition, before, after) => index.selectorsChangedBetween(partition, before, after),
  };
}

const TARGET_SHAPES: BundleTarget[] = [
  { clusterSelector: { matchLabels: { env: 'prod' } } },
  { clusterSelector: { matchExpressions: [{ key: 'canary', operator: 'Exists' }] } },
  { clusterSelector: {} },
  { clusterGroup: 'g-prod' },
  { clusterGroup: 'g-eu', doNotDeploy: true },
  { clusterGroup: 'g-missing' },
  { clusterGroupSelector: { matchLabels: { kind: 'region' } } },
  { clusterName: 'c1' },
  { clusterName: 'c1', clusterSelector: { matchLabels: { tier: 'gold' } } },
  { clusterSelector: { matchLabels: { region: 'us' } }, doNotDeploy: true },
];

describe('ClusterFanOut (production fan-out) against the targeting it serves', () => {
  it('never misses a Bundle whose decision for a relabelled, created or deleted Cluster changes', async () => {
    const random = seededRandom(7);
    const world = new PlacementWorld();
    const fanOut = new ClusterFanOut(world.ctx, inlineIndex(), silentLogger);
    for (const g of fixtureGroups) world.caches.clusterGroups.store.upsert(world.object(g as ClusterGroupObject));
    const bundles: BundleObject[] = [];
    for (let i = 0; i < 40; i++) {
      const targets = Array.from({ length: 1 + Math.floor(random() * 3) }, () => TARGET_SHAPES[Math.floor(random() * TARGET_SHAPES.length)]!);
      const b = world.object({ metadata: { name: `b${i}`, namespace: 'ws' }, spec: { targets } } as unknown as BundleObject);
      world.caches.bundles.store.upsert(b);
      bundles.push(b);
    }
    const values: Record<string, string[]> = { env: ['prod', 'dev'], region: ['eu', 'us'], canary: ['true'], tier: ['gold', 'x'] };
    const randomCluster = (): ClusterObject | null => {
      if (random() < 0.15) return null;
      const labels: Record<string, string> = {};
      for (const [key, options] of Object.entries(values)) if (random() < 0.5) labels[key] = options[Math.floor(random() * options.length)]!;
      return world.object({ metadata: { name: 'c1', namespace: 'ws', labels } } as ClusterObject);
    };
    const groupsNow = world.caches.clusterGroups.store.list();
    // An absent Cluster is decided like one no target selects.
    const decision = (b: BundleObject, c: ClusterObject | null) => {
      if (c === null) return 'null';
      const placement = computePlacement(b, [c], groupsNow);
      return JSON.stringify(placement.desired.get('c1') ?? placement.excluded.get('c1') ?? null);
    };

    let changes = 0;
    let extra = 0;
    for (let i = 0; i < 400; i++) {
      const before = randomCluster();
      const after = randomCluster();
      if (before === null && after === null) continue;
      const found = await fanOut.affected('ws', 'c1', before?.metadata.labels ?? null, after?.metadata.labels ?? null);
      for (const b of bundles) {
        const key = `ws/${b.metadata.name}`;
        const changed = decision(b, before) !== decision(b, after);
        const predicted = clusterChangeAffectsBundle(targetDependencies(b), before, after, groupsNow);
        if (changed) {
          changes++;
          assert.ok(found.bundles.has(key), `fan-out missed ${key} (${JSON.stringify(b.spec.targets)}): ${JSON.stringify(before?.metadata.labels)} -> ${JSON.stringify(after?.metadata.labels)}`);
        }
        // The predicate is the specification; production may be wider (group
        // selectors fan out to every group-selector Bundle) but never narrower.
        if (predicted) assert.ok(found.bundles.has(key), `fan-out is narrower than clusterChangeAffectsBundle for ${key}`);
        if (found.bundles.has(key) && !changed) extra++;
      }
    }
    assert.ok(changes > 200, `the walk exercises decision changes (${changes})`);
    assert.ok(extra < changes * 5, `and the fan-out stays tight (${extra} extra for ${changes} changes)`);
  });

  it('a group with a selector that does not compile is kept out of the index instead of breaking its events', async () => {
    const world = new PlacementWorld();
    const fanOut = new ClusterFanOut(world.ctx, inlineIndex(), silentLogger);
    world.caches.clusterGroups.store.upsert(
      world.object({ metadata: { name: 'g-bad', namespace: 'ws' }, spec: { selector: { matchExpressions: [{ key: 'a', operator: 'Bogus' }] } } } as unknown as ClusterGroupObject),
    );
    const found = await fanOut.affected('ws', 'c1', null, { a: 'b' });
    assert.deepEqual([...found.groups], []);
  });
});
