import { test } from 'node:test';
import assert from 'node:assert/strict';
import { curvesPanels, curvesTable, parseCurvesArgs, pointsFrom, scenarioArgv, slope, worldFor, type CurvePoint } from '../../../bench/curves.ts';
import { curvesSvg, linearTicks, logTicks } from '../../../bench/lib/curves-plot.ts';
import { bucketWorld } from '../../../bench/scenarios/buckets.ts';
import { parseBenchArgs } from '../../../bench/run.ts';

test('size → world: the issue\'s worlds, and exactly the requested BundleDeployments', () => {
  assert.deepEqual(worldFor('cold-start', 100_000), { clusters: 500, bundles: 1000, selectivity: 0.2, bundleDeployments: 100_000 });
  assert.deepEqual(worldFor('cold-start', 10_000), { clusters: 50, bundles: 1000, selectivity: 0.2, bundleDeployments: 10_000 });
  assert.deepEqual(worldFor('cold-start', 1_000), { clusters: 50, bundles: 100, selectivity: 0.2, bundleDeployments: 1_000 });
  assert.deepEqual(worldFor('label-flip', 1_000), { clusters: 10, bundles: 100, selectivity: 0.2, bundleDeployments: 1_100 });
  assert.deepEqual(worldFor('label-flip', 100_000), { clusters: 100, bundles: 1000, selectivity: 0.2, bundleDeployments: 101_000 });
  // The scenario's own world computes the same count.
  for (const size of [1_000, 10_000, 100_000, 3_000]) {
    const w = worldFor('cold-start', size);
    assert.equal(bucketWorld('x', w.clusters, w.bundles, w.selectivity).expectedBundleDeployments, w.bundleDeployments, `cold-start ${size}`);
  }
  assert.throws(() => worldFor('cold-start', 5), /size/);
});

test('each run is an ordinary scenario run: its arguments parse as `npm run bench -- <scenario>`', () => {
  const args = parseCurvesArgs(['--sizes', '1000,100_000', '--qps', '50']);
  assert.notEqual(args, 'help');
  if (args === 'help') return;
  assert.deepEqual(args.sizes, [1000, 100_000]);
  assert.deepEqual(args.scenarios, ['cold-start', 'label-flip']);
  assert.match(args.svg, /curves\.svg$/);
  const parsed = parseBenchArgs(scenarioArgv(args, 'cold-start', worldFor('cold-start', 100_000), '/tmp/x.json'));
  assert.notEqual(parsed, 'help');
  if (parsed === 'help') return;
  assert.equal(parsed.scenario, 'cold-start');
  assert.deepEqual([parsed.ctxOptions.options.clusters, parsed.ctxOptions.options.bundles, parsed.ctxOptions.options.selectivity], [500, 1000, 0.2]);
  assert.deepEqual(parsed.ctxOptions.systems, ['flotilla']);
  assert.equal(parsed.ctxOptions.run.qps, 50);
  assert.equal(parsed.ctxOptions.timeoutSeconds, 1000, 'the deadline grows with the size');
  assert.equal(parsed.json, '/tmp/x.json');
  assert.throws(() => parseCurvesArgs(['--sizes', '10']), /sizes/);
  assert.throws(() => parseCurvesArgs(['--scenarios', 'churn']), /scenarios/);
  assert.throws(() => parseCurvesArgs(['--systems', 'argo']), /systems/);
  assert.equal(parseCurvesArgs(['-h']), 'help');
});

const run = (seconds: number, rss: number) => ({
  results: {
    flotilla: {
      system: 'flotilla', converged: true, seconds, writesTotal: 1000, cpuSeconds: 2, maxRssBytes: rss,
      controlPlane: { apiServerCpuSeconds: 5, etcdCpuSeconds: 1 },
      memory: { rssBytes: rss / 2, cachedObjects: Math.round(rss / 2 ** 17), jsonBytesPerObject: 800, heapBytesPerObject: 1200, heapPerJson: 1.5, baselineRssBytes: 100, heapUsedBytes: rss / 4 },
    },
  },
  restart: { flotilla: { readySeconds: 1.5, writesTotal: 0, memory: { rssBytes: rss / 3 } } },
});

test('points from a run\'s JSON, a table and a plot with one series per scenario × system', () => {
  const points: CurvePoint[] = [
    ...pointsFrom('cold-start', 1000, worldFor('cold-start', 1000), run(4, 150 * 2 ** 20)),
    ...pointsFrom('cold-start', 10_000, worldFor('cold-start', 10_000), run(30, 250 * 2 ** 20)),
    ...pointsFrom('label-flip', 1000, worldFor('label-flip', 1000), { ...run(2, 140 * 2 ** 20), restart: {} }),
  ];
  assert.equal(points.length, 3);
  assert.deepEqual(
    { ...points[0], world: undefined },
    {
      scenario: 'cold-start', size: 1000, system: 'flotilla', world: undefined, converged: true, seconds: 4, bundleDeploymentsSeconds: null, writesTotal: 1000,
      cpuSeconds: 2, maxRssBytes: 150 * 2 ** 20, settledRssBytes: 75 * 2 ** 20, cachedObjects: 1200, jsonBytesPerObject: 800, heapBytesPerObject: 1200,
      heapPerJson: 1.5, baselineRssBytes: 100, apiServerCpuSeconds: 5, etcdCpuSeconds: 1, restartReadySeconds: 1.5, restartWrites: 0,
      restartSettledRssBytes: 50 * 2 ** 20, heapUsedBytes: 37.5 * 2 ** 20,
    },
  );
  const md = curvesTable(points);
  assert.match(md, /\| scenario +\| system/);
  assert.equal(md.split('\n').length, 2 + 3);

  const panels = curvesPanels(points);
  assert.ok(panels.some((p) => p.title === 'Time to converge'));
  const time = panels.find((p) => p.title === 'Time to converge');
  assert.deepEqual(time?.series.map((s) => [s.name, s.points]), [
    ['cold-start flotilla', [[1000, 4], [10_000, 30]]],
    ['label-flip flotilla', [[1100, 2]]],
  ]);
  const svg = curvesSvg(panels, { title: 'Flotilla cost curves' });
  assert.match(svg, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.ok(svg.trimEnd().endsWith('</svg>'));
  assert.equal((svg.match(/<g\b/g) ?? []).length, (svg.match(/<\/g>/g) ?? []).length, 'balanced groups');
  assert.equal((svg.match(/class="panel"/g) ?? []).length, panels.length);
  // Two points make a line, one point a dot only: one polyline per panel (cold-start), a circle per point
  // (label-flip has no restart, so no point in the fresh-controller panel).
  assert.equal((svg.match(/<polyline/g) ?? []).length, panels.length);
  assert.equal((svg.match(/<circle/g) ?? []).length, (panels.length - 1) * 3 + 2);
  // Heap per object between sizes: (250/4 − 150/4) MiB over (2000 − 1200) objects.
  assert.equal(slope(points, points[1] as CurvePoint), Math.round((25 * 2 ** 20) / 800));
  assert.equal(slope(points, points[0] as CurvePoint), null, 'nothing smaller to compare with');
  assert.equal(slope(points, points[2] as CurvePoint), null, 'another scenario is not compared with');
  assert.match(svg, /data-series="label-flip flotilla"/);
  assert.doesNotMatch(svg, /NaN|undefined|<script/);
});

test('a run that did not converge leaves a gap in the time curves, not a point at zero', () => {
  const failed = run(0, 100);
  (failed.results.flotilla as { converged: boolean }).converged = false;
  const panels = curvesPanels(pointsFrom('cold-start', 1000, worldFor('cold-start', 1000), failed));
  assert.deepEqual(panels.find((p) => p.title === 'Time to converge')?.series[0]?.points, [[1000, null]]);
  assert.doesNotMatch(curvesSvg(panels, { title: 't' }), /NaN/);
});

test('axis ticks: decades on the log axis, round steps on the linear one', () => {
  assert.deepEqual(logTicks(1000, 100_000), [1000, 10_000, 100_000]);
  assert.deepEqual(logTicks(1100, 1100), [1000, 10_000]);
  assert.deepEqual(linearTicks(37), [0, 10, 20, 30, 40]);
  assert.deepEqual(linearTicks(0), [0, 1]);
});
