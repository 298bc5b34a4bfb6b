import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileSelector, type CompiledSelector, type LabelSelector, type Labels } from '../../../src/labels/selector.ts';
import { SelectorIndex } from '../../../src/labels/selector-index.ts';
import { mulberry32, randomLabels, randomSelector } from './random.ts';

/** Brute-force reference: the definition of each query, by scanning everything. */
class Reference {
  selectors = new Map<string, { partition: string; selector: CompiledSelector }>();
  labelSets = new Map<string, { partition: string; labels: Labels }>();

  selectorsMatching(partition: string, labels: Labels): string[] {
    return [...this.selectors].filter(([, e]) => e.partition === partition && e.selector.matches(labels)).map(([id]) => id).sort();
  }
  labelSetsMatching(partition: string, selector: CompiledSelector): string[] {
    return [...this.labelSets].filter(([, e]) => e.partition === partition && selector.matches(e.labels)).map(([id]) => id).sort();
  }
  selectorsChangedBetween(partition: string, oldLabels: Labels | null, newLabels: Labels | null): string[] {
    return [...this.selectors]
      .filter(([, e]) => e.partition === partition)
      .filter(([, e]) => (oldLabels !== null && e.selector.matches(oldLabels)) !== (newLabels !== null && e.selector.matches(newLabels)))
      .map(([id]) => id)
      .sort();
  }
}

describe('SelectorIndex', () => {
  it('answers exactly like a brute-force scan under random churn', () => {
    const rand = mulberry32(42);
    const index = new SelectorIndex();
    const ref = new Reference();
    const partitions = ['ws-a', 'ws-b', 'ws-c'];
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    let checks = 0;
    for (let step = 0; step < 4000; step++) {
      const r = rand();
      if (r < 0.3) {
        const id = `s${Math.floor(rand() * 150)}`;
        const partition = pick(partitions);
        const selector = compileSelector(randomSelector(rand));
        index.upsertSelector(id, partition, selector);
        ref.selectors.set(id, { partition, selector });
      } else if (r < 0.36) {
        const id = `s${Math.floor(rand() * 150)}`;
        assert.equal(index.removeSelector(id), ref.selectors.delete(id));
      } else if (r < 0.62) {
        const id = `c${Math.floor(rand() * 150)}`;
        const partition = pick(partitions);
        const labels = randomLabels(rand);
        index.upsertLabels(id, partition, labels);
        ref.labelSets.set(id, { partition, labels });
      } else if (r < 0.68) {
        const id = `c${Math.floor(rand() * 150)}`;
        assert.equal(index.removeLabels(id), ref.labelSets.delete(id));
      } else {
        const partition = pick(partitions);
        const labels = randomLabels(rand);
        const other = rand() < 0.1 ? null : randomLabels(rand);
        const selector = compileSelector(randomSelector(rand));
        assert.deepEqual(index.selectorsMatching(partition, labels), ref.selectorsMatching(partition, labels));
        assert.deepEqual(index.labelSetsMatching(partition, selector), ref.labelSetsMatching(partition, selector));
        assert.deepEqual(index.selectorsChangedBetween(partition, labels, other), ref.selectorsChangedBetween(partition, labels, other));
        assert.deepEqual(index.selectorsChangedBetween(partition, other, labels), ref.selectorsChangedBetween(partition, other, labels));
        checks++;
      }
    }
    assert.ok(checks > 500);
    assert.equal(index.selectorCount, ref.selectors.size);
    assert.equal(index.labelSetCount, ref.labelSets.size);
    // A rebuilt index (what a worker replica boots from) answers identically.
    const rebuilt = SelectorIndex.fromDump(structuredClone(index.dump()));
    for (let i = 0; i < 300; i++) {
      const partition = pick(partitions);
      const labels = randomLabels(rand);
      const selector = compileSelector(randomSelector(rand));
      assert.deepEqual(rebuilt.selectorsMatching(partition, labels), index.selectorsMatching(partition, labels));
      assert.deepEqual(rebuilt.labelSetsMatching(partition, selector), index.labelSetsMatching(partition, selector));
    }
  });

  it('never matches across partitions', () => {
    const index = new SelectorIndex();
    index.upsertSelector('all-a', 'a', compileSelector({}));
    index.upsertSelector('prod-b', 'b', compileSelector({ matchLabels: { env: 'prod' } }));
    index.upsertLabels('c1', 'a', { env: 'prod' });
    assert.deepEqual(index.selectorsMatching('a', { env: 'prod' }), ['all-a']);
    assert.deepEqual(index.selectorsMatching('b', { env: 'prod' }), ['prod-b']);
    assert.deepEqual(index.labelSetsMatching('b', compileSelector({})), []);
    assert.deepEqual(index.labelSetsMatching('a', compileSelector({})), ['c1']);
    assert.deepEqual(index.selectorsMatching('missing', { env: 'prod' }), []);
  });

  it('moves an id between partitions on upsert', () => {
    const index = new SelectorIndex();
    index.upsertLabels('c1', 'a', { env: 'prod' });
    index.upsertLabels('c1', 'b', { env: 'prod' });
    assert.deepEqual(index.labelSetsMatching('a', compileSelector({})), []);
    assert.deepEqual(index.labelSetsMatching('b', compileSelector({})), ['c1']);
    assert.deepEqual(index.partitions(), ['b']);
  });

  it('reports no-op upserts so callers can skip broadcasting them', () => {
    const index = new SelectorIndex();
    assert.equal(index.upsertSelector('s', 'p', compileSelector({ matchLabels: { a: '1', b: '2' } })), true);
    assert.equal(index.upsertSelector('s', 'p', compileSelector({ matchLabels: { b: '2', a: '1' } })), false);
    assert.equal(index.upsertSelector('s', 'q', compileSelector({ matchLabels: { b: '2', a: '1' } })), true);
    assert.equal(index.upsertLabels('c', 'p', { a: '1' }), true);
    assert.equal(index.upsertLabels('c', 'p', { a: '1' }), false);
    assert.equal(index.upsertLabels('c', 'p', { a: '2' }), true);
    assert.equal(index.removeLabels('c'), true);
    assert.equal(index.removeLabels('c'), false);
  });

  it('copies label maps so later caller mutation does not corrupt the index', () => {
    const index = new SelectorIndex();
    const labels: Record<string, string> = { env: 'prod' };
    index.upsertLabels('c1', 'p', labels);
    labels.env = 'dev';
    assert.deepEqual(index.labelSetsMatching('p', compileSelector({ matchLabels: { env: 'prod' } })), ['c1']);
    assert.throws(() => index.upsertLabels('c2', 'p', { env: 1 } as unknown as Labels), TypeError);
  });

  it('answers the fan-out query for a relabel, a create and a delete', () => {
    const index = new SelectorIndex();
    const add = (id: string, s: LabelSelector | null) => index.upsertSelector(id, 'p', compileSelector(s));
    add('prod', { matchLabels: { env: 'prod' } });
    add('not-prod', { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] });
    add('gpu', { matchExpressions: [{ key: 'gpu', operator: 'Exists' }] });
    add('all', {});
    add('none', null);
    const before = { env: 'dev', region: 'eu' };
    const after = { env: 'prod', region: 'eu' };
    assert.deepEqual(index.selectorsChangedBetween('p', before, after), ['not-prod', 'prod']);
    assert.deepEqual(index.selectorsChangedBetween('p', before, { ...before, team: 'x' }), []);
    assert.deepEqual(index.selectorsChangedBetween('p', null, after), ['all', 'prod']);
    assert.deepEqual(index.selectorsChangedBetween('p', before, null), ['all', 'not-prod']);
    assert.deepEqual(index.selectorsChangedBetween('p', null, null), []);
    assert.ok(index.costOfSelectorsChangedBetween('p', before, after) >= 2);
  });

  it('costs reflect the candidates the inverted index evaluates', () => {
    const index = new SelectorIndex();
    for (let i = 0; i < 100; i++) index.upsertSelector(`s${i}`, 'p', compileSelector({ matchLabels: { app: `a${i}` } }));
    index.upsertSelector('neg', 'p', compileSelector({ matchExpressions: [{ key: 'x', operator: 'DoesNotExist' }] }));
    // One anchored candidate plus the scanned negative-only selector, not 101.
    assert.equal(index.costOfSelectorsMatching('p', { app: 'a7' }), 2);
    assert.deepEqual(index.selectorsMatching('p', { app: 'a7' }), ['neg', 's7']);
    for (let i = 0; i < 50; i++) index.upsertLabels(`c${i}`, 'p', { app: `a${i % 5}` });
    assert.equal(index.costOfLabelSetsMatching('p', compileSelector({ matchLabels: { app: 'a1' } })), 10);
    assert.equal(index.costOfLabelSetsMatching('p', compileSelector({ matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['a1'] }] })), 50);
  });
});
