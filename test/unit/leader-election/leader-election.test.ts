import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRegistry } from '../../../src/observability/metrics.ts';
import { ManualClock } from '../../../src/runtime/actors/manual-clock.ts';
import { LeaderElector } from '../../../src/runtime/leader-election.ts';
import { runFor } from '../support/manual-time.ts';
import { InMemoryLeaseClient } from './in-memory-lease-client.ts';

const LEASE = 'flotilla-controller';

interface Candidate {
  elector: LeaderElector;
  /** Clock times at which leadership started and stopped. */
  started: number[];
  stopped: number[];
  stop(): Promise<void>;
}

function candidate(clock: ManualClock, client: InMemoryLeaseClient, identity: string): Candidate {
  const started: number[] = [];
  const stopped: number[] = [];
  const elector = new LeaderElector({
    client,
    namespace: 'flotilla-system',
    name: LEASE,
    identity,
    leaseDurationMs: 15_000,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
    registry: createRegistry({ defaultMetrics: false }),
    clock,
    random: () => 0,
    onStartedLeading: () => started.push(clock.now()),
    onStoppedLeading: () => stopped.push(clock.now()),
  });
  const halt = new AbortController();
  const running = elector.run(halt.signal);
  return {
    elector,
    started,
    stopped,
    stop: async () => {
      halt.abort();
      await running;
    },
  };
}

test('the leader renews every retry period and gives up exactly at the renew deadline when it cannot', async () => {
  const clock = new ManualClock(0);
  const client = new InMemoryLeaseClient();
  const leader = candidate(clock, client, 'a');
  await runFor(clock, 0);
  assert.deepEqual(leader.started, [0], 'an absent lease is created and taken at once');
  assert.equal(client.writes, 1);

  await runFor(clock, 6_000);
  assert.equal(client.writes, 4, 'renewed at 2, 4 and 6 s');
  assert.equal(client.lease(LEASE)?.spec?.holderIdentity, 'a');

  client.down = true;
  await runFor(clock, 9_999);
  assert.equal(leader.elector.isLeader(), true, 'still within the 10 s renew deadline of the last renewal at 6 s');
  await runFor(clock, 1);
  assert.deepEqual(leader.stopped, [16_000]);
  assert.equal(leader.elector.isLeader(), false);
  await leader.stop();
});

test('a standby takes over only a lease duration after it last saw the lease change', async () => {
  const clock = new ManualClock(0);
  const client = new InMemoryLeaseClient();
  client.put({ metadata: { name: LEASE, namespace: 'flotilla-system' }, spec: { holderIdentity: 'old', leaseDurationSeconds: 15, renewTime: 'r1' } });
  const standby = candidate(clock, client, 'b');

  // The old leader renews once at 4 s, then dies: expiry counts from 4 s as
  // the standby saw it (retrying every 2 s), not from the renewTime it wrote.
  await runFor(clock, 4_000);
  client.put({ ...client.lease(LEASE)!, spec: { holderIdentity: 'old', leaseDurationSeconds: 15, renewTime: 'r2' } });
  await runFor(clock, 15_000);
  assert.deepEqual(standby.started, [], 'seen changing at 6 s: still valid until 21 s');
  await runFor(clock, 4_000);
  assert.deepEqual(standby.started, [22_000], 'the first attempt after 21 s');
  assert.equal(client.lease(LEASE)?.spec?.holderIdentity, 'b');
  assert.equal(client.lease(LEASE)?.spec?.leaseTransitions, 1);
  await standby.stop();
});
