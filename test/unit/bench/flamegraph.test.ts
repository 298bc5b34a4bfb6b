import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collapseProfile, collapsedText, flameGraphSvg, isMainThreadProfile, type CpuProfile } from '../../../bench/lib/flamegraph.ts';

// (root) → main → { work → hot, idle }, (program); (idle) under root.
const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber, scriptId: '0', columnNumber: 0 });
const PROFILE: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 5, 6] },
    { id: 2, callFrame: frame('main', 'file:///repo/src/main.ts', 9), children: [3] },
    { id: 3, callFrame: frame('work', 'file:///repo/src/controllers/a.ts', 19), children: [4] },
    { id: 4, callFrame: frame('hot<&>;x', 'file:///repo/node_modules/lib/index.js', 0) },
    { id: 5, callFrame: frame('(idle)') },
    { id: 6, callFrame: frame('(program)') },
  ],
  startTime: 0,
  endTime: 10_000,
  // 4 samples in hot, 2 in work itself, 3 idle, 1 program.
  samples: [4, 4, 3, 5, 4, 3, 5, 6, 4, 5],
  timeDeltas: Array.from({ length: 10 }, () => 1000),
};

test('collapses a profile into root-first stacks of samples, idle apart', () => {
  const c = collapseProfile(PROFILE);
  assert.equal(c.samples, 7);
  assert.equal(c.idleSamples, 3);
  assert.equal(c.durationUs, 10_000);
  assert.equal(
    collapsedText(c),
    [
      '(program) 1',
      'main src/main.ts:10;work src/controllers/a.ts:20 2',
      'main src/main.ts:10;work src/controllers/a.ts:20;hot<&>,x node_modules/lib/index.js:1 4',
      '',
    ].join('\n'),
  );
});

test('uses hitCount when the profile carries no sample list', () => {
  const { samples: _s, timeDeltas: _t, ...rest } = PROFILE;
  const c = collapseProfile({ ...rest, nodes: rest.nodes.map((n) => ({ ...n, hitCount: n.id === 4 ? 5 : n.id === 5 ? 2 : 0 })) });
  assert.equal(c.samples, 5);
  assert.equal(c.idleSamples, 2);
});

test('renders a self-contained SVG: one frame per stack node, widths by samples, names escaped', () => {
  const svg = flameGraphSvg(collapseProfile(PROFILE), { title: 'main <thread>', width: 1020 });
  assert.match(svg, /^<\?xml/);
  assert.doesNotMatch(svg, /<script|href=|url\(|@import/, 'nothing to fetch or run');
  assert.match(svg, /main &lt;thread&gt;/);
  assert.match(svg, /hot&lt;&amp;&gt;,x/);
  const rects = [...svg.matchAll(/<title>([^<]*?) — (\d+) samples[^<]*<\/title><rect x="([\d.]+)" y="(\d+)" width="([\d.]+)"/g)].map((m) => ({
    name: m[1] as string,
    samples: Number(m[2]),
    width: Number(m[5]),
  }));
  assert.deepEqual(rects.map((r) => [r.name.split(' ')[0], r.samples]), [['all', 7], ['(program)', 1], ['main', 6], ['work', 6], ['hot&lt;&amp;&gt;,x', 4]]);
  // 1000 px for 7 samples (1020 − 2 × 10 padding): hot is 4/7 of it.
  const hot = rects.find((r) => r.name.startsWith('hot')) as { width: number };
  assert.ok(Math.abs(hot.width - (4 / 7) * 1000 + 0.5) < 0.01, `hot width ${hot.width}`);
  assert.match(svg, /3 idle \(30\.0%, not drawn\)/);
});

test('tells main-thread profiles (thread 0) from workers by Node\'s file name', () => {
  assert.equal(isMainThreadProfile('CPU.20261205.221500.12345.0.001.cpuprofile'), true);
  assert.equal(isMainThreadProfile('CPU.20261205.221500.12345.3.004.cpuprofile'), false);
  assert.equal(isMainThreadProfile('profile.cpuprofile'), false);
});
