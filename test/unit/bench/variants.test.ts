import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nestOverrides, parseVariant, systemKind, systemSpec } from '../../../bench/systems/index.ts';

test('a variant is a name and dotted config paths with JSON or plain values', () => {
  assert.deepEqual(parseVariant('http1:api.transport=http1'), { name: 'http1', overrides: { 'api.transport': 'http1' } });
  assert.deepEqual(parseVariant('inline:concurrency.poolThreads=0, concurrency.adaptive=false'), {
    name: 'inline',
    overrides: { 'concurrency.poolThreads': 0, 'concurrency.adaptive': false },
  });
  assert.deepEqual(nestOverrides({ 'concurrency.poolThreads': 0, 'concurrency.adaptive': false, 'api.qps': 5 }), {
    concurrency: { poolThreads: 0, adaptive: false },
    api: { qps: 5 },
  });
});

test('a malformed variant is refused with what was expected', () => {
  assert.throws(() => parseVariant('api.transport=http1'), /expected NAME:path=value/);
  assert.throws(() => parseVariant('direct:api.qps=1'), /built-in system/);
  assert.throws(() => parseVariant('x:api..qps=1'), /is not path=value/);
  assert.throws(() => parseVariant('x:=1'), /is not path=value/);
});

test('a variant runs as flotilla with its overrides in the reported settings', () => {
  const run = { concurrency: 8, qps: 0, burst: 10, variants: { slow: { 'api.qps': 5 } } };
  assert.equal(systemKind('slow', run), 'flotilla');
  assert.equal(systemKind('direct', run), 'direct');
  assert.throws(() => systemKind('nope', run), /unknown system/);
  const spec = systemSpec('slow', run);
  assert.equal(spec.name, 'slow');
  assert.equal(spec.kind, 'flotilla');
  assert.equal(spec.settings['api.qps'], '5');
});
