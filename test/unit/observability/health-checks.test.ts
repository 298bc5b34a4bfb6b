import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { formatReport, HealthChecks } from '../../../src/observability/health-checks.ts';

describe('HealthChecks', () => {
  it('passes when every check passes, in registration order', async () => {
    const checks = new HealthChecks();
    checks.add('a', () => true);
    checks.add('b', async () => ({ ok: true }));
    checks.add('c', () => undefined);
    const report = await checks.run();
    assert.equal(report.ok, true);
    assert.deepEqual(report.results.map((r) => r.name), ['a', 'b', 'c']);
  });

  it('fails with the reason a check gives, throws, or a timeout', async () => {
    const checks = new HealthChecks({ timeoutMs: 30 });
    checks.add('reason', () => ({ ok: false, reason: 'not synced' }));
    checks.add('throws', () => {
      throw new Error('boom');
    });
    checks.add('hangs', () => new Promise(() => {}));
    checks.add('fine', () => true);
    const report = await checks.run();
    assert.equal(report.ok, false);
    assert.deepEqual(report.results, [
      { name: 'reason', ok: false, reason: 'not synced' },
      { name: 'throws', ok: false, reason: 'boom' },
      { name: 'hangs', ok: false, reason: 'timed out after 30 ms' },
      { name: 'fine', ok: true },
    ]);
  });

  it('supports pushed state checks, exclusion and removal', async () => {
    const checks = new HealthChecks();
    checks.set('informer-sync:Bundle', false, 'waiting for the initial list');
    checks.add('leader-election', () => true);
    assert.equal((await checks.run()).ok, false);
    assert.equal((await checks.run({ exclude: new Set(['informer-sync:Bundle']) })).ok, true);
    checks.set('informer-sync:Bundle', true);
    assert.equal((await checks.run()).ok, true);
    assert.equal(checks.remove('informer-sync:Bundle'), true);
    assert.deepEqual(checks.names(), ['leader-election']);
  });

  it('rejects duplicate and malformed names', () => {
    const checks = new HealthChecks();
    const remove = checks.add('x', () => true);
    assert.throws(() => checks.add('x', () => true), /already registered/);
    assert.throws(() => checks.add('has space', () => true), /invalid health check name/);
    remove();
    assert.equal(checks.has('x'), false);
  });

  it('formats like kube-apiserver', () => {
    const failing = { ok: false, results: [{ name: 'a', ok: true }, { name: 'b', ok: false, reason: 'down' }] };
    assert.equal(formatReport('readyz', failing, false), '[+]a ok\n[-]b failed: down\nreadyz check failed\n');
    assert.equal(formatReport('readyz', { ok: true, results: [{ name: 'a', ok: true }] }, false), 'ok\n');
    assert.equal(formatReport('readyz', { ok: true, results: [{ name: 'a', ok: true }] }, true), '[+]a ok\nreadyz check passed\n');
  });
});
