import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffBundles, type DiffableBundle } from '../../../src/apply/bundle-diff.ts';
import { lineDiff, unifiedDiff } from '../../../src/apply/line-diff.ts';

describe('unifiedDiff', () => {
  it('is empty for equal texts', () => {
    assert.equal(unifiedDiff('a\nb\n', 'a\nb\n', 'x', 'y'), '');
  });

  it('writes the hunks GNU diff -u writes: three lines of context, nearby changes merged', () => {
    const before = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`).join('\n') + '\n';
    const after = before.replace('line 2\n', 'line two\n').replace('line 5\n', '').replace('line 18\n', 'line 18\nline 18.5\n');
    assert.equal(
      unifiedDiff(before, after, 'live/a.yaml', 'applied/a.yaml'),
      [
        '--- live/a.yaml',
        '+++ applied/a.yaml',
        '@@ -1,8 +1,7 @@',
        ' line 1',
        '-line 2',
        '+line two',
        ' line 3',
        ' line 4',
        '-line 5',
        ' line 6',
        ' line 7',
        ' line 8',
        '@@ -16,5 +15,6 @@',
        ' line 16',
        ' line 17',
        ' line 18',
        '+line 18.5',
        ' line 19',
        ' line 20',
        '',
      ].join('\n'),
    );
  });

  it('shows an absent side as /dev/null', () => {
    assert.equal(unifiedDiff(undefined, 'a\nb\n', 'live/x', 'applied/x'), '--- /dev/null\n+++ applied/x\n@@ -0,0 +1,2 @@\n+a\n+b\n');
    assert.equal(unifiedDiff('a\n', undefined, 'live/x', 'applied/x'), '--- live/x\n+++ /dev/null\n@@ -1 +0,0 @@\n-a\n');
  });

  it('finds a shortest edit script that turns one side into the other', () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let round = 0; round < 200; round++) {
      const a = Array.from({ length: Math.floor(random() * 40) }, () => 'abcd'[Math.floor(random() * 4)] as string);
      const b = a.filter(() => random() > 0.25).flatMap((line) => (random() > 0.85 ? [line, 'x'] : [line]));
      const edits = lineDiff(a, b);
      assert.deepEqual(edits.filter((e) => e.op !== '+').map((e) => e.line), a);
      assert.deepEqual(edits.filter((e) => e.op !== '-').map((e) => e.line), b);
      // No longer than the longest common subsequence allows.
      const lcs = longestCommonSubsequence(a, b);
      assert.equal(edits.filter((e) => e.op !== '=').length, a.length + b.length - 2 * lcs);
    }
  });
});

function longestCommonSubsequence(a: readonly string[], b: readonly string[]): number {
  const row = new Array<number>(b.length + 1).fill(0);
  for (const x of a) {
    let diagonal = 0;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] as number;
      row[j] = x === b[j - 1] ? diagonal + 1 : Math.max(above, row[j - 1] as number);
      diagonal = above;
    }
  }
  return row[b.length] as number;
}

describe('diffBundles', () => {
  const live: DiffableBundle = {
    metadata: { name: 'web', namespace: 'demo', labels: { team: 'web' } },
    spec: {
      resources: [
        { name: 'cm.yaml', content: 'kind: ConfigMap\nname: a\nx: 1\n' },
        { name: 'old.yaml', content: 'kind: Secret\n' },
        { name: 'same.yaml', content: 'kind: Service\n' },
      ],
      targets: [{ clusterGroup: 'prod' }],
      paused: false,
    },
  };

  it('says "no changes" and changed=false when nothing differs (object key order aside)', () => {
    const applied = structuredClone(live);
    applied.spec = { paused: false, targets: [{ clusterGroup: 'prod' }], resources: live.spec.resources };
    const diff = diffBundles(live, applied);
    assert.equal(diff.changed, false);
    assert.equal(diff.text, 'bundle.flotilla.dev/web (namespace demo): no changes\n');
  });

  it('lists resources added, removed and changed, and other fields, then their unified diffs', () => {
    const applied: DiffableBundle = {
      metadata: { name: 'web', namespace: 'demo', labels: { team: 'web' } },
      spec: {
        resources: [
          { name: 'cm.yaml', content: 'kind: ConfigMap\nname: a\nx: 2\n' },
          { name: 'new.yaml', content: 'kind: Role\n' },
          { name: 'same.yaml', content: 'kind: Service\n' },
        ],
        targets: [{ clusterGroup: 'staging' }],
        paused: false,
      },
    };
    const diff = diffBundles(live, applied);
    assert.equal(diff.changed, true);
    assert.deepEqual(diff.resources, [
      { name: 'cm.yaml', change: 'changed' },
      { name: 'new.yaml', change: 'added' },
      { name: 'old.yaml', change: 'removed' },
    ]);
    assert.deepEqual(diff.fields, ['spec.targets']);
    assert.equal(
      diff.text,
      [
        'bundle.flotilla.dev/web (namespace demo) would be configured:',
        '  ~ resource cm.yaml (changed)',
        '  + resource new.yaml (added)',
        '  - resource old.yaml (removed)',
        '  ~ spec.targets (changed)',
        '',
        '--- live/cm.yaml',
        '+++ applied/cm.yaml',
        '@@ -1,3 +1,3 @@',
        ' kind: ConfigMap',
        ' name: a',
        '-x: 1',
        '+x: 2',
        '--- /dev/null',
        '+++ applied/new.yaml',
        '@@ -0,0 +1 @@',
        '+kind: Role',
        '--- live/old.yaml',
        '+++ /dev/null',
        '@@ -1 +0,0 @@',
        '-kind: Secret',
        '--- live/spec.targets',
        '+++ applied/spec.targets',
        '@@ -1 +1 @@',
        '-- clusterGroup: prod',
        '+- clusterGroup: staging',
        '',
      ].join('\n'),
    );
  });

  it('a Bundle that does not exist yet would be created, with everything added', () => {
    const diff = diffBundles(undefined, { metadata: { name: 'web', namespace: 'demo', labels: { a: 'b' } }, spec: { resources: [{ name: 'cm.yaml', content: 'x\n' }] } });
    assert.equal(diff.changed, true);
    assert.match(diff.text, /^bundle\.flotilla\.dev\/web \(namespace demo\) would be created:\n {2}\+ resource cm\.yaml \(added\)\n {2}~ metadata\.labels \(set\)\n/);
    assert.match(diff.text, /--- \/dev\/null\n\+\+\+ applied\/metadata\.labels\n@@ -0,0 \+1 @@\n\+a: b\n/);
  });
});
