import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { requestSignal } from '../../../src/runtime/kube/request-signal.ts';

test('the request aborts on its own timeout, and says it was the timeout', async () => {
  const r = requestSignal(20);
  assert.equal(r.signal.aborted, false);
  await sleep(60);
  assert.equal(r.signal.aborted, true);
  assert.equal(r.timedOut(), true);
  assert.equal((r.signal.reason as DOMException).name, 'TimeoutError');
  r.dispose();
});

test("the caller's abort reaches the request, with the caller's reason; it is not a timeout", () => {
  const caller = new AbortController();
  const r = requestSignal(10_000, caller.signal);
  caller.abort(new Error('shutting down'));
  assert.equal(r.signal.aborted, true);
  assert.equal((r.signal.reason as Error).message, 'shutting down');
  assert.equal(r.timedOut(), false);
  r.dispose();
  const already = requestSignal(10_000, caller.signal);
  assert.equal(already.signal.aborted, true, 'a caller already aborted aborts at once');
  already.dispose();
});

test('a finished request leaves nothing behind: no timer fires, no listener stays on the caller', async () => {
  const caller = new AbortController();
  const requests = Array.from({ length: 100 }, () => requestSignal(30, caller.signal));
  assert.equal(getEventListeners(caller.signal, 'abort').length, 100);
  for (const r of requests) r.dispose();
  assert.equal(getEventListeners(caller.signal, 'abort').length, 0, 'a long-lived caller signal does not collect dependents');
  await sleep(80);
  assert.ok(requests.every((r) => !r.signal.aborted && !r.timedOut()), 'cleared timers never fire');
});
