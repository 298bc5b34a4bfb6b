import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FORCED_GC_SIGNAL, installForcedGc } from '../../../src/observability/forced-gc.ts';
import { silentLogger } from '../../../src/observability/logger.ts';

test('without --expose-gc nothing is installed: the signal keeps its default meaning', () => {
  const listeners = process.listenerCount(FORCED_GC_SIGNAL);
  const r = installForcedGc(silentLogger, undefined);
  assert.equal(r.installed, false);
  assert.equal(process.listenerCount(FORCED_GC_SIGNAL), listeners);
});

test('with gc exposed, the signal runs two full collections', () => {
  let calls = 0;
  const r = installForcedGc(silentLogger, () => calls++);
  try {
    assert.equal(r.installed, true);
    // The handler as the signal would run it (a real SIGUSR2 would also make a test runner with
    // --report-on-signal write a diagnostic report).
    const handler = process.listeners(FORCED_GC_SIGNAL).at(-1) as () => void;
    handler();
    assert.equal(calls, 2);
    r.uninstall();
    assert.equal(process.listeners(FORCED_GC_SIGNAL).includes(handler), false, 'uninstall removes it');
  } finally {
    r.uninstall();
  }
});
