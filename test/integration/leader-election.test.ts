import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeConfig } from '@kubernetes/client-node';
import { startControlPlane, type ControlPlane } from '../../src/controlplane/harness.ts';
import { KubeClient } from '../../src/runtime/kube/client.ts';
import { builtinTypes } from '../../src/runtime/kube/resource.ts';
import { LeaderElector, type Lease } from '../../src/runtime/leader-election.ts';
import { createRegistry } from '../../src/observability/metrics.ts';
import { waitFor } from '../../src/util/wait.ts';

let cp: ControlPlane;
const ns = 'flotilla-system';
const timings = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 };

function client(): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromFile(cp.adminKubeconfig);
  return new KubeClient({ kubeConfig: kc, registry: createRegistry({ defaultMetrics: false }) });
}

/** Every candidate's loop, stopped in `after` even when a test fails midway. */
const running: AbortController[] = [];

function candidate(identity: string, leaseName: string, t: typeof timings = timings) {
  const events: string[] = [];
  const observed: string[] = [];
  const stop = new AbortController();
  const elector = new LeaderElector({
    client: client(),
    namespace: ns,
    name: leaseName,
    identity,
    ...t,
    registry: createRegistry({ defaultMetrics: false }),
    onStartedLeading: () => events.push('started'),
    onStoppedLeading: () => events.push('stopped'),
    onNewLeader: (leader) => observed.push(leader),
  });
  running.push(stop);
  const loop = elector.run(stop.signal);
  return { elector, events, observed, stop, running: loop };
}

before(async () => {
  cp = await startControlPlane({ controllerManager: false });
  await client().create(builtinTypes.namespace, { metadata: { name: ns } });
});

after(async () => {
  for (const stop of running) stop.abort();
  await cp?.stop();
});

test('exactly one of two candidates leads; the other takes over within the lease duration when the leader dies', async () => {
  const a = candidate('replica-a', 'crash-lease');
  await waitFor(() => a.elector.isLeader(), { timeoutMs: 10_000, description: 'a leads' });
  const b = candidate('replica-b', 'crash-lease');
  // b must observe a's lease and stay standby through several renewals.
  const standbyUntil = Date.now() + 2 * timings.leaseDurationMs;
  while (Date.now() < standbyUntil) {
    assert.equal(b.elector.isLeader(), false, 'standby never leads while the leader renews');
    assert.equal(a.elector.isLeader(), true);
    await new Promise((r) => setTimeout(r, 100));
  }
  // "Kill" a: stop its loop without releasing, as a crashed process would.
  a.stop.abort();
  await a.running;
  const killedAt = Date.now();
  await waitFor(() => b.elector.isLeader(), { timeoutMs: 3 * timings.leaseDurationMs, description: 'b takes over' });
  const takeoverMs = Date.now() - killedAt;
  console.log(`# leader failover after crash: ${takeoverMs} ms (lease ${timings.leaseDurationMs} ms)`);
  // Lease expiry as the standby observed it, plus at most two jittered retry
  // periods, plus slack for a loaded machine.
  assert.ok(takeoverMs <= timings.leaseDurationMs + 2 * timings.retryPeriodMs * 2.2 + 3000, `took ${takeoverMs} ms`);
  const lease = await client().get<Lease>(builtinTypes.lease, 'crash-lease', ns);
  assert.equal(lease.spec?.holderIdentity, 'replica-b');
  assert.equal(lease.spec?.leaseTransitions, 1);
  b.stop.abort();
  await b.running;
});

test('release hands the lease over at once and fires onStoppedLeading', async () => {
  // A long lease, so that "taken over after release" and "taken over after
  // expiry" cannot be confused even on a loaded machine.
  const long = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 1000 };
  const a = candidate('replica-a', 'release-lease', long);
  await waitFor(() => a.elector.isLeader(), { timeoutMs: 10_000, description: 'a leads' });
  const b = candidate('replica-b', 'release-lease', long);
  await waitFor(() => b.observed.includes('replica-a'), { timeoutMs: 10_000, description: 'b sees a leading' });
  const releasedAt = Date.now();
  await a.elector.release();
  a.stop.abort();
  await a.running;
  assert.deepEqual(a.events, ['started', 'stopped']);
  await waitFor(() => b.elector.isLeader(), { timeoutMs: 10_000, description: 'b takes over after release' });
  const handoverMs = Date.now() - releasedAt;
  console.log(`# leader handover after release: ${handoverMs} ms`);
  assert.ok(handoverMs < long.leaseDurationMs, `release should beat lease expiry, took ${handoverMs} ms`);
  b.stop.abort();
  await b.running;
});

test('release is final: the elector does not campaign again and re-take the lease it gave up', async () => {
  // Regression: after release() the run loop, woken by the loss of
  // leadership, campaigned at once and could re-acquire the now-empty lease
  // during shutdown, so a successor had to wait for it to expire.
  const a = candidate('replica-a', 'final-release-lease');
  await waitFor(() => a.elector.isLeader(), { timeoutMs: 10_000, description: 'a leads' });
  let returned = false;
  void a.running.then(() => (returned = true));
  await a.elector.release();
  await waitFor(() => returned, { timeoutMs: 2 * timings.retryPeriodMs + 5000, description: 'run() returns after release without an abort' });
  assert.equal(a.stop.signal.aborted, false, 'the loop ended by itself');
  assert.equal(a.elector.isLeader(), false);
  assert.deepEqual(a.events, ['started', 'stopped']);
  const lease = await client().get<Lease>(builtinTypes.lease, 'final-release-lease', ns);
  assert.equal(lease.spec?.holderIdentity, '', 'the lease stays released');
});

test('a leader that cannot renew within the deadline stops leading', async () => {
  const a = candidate('replica-a', 'stall-lease');
  await waitFor(() => a.elector.isLeader(), { timeoutMs: 10_000, description: 'a leads' });
  await cp.stopApiServer();
  try {
    await waitFor(() => !a.elector.isLeader(), { timeoutMs: timings.renewDeadlineMs + 5000, description: 'a steps down' });
    assert.deepEqual(a.events, ['started', 'stopped']);
  } finally {
    await cp.startApiServer();
  }
  await waitFor(() => a.elector.isLeader(), { timeoutMs: 20_000, description: 'a campaigns again and leads' });
  a.stop.abort();
  await a.running;
});
