import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventLoopMonitor } from '../../../src/observability/event-loop-monitor.ts';
import { waitFor } from './test-helpers.ts';

/** Blocks the event loop: the condition under test, not a stand-in for waiting. */
function blockEventLoop(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy
  }
}

describe('EventLoopMonitor', () => {
  it('is healthy while the loop runs freely', async (t) => {
    const monitor = new EventLoopMonitor({ stallThresholdMs: 200, intervalMs: 10 }).start();
    t.after(() => monitor.stop());
    assert.equal(monitor.running, true);
    // Let several heartbeats run; a freely running loop never drifts anywhere near 200 ms.
    await waitFor(() => monitor.beats >= 5, 'a few heartbeats');
    assert.deepEqual(monitor.check(), { ok: true });
    assert.ok(monitor.maxDelayMs < 200, `drift ${monitor.maxDelayMs} ms`);
  });

  it('reports a stall at or above the threshold, then recovers', async (t) => {
    const monitor = new EventLoopMonitor({ stallThresholdMs: 150, intervalMs: 10 }).start();
    t.after(() => monitor.stop());
    blockEventLoop(250);
    // Right after the block, before the heartbeat had a chance to run: overdue.
    const immediate = monitor.check();
    assert.equal(immediate.ok, false);
    assert.match(immediate.reason ?? '', /heartbeat overdue|blocked for/);
    // Once the heartbeat ran, the stall is remembered for one threshold period.
    const beatsBefore = monitor.beats;
    await waitFor(() => monitor.beats > beatsBefore, 'the heartbeat to record the stall');
    assert.ok(monitor.maxDelayMs >= 150, `recorded drift ${monitor.maxDelayMs} ms`);
    const after = monitor.check();
    assert.equal(after.ok, false);
    assert.match(after.reason ?? '', /event loop was blocked for \d+ ms/);
    await waitFor(() => monitor.check().ok, 'recovery after the threshold period', 5_000);
  });

  it('does not fail liveness when it was never started', () => {
    assert.deepEqual(new EventLoopMonitor().check(), { ok: true });
  });
});
