import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { FORCED_GC_SIGNAL, installForcedGc } from '../../../src/observability/forced-gc.ts';
import { silentLogger } from '../../../src/observability/logger.ts';

test('without --expose-gc nothing is installed: the signal keeps its default meaning', () => {
  const listeners = process.listenerCount(FORCED_GC_SIGNAL);
  const r = installForcedGc(silentLogger, undefined);
  assert.equal(r.installed, false);
  assert.equal(process.listenerCount(FORCED_GC_SIGNAL), listeners);
});

test('with gc exposed, the signal runs two full collections', async () => {
  let calls = 0;
  const r = installForcedGc(silentLogger, () => calls++);
  try {
    assert.equal(r.installed, true);
    const delivered = once(process, FORCED_GC_SIGNAL);
    process.kill(process.pid, FORCED_GC_SIGNAL);
    await delivered;
    assert.equal(calls, 2);
  } finally {
    r.uninstall();
  }
});
