import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { quantileOfBuckets } from '../../../bench/lib/histogram.ts';
import { parseBenchArgs } from '../../../bench/run.ts';
import { SHARDS, shifted, wideTargets, wideWorld } from '../../../bench/scenarios/wide.ts';
import { compileSelector } from '../../../src/labels/selector.ts';

describe('wide scenario world', () => {
  it('gives each Bundle a different seeded half of the shards, and a shift swaps exactly one', () => {
    const w = wideWorld(100, 40, 0.5, 1);
    assert.equal(w.clusters.length, 100);
    assert.ok(w.shards.every((s) => s.length === SHARDS / 2 && new Set(s).size === s.length));
    assert.ok(new Set(w.shards.map((s) => s.join())).size > 30, 'subsets differ between Bundles');
    assert.deepEqual(wideWorld(100, 40, 0.5, 1).shards, w.shards, 'deterministic for a seed');
    const before = w.shards[0] ?? [];
    const after = shifted(before);
    assert.equal(after.length, before.length);
    assert.equal(after.filter((s) => !before.includes(s)).length, 1);
  });

  it('rewrites a selector without changing what it selects', () => {
    const plain = compileSelector((wideTargets(['s1', 's2'])[0] as { clusterSelector: never }).clusterSelector);
    const rewritten = compileSelector((wideTargets(['s1', 's2'], true)[0] as { clusterSelector: never }).clusterSelector);
    for (const shard of ['s0', 's1', 's2', 's3']) assert.equal(plain.matches({ shard }), rewritten.matches({ shard }));
  });

  it('defaults to 5,000 clusters, 40 bundles at selectivity 0.5', () => {
    const args = parseBenchArgs(['wide']);
    assert.ok(args !== 'help');
    assert.deepEqual([args.ctxOptions.options.clusters, args.ctxOptions.options.bundles, args.ctxOptions.options.selectivity], [5000, 40, 0.5]);
  });
});

describe('histogram quantiles over a window', () => {
  it('interpolates inside the bucket the rank falls in, as histogram_quantile does', () => {
    const buckets: [number, number][] = [[0.01, 90], [0.1, 99], [1, 100], [Number.POSITIVE_INFINITY, 100]];
    assert.equal(quantileOfBuckets(buckets, 0.5), (0.01 * 50) / 90);
    assert.ok(Math.abs(quantileOfBuckets(buckets, 0.99) - 0.1) < 1e-12);
    assert.ok(Number.isNaN(quantileOfBuckets([[Number.POSITIVE_INFINITY, 0]], 0.99)));
    assert.equal(quantileOfBuckets([[1, 0], [Number.POSITIVE_INFINITY, 5]], 0.99), 1, 'beyond the last bound: that bound');
  });
});
