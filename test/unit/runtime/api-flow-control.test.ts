import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AdaptiveLimit } from '../../../src/runtime/actors/adaptive-limit.ts';
import { ManualClock } from '../../../src/runtime/actors/index.ts';
import { ApiFlowControl } from '../../../src/runtime/api-flow-control.ts';
import { runIsolated } from '../../../src/runtime/isolation.ts';
import type { RequestSpec } from '../../../src/runtime/kube/api-types.ts';
import { quiesce } from '../actors/support.ts';

const write: RequestSpec = { verb: 'apply', method: 'PATCH', path: '/x', resource: 'bundledeployments.flotilla.dev' };
const asReconcile = <T>(fn: () => T): T => runIsolated({ controller: 'bundle', key: 'ws/b' }, fn);

test('flow control: a 429 lowers the limit, successes and other answers do not', () => {
  const clock = new ManualClock(1_000);
  const limit = new AdaptiveLimit({ max: 8, clock });
  const flow = new ApiFlowControl(limit);
  flow.observe({ verb: 'apply', resource: 'bundledeployments.flotilla.dev', status: 200, startedAt: 990, latencyMs: 10 });
  flow.observe({ verb: 'apply', resource: 'bundledeployments.flotilla.dev', status: 409, startedAt: 990, latencyMs: 10 });
  flow.observe({ verb: 'get', resource: 'bundles.flotilla.dev', status: 504, startedAt: 990, latencyMs: 60_000 });
  assert.equal(limit.limit, 8);
  flow.observe({ verb: 'list', resource: 'bundles.flotilla.dev', status: 429, startedAt: 995, latencyMs: 1 });
  assert.equal(limit.limit, 4, 'a rejected LIST of a reflector is news about the same budget');
});

test('flow control: requests of reconciles are held to the limit, the runtime\'s own never are', async () => {
  const clock = new ManualClock(1_000);
  const limit = new AdaptiveLimit({ max: 2, clock });
  const flow = new ApiFlowControl(limit);

  assert.equal(flow.admit(write), undefined, 'outside a reconcile (reflector, lease): sent at once');

  const first = await asReconcile(() => flow.admit(write));
  const second = await asReconcile(() => flow.admit(write));
  assert.equal(flow.inFlight, 2);
  let thirdAdmitted = false;
  const third = asReconcile(() => flow.admit(write))!.then((release) => {
    thirdAdmitted = true;
    return release;
  });
  await quiesce();
  assert.equal(thirdAdmitted, false, 'a third request of reconciles waits while 2 are on the wire');
  assert.equal(flow.admit(write), undefined, 'the runtime\'s own request still goes at once');

  // Throttled: the limit halves to 1; releasing one of two leaves the third waiting.
  limit.throttled(clock.now());
  first!();
  await quiesce();
  assert.equal(thirdAdmitted, false);
  second!();
  const release = await third;
  assert.equal(flow.inFlight, 1);
  release();

  // A request whose caller gives up while it waits is withdrawn.
  const hold = await asReconcile(() => flow.admit(write));
  const aborter = new AbortController();
  const waiting = asReconcile(() => flow.admit({ ...write, signal: aborter.signal }));
  aborter.abort(new Error('reconcile aborted'));
  await assert.rejects(waiting!, /reconcile aborted/);
  hold!();
  assert.equal(flow.inFlight, 0);
});

test('flow control: with adaptation off, nothing is held', () => {
  const limit = new AdaptiveLimit({ max: 1, enabled: false, clock: new ManualClock() });
  const flow = new ApiFlowControl(limit);
  assert.equal(asReconcile(() => flow.admit(write)), undefined);
  assert.equal(asReconcile(() => flow.admit(write)), undefined);
});
