import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  canonicalSelector,
  compileSelector,
  compileTrustedSelector,
  EVERYTHING_CANONICAL,
  InvalidSelectorError,
  NOTHING_CANONICAL,
  selectorMatches,
  tryCompileSelector,
  validateLabelSelector,
  type LabelSelector,
  type Labels,
} from '../../../src/labels/selector.ts';
import { TerminalError } from '../../../src/runtime/errors.ts';

interface MatchCase {
  name: string;
  selector: LabelSelector | null | undefined;
  labels: Labels;
  want: boolean;
}

const env = (values: string[]) => ({ key: 'env', operator: 'In', values });

// Expected results follow k8s.io/apimachinery: LabelSelectorAsSelector + Requirement.Matches.
const matchCases: MatchCase[] = [
  { name: 'null selector matches nothing', selector: null, labels: { a: 'b' }, want: false },
  { name: 'undefined selector matches nothing', selector: undefined, labels: {}, want: false },
  { name: 'empty selector matches everything', selector: {}, labels: { a: 'b' }, want: true },
  { name: 'empty selector matches empty labels', selector: {}, labels: {}, want: true },
  { name: 'empty matchLabels and matchExpressions match everything', selector: { matchLabels: {}, matchExpressions: [] }, labels: { x: 'y' }, want: true },
  { name: 'null fields behave as empty', selector: { matchLabels: null, matchExpressions: null }, labels: {}, want: true },
  { name: 'matchLabels equal', selector: { matchLabels: { env: 'prod' } }, labels: { env: 'prod', x: '1' }, want: true },
  { name: 'matchLabels different value', selector: { matchLabels: { env: 'prod' } }, labels: { env: 'dev' }, want: false },
  { name: 'matchLabels key absent', selector: { matchLabels: { env: 'prod' } }, labels: { x: 'prod' }, want: false },
  { name: 'matchLabels all keys required', selector: { matchLabels: { env: 'prod', region: 'eu' } }, labels: { env: 'prod' }, want: false },
  { name: 'matchLabels several keys all present', selector: { matchLabels: { env: 'prod', region: 'eu' } }, labels: { env: 'prod', region: 'eu' }, want: true },
  { name: 'matchLabels empty value needs key present with empty value', selector: { matchLabels: { a: '' } }, labels: { a: '' }, want: true },
  { name: 'matchLabels empty value does not match absent key', selector: { matchLabels: { a: '' } }, labels: {}, want: false },
  { name: 'matchLabels is case sensitive', selector: { matchLabels: { env: 'Prod' } }, labels: { env: 'prod' }, want: false },
  { name: 'In value present', selector: { matchExpressions: [env(['prod', 'staging'])] }, labels: { env: 'staging' }, want: true },
  { name: 'In value not in set', selector: { matchExpressions: [env(['prod', 'staging'])] }, labels: { env: 'dev' }, want: false },
  { name: 'In key absent', selector: { matchExpressions: [env(['prod'])] }, labels: {}, want: false },
  { name: 'In with empty-string value matches empty label', selector: { matchExpressions: [{ key: 'a', operator: 'In', values: [''] }] }, labels: { a: '' }, want: true },
  { name: 'In with duplicate values', selector: { matchExpressions: [env(['prod', 'prod'])] }, labels: { env: 'prod' }, want: true },
  { name: 'NotIn key absent matches', selector: { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] }, labels: { x: 'y' }, want: true },
  { name: 'NotIn value in set', selector: { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod', 'dev'] }] }, labels: { env: 'dev' }, want: false },
  { name: 'NotIn value outside set', selector: { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod', 'dev'] }] }, labels: { env: 'qa' }, want: true },
  { name: 'NotIn on empty labels', selector: { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] }, labels: {}, want: true },
  { name: 'NotIn empty-string value excludes empty label', selector: { matchExpressions: [{ key: 'a', operator: 'NotIn', values: [''] }] }, labels: { a: '' }, want: false },
  { name: 'Exists key present', selector: { matchExpressions: [{ key: 'gpu', operator: 'Exists' }] }, labels: { gpu: 'true' }, want: true },
  { name: 'Exists key present with empty value', selector: { matchExpressions: [{ key: 'gpu', operator: 'Exists' }] }, labels: { gpu: '' }, want: true },
  { name: 'Exists key absent', selector: { matchExpressions: [{ key: 'gpu', operator: 'Exists' }] }, labels: {}, want: false },
  { name: 'Exists with empty values list is valid', selector: { matchExpressions: [{ key: 'gpu', operator: 'Exists', values: [] }] }, labels: { gpu: 'x' }, want: true },
  { name: 'DoesNotExist key absent', selector: { matchExpressions: [{ key: 'gpu', operator: 'DoesNotExist' }] }, labels: { a: 'b' }, want: true },
  { name: 'DoesNotExist key present', selector: { matchExpressions: [{ key: 'gpu', operator: 'DoesNotExist' }] }, labels: { gpu: '' }, want: false },
  { name: 'matchLabels AND expressions both hold', selector: { matchLabels: { env: 'prod' }, matchExpressions: [{ key: 'region', operator: 'In', values: ['eu', 'us'] }] }, labels: { env: 'prod', region: 'us' }, want: true },
  { name: 'matchLabels AND expressions: expression fails', selector: { matchLabels: { env: 'prod' }, matchExpressions: [{ key: 'region', operator: 'In', values: ['eu'] }] }, labels: { env: 'prod', region: 'us' }, want: false },
  { name: 'matchLabels AND expressions: label fails', selector: { matchLabels: { env: 'prod' }, matchExpressions: [{ key: 'region', operator: 'In', values: ['eu'] }] }, labels: { env: 'dev', region: 'eu' }, want: false },
  { name: 'empty matchLabels with expressions uses the expressions', selector: { matchLabels: {}, matchExpressions: [{ key: 'a', operator: 'DoesNotExist' }] }, labels: { a: '1' }, want: false },
  { name: 'duplicate keys are ANDed (contradiction)', selector: { matchExpressions: [env(['prod']), { key: 'env', operator: 'NotIn', values: ['prod'] }] }, labels: { env: 'prod' }, want: false },
  { name: 'duplicate keys are ANDed (narrowing)', selector: { matchExpressions: [env(['prod', 'dev']), { key: 'env', operator: 'NotIn', values: ['dev'] }] }, labels: { env: 'prod' }, want: true },
  { name: 'matchLabels and In on same key must agree', selector: { matchLabels: { env: 'prod' }, matchExpressions: [env(['dev'])] }, labels: { env: 'prod' }, want: false },
  { name: 'Exists and DoesNotExist on same key never match', selector: { matchExpressions: [{ key: 'a', operator: 'Exists' }, { key: 'a', operator: 'DoesNotExist' }] }, labels: { a: 'x' }, want: false },
  { name: 'prefixed key', selector: { matchLabels: { 'flotilla.dev/workspace': 'true' } }, labels: { 'flotilla.dev/workspace': 'true' }, want: true },
  { name: 'key named like an Object.prototype member, absent', selector: { matchExpressions: [{ key: 'constructor', operator: 'Exists' }] }, labels: {}, want: false },
  { name: 'key named like an Object.prototype member, DoesNotExist', selector: { matchExpressions: [{ key: 'toString', operator: 'DoesNotExist' }] }, labels: { a: 'b' }, want: true },
  { name: 'NotIn on prototype-named key absent', selector: { matchExpressions: [{ key: 'valueOf', operator: 'NotIn', values: ['x'] }] }, labels: {}, want: true },
  { name: 'prototype-named key present', selector: { matchLabels: { constructor: 'x' } }, labels: { constructor: 'x' }, want: true },
  { name: 'many requirements all satisfied', selector: { matchLabels: { a: '1', b: '2' }, matchExpressions: [{ key: 'c', operator: 'Exists' }, { key: 'd', operator: 'DoesNotExist' }, { key: 'e', operator: 'NotIn', values: ['x', 'y'] }, { key: 'f', operator: 'In', values: ['p', 'q', 'r'] }] }, labels: { a: '1', b: '2', c: '', e: 'z', f: 'q' }, want: true },
  { name: 'many requirements, last fails', selector: { matchLabels: { a: '1', b: '2' }, matchExpressions: [{ key: 'c', operator: 'Exists' }, { key: 'f', operator: 'In', values: ['p', 'q', 'r'] }] }, labels: { a: '1', b: '2', c: '', f: 's' }, want: false },
];

describe('label selector matching', () => {
  for (const c of matchCases) {
    it(c.name, () => {
      const compiled = compileSelector(c.selector);
      assert.equal(compiled.matches(c.labels), c.want);
      assert.equal(selectorMatches(c.selector, c.labels), c.want);
      // A selector shipped to a worker (normalised, trusted) must answer identically.
      assert.equal(compileTrustedSelector(compiled.toLabelSelector()).matches(c.labels), c.want);
    });
  }

  it('works on null-prototype label maps', () => {
    const labels = Object.assign(Object.create(null) as Record<string, string>, { env: 'prod' });
    assert.equal(compileSelector({ matchLabels: { env: 'prod' } }).matches(labels), true);
    assert.equal(compileSelector({ matchExpressions: [{ key: 'toString', operator: 'Exists' }] }).matches(labels), false);
  });

  it('classifies kinds', () => {
    assert.equal(compileSelector(null).kind, 'nothing');
    assert.equal(compileSelector({}).kind, 'everything');
    assert.equal(compileSelector({ matchLabels: { a: 'b' } }).kind, 'requirements');
  });
});

interface InvalidCase {
  name: string;
  selector: unknown;
  path: string;
  /** Expected `path` of each error, in order. */
  want: string[];
  /** A substring the first message must contain. */
  says: string;
}

const p = 'spec.targets[2].clusterSelector';
const invalidCases: InvalidCase[] = [
  { name: 'unknown operator', selector: { matchExpressions: [{ key: 'a', operator: 'Equals', values: ['b'] }] }, path: p, want: [`${p}.matchExpressions[0].operator`], says: 'Unsupported value: "Equals"' },
  { name: 'lower-case operator', selector: { matchExpressions: [{ key: 'a', operator: 'in', values: ['b'] }] }, path: p, want: [`${p}.matchExpressions[0].operator`], says: 'supported values: "In", "NotIn", "Exists", "DoesNotExist"' },
  { name: 'missing operator', selector: { matchExpressions: [{ key: 'a' }] }, path: p, want: [`${p}.matchExpressions[0].operator`], says: 'Required value' },
  { name: 'In without values', selector: { matchExpressions: [{ key: 'a', operator: 'In' }] }, path: p, want: [`${p}.matchExpressions[0].values`], says: "Required value: must be specified when `operator` is 'In' or 'NotIn'" },
  { name: 'NotIn with empty values', selector: { matchExpressions: [{ key: 'a', operator: 'NotIn', values: [] }] }, path: p, want: [`${p}.matchExpressions[0].values`], says: 'Required value' },
  { name: 'Exists with values', selector: { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }, path: p, want: [`${p}.matchExpressions[0].values`], says: "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'" },
  { name: 'DoesNotExist with values', selector: { matchExpressions: [{ key: 'a', operator: 'DoesNotExist', values: [''] }] }, path: p, want: [`${p}.matchExpressions[0].values`], says: 'Forbidden' },
  { name: 'invalid value in second expression', selector: { matchExpressions: [{ key: 'a', operator: 'Exists' }, { key: 'b', operator: 'In', values: ['ok', 'not ok'] }] }, path: p, want: [`${p}.matchExpressions[1].values[1]`], says: 'Invalid value: "not ok"' },
  { name: 'value too long', selector: { matchExpressions: [{ key: 'a', operator: 'In', values: ['x'.repeat(64)] }] }, path: p, want: [`${p}.matchExpressions[0].values[0]`], says: 'must be no more than 63 characters' },
  { name: 'value starting with dash', selector: { matchLabels: { a: '-x' } }, path: p, want: [`${p}.matchLabels[a]`], says: 'a valid label must be an empty string' },
  { name: 'key with space', selector: { matchLabels: { 'bad key': 'x' } }, path: p, want: [`${p}.matchLabels`], says: 'Invalid value: "bad key": name part must consist of' },
  { name: 'key name part too long', selector: { matchExpressions: [{ key: 'k'.repeat(64), operator: 'Exists' }] }, path: p, want: [`${p}.matchExpressions[0].key`], says: 'name part must be no more than 63 characters' },
  { name: 'key with empty prefix', selector: { matchExpressions: [{ key: '/name', operator: 'Exists' }] }, path: p, want: [`${p}.matchExpressions[0].key`], says: 'prefix part must be non-empty' },
  { name: 'key with upper-case prefix', selector: { matchExpressions: [{ key: 'Example.com/name', operator: 'Exists' }] }, path: p, want: [`${p}.matchExpressions[0].key`], says: 'prefix part a lowercase RFC 1123 subdomain' },
  { name: 'key with prefix too long', selector: { matchExpressions: [{ key: `${'a'.repeat(254)}/n`, operator: 'Exists' }] }, path: p, want: [`${p}.matchExpressions[0].key`], says: 'prefix part must be no more than 253 characters' },
  { name: 'key with two slashes', selector: { matchExpressions: [{ key: 'a/b/c', operator: 'Exists' }] }, path: p, want: [`${p}.matchExpressions[0].key`], says: "a qualified name must consist of" },
  { name: 'key with empty name after prefix', selector: { matchExpressions: [{ key: 'example.com/', operator: 'Exists' }] }, path: p, want: [`${p}.matchExpressions[0].key`, `${p}.matchExpressions[0].key`], says: 'name part must be non-empty' },
  { name: 'empty key', selector: { matchExpressions: [{ key: '', operator: 'Exists' }] }, path: p, want: [`${p}.matchExpressions[0].key`], says: 'Required value' },
  { name: 'errors accumulate across fields', selector: { matchLabels: { ok: 'fine', 'no/good/key': 'v' }, matchExpressions: [{ key: 'a', operator: 'Nope' }, { key: 'b', operator: 'In' }] }, path: p, want: [`${p}.matchLabels`, `${p}.matchExpressions[0].operator`, `${p}.matchExpressions[1].values`], says: 'no/good/key' },
  { name: 'matchLabels not a map', selector: { matchLabels: ['a'] }, path: p, want: [`${p}.matchLabels`], says: 'must be a map' },
  { name: 'matchLabels non-string value', selector: { matchLabels: { a: 1 } }, path: p, want: [`${p}.matchLabels[a]`], says: 'must be a string' },
  { name: 'matchExpressions not a list', selector: { matchExpressions: { key: 'a' } }, path: p, want: [`${p}.matchExpressions`], says: 'must be a list' },
  { name: 'values not a list', selector: { matchExpressions: [{ key: 'a', operator: 'In', values: 'x' }] }, path: p, want: [`${p}.matchExpressions[0].values`, `${p}.matchExpressions[0].values`], says: 'must be a list of strings' },
  { name: 'selector not an object', selector: 'env=prod', path: p, want: [p], says: 'must be an object' },
  { name: 'no path prefix', selector: { matchExpressions: [{ key: 'a', operator: 'In' }] }, path: '', want: ['matchExpressions[0].values'], says: 'matchExpressions[0].values: Required value' },
];

describe('label selector validation', () => {
  for (const c of invalidCases) {
    it(c.name, () => {
      const errors = validateLabelSelector(c.selector, c.path);
      assert.deepEqual(errors.map((e) => e.path), c.want);
      assert.ok(errors[0]?.message.includes(c.says), `message was: ${errors[0]?.message}`);
      assert.ok(errors[0]?.message.startsWith(c.want[0] === '' ? '' : `${c.want[0]}:`));
      const result = tryCompileSelector(c.selector as LabelSelector, { path: c.path });
      assert.equal(result.ok, false);
      assert.throws(
        () => compileSelector(c.selector as LabelSelector, { path: c.path }),
        (err: unknown) => err instanceof InvalidSelectorError && err instanceof TerminalError && err.reason === 'InvalidSelector' && err.errors.length === c.want.length,
      );
    });
  }

  const valid: Array<[string, LabelSelector | null]> = [
    ['null', null],
    ['empty', {}],
    ['empty label value', { matchLabels: { a: '' } }],
    ['63-char name and value', { matchLabels: { ['k'.repeat(63)]: 'v'.repeat(63) } }],
    ['dns prefix', { matchLabels: { 'sub.example.com/My_Name-1.x': 'A.b_c-1' } }],
    ['253-char prefix', { matchExpressions: [{ key: `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}/n`, operator: 'Exists' }] }],
    ['In with empty-string value', { matchExpressions: [{ key: 'a', operator: 'In', values: [''] }] }],
    ['DoesNotExist with null values', { matchExpressions: [{ key: 'a', operator: 'DoesNotExist', values: null }] }],
  ];
  for (const [name, selector] of valid) {
    it(`accepts ${name}`, () => {
      assert.deepEqual(validateLabelSelector(selector, 'spec'), []);
      assert.equal(tryCompileSelector(selector).ok, true);
    });
  }
});

describe('canonical selector string', () => {
  const equal: Array<[string, LabelSelector | null, LabelSelector | null]> = [
    ['matchLabels order', { matchLabels: { b: '2', a: '1' } }, { matchLabels: { a: '1', b: '2' } }],
    ['expression order', { matchExpressions: [{ key: 'b', operator: 'Exists' }, { key: 'a', operator: 'DoesNotExist' }] }, { matchExpressions: [{ key: 'a', operator: 'DoesNotExist' }, { key: 'b', operator: 'Exists' }] }],
    ['value order and duplicates', { matchExpressions: [env(['b', 'a', 'b'])] }, { matchExpressions: [env(['a', 'b'])] }],
    ['matchLabels vs In with one value', { matchLabels: { env: 'prod' } }, { matchExpressions: [env(['prod'])] }],
    ['duplicate requirement', { matchLabels: { env: 'prod' }, matchExpressions: [env(['prod'])] }, { matchLabels: { env: 'prod' } }],
    ['empty forms', { matchLabels: {}, matchExpressions: [] }, {}],
  ];
  for (const [name, a, b] of equal) {
    it(`equal: ${name}`, () => assert.equal(canonicalSelector(a), canonicalSelector(b)));
  }

  const different: Array<[string, LabelSelector | null, LabelSelector | null]> = [
    ['nothing vs everything', null, {}],
    ['In vs NotIn', { matchExpressions: [env(['a'])] }, { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['a'] }] }],
    ['Exists vs DoesNotExist', { matchExpressions: [{ key: 'a', operator: 'Exists' }] }, { matchExpressions: [{ key: 'a', operator: 'DoesNotExist' }] }],
    ['different value sets', { matchExpressions: [env(['a', 'b'])] }, { matchExpressions: [env(['a', 'c'])] }],
    ['empty value vs Exists', { matchLabels: { a: '' } }, { matchExpressions: [{ key: 'a', operator: 'Exists' }] }],
  ];
  for (const [name, a, b] of different) {
    it(`different: ${name}`, () => assert.notEqual(canonicalSelector(a), canonicalSelector(b)));
  }

  it('renders Kubernetes selector syntax', () => {
    const s = compileSelector({
      matchLabels: { env: 'prod' },
      matchExpressions: [
        { key: 'region', operator: 'In', values: ['us', 'eu'] },
        { key: 'tier', operator: 'NotIn', values: ['db', 'cache'] },
        { key: 'zone', operator: 'NotIn', values: ['z1'] },
        { key: 'gpu', operator: 'Exists' },
        { key: 'legacy', operator: 'DoesNotExist' },
      ],
    });
    assert.equal(s.canonical, 'env=prod,gpu,!legacy,region in (eu,us),tier notin (cache,db),zone!=z1');
    assert.equal(String(s), s.canonical);
    assert.equal(compileSelector({}).canonical, EVERYTHING_CANONICAL);
    assert.equal(compileSelector(null).canonical, NOTHING_CANONICAL);
  });

  it('round-trips through toLabelSelector', () => {
    const s = compileSelector({ matchLabels: { a: 'x' }, matchExpressions: [{ key: 'b', operator: 'NotIn', values: ['y', 'z'] }] });
    const back = compileSelector(s.toLabelSelector());
    assert.equal(back.canonical, s.canonical);
    assert.equal(compileSelector(compileSelector({}).toLabelSelector()).kind, 'everything');
    assert.equal(compileSelector(compileSelector(null).toLabelSelector()).kind, 'nothing');
  });
});
