import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { builtinTypes } from '../../../src/runtime/kube/resource.ts';
import type { Lease } from '../../../src/runtime/leader-election.ts';
import { waitFor } from '../../../src/util/wait.ts';
import { reportLoggedProblems, startPlacementEnv, type FlotillaProcess, type PlacementEnv } from '../../support/flotilla.ts';
import {
  bundleDeploymentWrites,
  checkOracle,
  completedBundleDeploymentWrites,
  createBundles,
  prepareWorkspace,
  waitForCompletedWrites,
  waitForOracle,
} from '../../support/fanout-world.ts';
import { reportRecovery, secondsSince } from '../../support/faults.ts';

/**
 * Scenario 9: two replicas with leader election; the leader is killed with
 * SIGKILL in the middle of a ~2,000-BundleDeployment fan-out (no release: the
 * standby has to wait for the lease to expire). The standby must take over
 * within the lease duration, finish the work to exactly the oracle's set,
 * and not redo the leader's work: its writes are the ones still missing,
 * plus at most the writes that were in flight when the leader died.
 */

const ws = 'failover';
const CLUSTERS = 16;
const BUNDLES = 130;
const MAX_RECONCILES = 8;
// bundle-controller.ts WRITE_PARALLELISM: BundleDeployment writes one Bundle reconcile keeps in flight.
const WRITES_PER_RECONCILE = 16;
// Short, but with a renew deadline a loaded 2-core machine can meet while the
// leader runs a fan-out (at 2 s the leader occasionally stepped down on its own).
const LEASE = { leaseDurationSeconds: 4, renewDeadlineSeconds: 3, retryPeriodSeconds: 0.5 };
const LEASE_NAME = 'flotilla-controller';

let env: PlacementEnv;
const procs: FlotillaProcess[] = [];

const replicaConfig = (identity: string) => ({
  leaderElection: { enabled: true, identity, ...LEASE },
  concurrency: { maxConcurrentReconciles: MAX_RECONCILES },
});

before(async () => {
  env = await startPlacementEnv();
  await prepareWorkspace(
    env,
    ws,
    Array.from({ length: CLUSTERS }, (_, i) => ({ name: `c${String(i).padStart(2, '0')}`, labels: { zone: `z${i % 4}` } })),
  );
  await createBundles(env.admin, ws, BUNDLES, (i) => `b${String(i).padStart(3, '0')}`, (i) =>
    i % 4 === 0 ? [{ clusterSelector: { matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['z0'] }] } }] : [{ clusterSelector: {} }],
  );
});

after(async () => {
  for (const p of procs) reportLoggedProblems(p, 10);
  await env?.stop();
});

async function holder(): Promise<string> {
  try {
    const lease = await env.admin.get<Lease>(builtinTypes.lease, LEASE_NAME, 'flotilla-system');
    return lease.spec?.holderIdentity ?? '';
  } catch {
    return '';
  }
}

test('SIGKILL the leader mid fan-out: the standby takes over, converges, and writes only what was missing', async () => {
  const { admin } = env;
  const initial = await checkOracle(admin);
  assert.equal(initial.existing, 0);
  const desired = initial.desired;
  console.log(`# fan-out: ${desired} BundleDeployments desired`);

  const [a, b] = await Promise.all([
    env.startFlotilla({ name: 'flotilla-a', config: replicaConfig('replica-a') }),
    env.startFlotilla({ name: 'flotilla-b', config: replicaConfig('replica-b') }),
  ]);
  procs.push(a, b);
  const leaderId = await waitFor(async () => ((await holder()) || undefined), { timeoutMs: 60_000, intervalMs: 100, description: 'a leader' });
  const [leader, standby] = leaderId === 'replica-a' ? [a, b] : [b, a];
  console.log(`# leader ${leaderId} (${leader.name}), standby ${standby.name}`);

  // The standby's caches are synced while it waits; it writes nothing.
  await waitFor(async () => standby.logs.some((l) => l.msg === 'caches synced'), { timeoutMs: 60_000, description: 'standby caches synced' });
  const lastScrape = await waitForCompletedWrites(leader, Math.floor(desired * 0.35));
  const holderAtKill = await holder();
  leader.kill('SIGKILL');
  const killedAt = Date.now();
  const status = await leader.exited;
  assert.equal(status.signal, 'SIGKILL');
  assert.equal(holderAtKill, leaderId, 'the replica killed was still the leader');
  const leaderSent = bundleDeploymentWrites(lastScrape);
  const leaderInFlight = lastScrape.sum('flotilla_api_requests_in_flight');
  const standbyBefore = await standby.metrics();
  assert.equal(bundleDeploymentWrites(standbyBefore), 0, 'the standby wrote nothing while it was standby');
  assert.equal(standbyBefore.sum('leader_election_master_status'), 0, 'the standby was not leading');
  const existingAfterKill = (await checkOracle(admin)).existing;
  console.log(`# killed the leader after ${leaderSent} BundleDeployment writes sent (${completedBundleDeploymentWrites(lastScrape)} completed, ${leaderInFlight} requests in flight at the last scrape); ${existingAfterKill}/${desired} exist`);
  assert.ok(existingAfterKill > 0 && existingAfterKill < desired, `killed mid fan-out (${existingAfterKill}/${desired})`);

  // /readyz does not depend on leadership (a synced standby is ready, as in
  // controller-runtime): the Lease says who leads.
  const standbyId = leaderId === 'replica-a' ? 'replica-b' : 'replica-a';
  await waitFor(async () => (await holder()) === standbyId, { timeoutMs: 60_000, intervalMs: 100, description: 'the standby to hold the lease' });
  const tookOverSeconds = secondsSince(killedAt);
  // Lease expiry as the standby observed it, two jittered retry periods, and slack for a loaded machine.
  assert.ok(tookOverSeconds <= LEASE.leaseDurationSeconds + 2 * 2.2 * LEASE.retryPeriodSeconds + 5, `took over within the lease duration (${tookOverSeconds.toFixed(1)} s)`);
  await waitFor(async () => (await standby.metrics()).sum('leader_election_master_status') === 1, { timeoutMs: 10_000, intervalMs: 100, description: 'the standby to report leading' });
  const lease = await admin.get<Lease>(builtinTypes.lease, LEASE_NAME, 'flotilla-system');
  assert.ok((lease.spec?.leaseTransitions ?? 0) >= 1, 'a lease transition was recorded');

  const converged = await waitForOracle(admin, { timeoutMs: 180_000, description: 'the new leader to converge to the oracle' });
  const recoverySeconds = secondsSince(killedAt);
  assert.equal(converged, desired);
  const final = await standby.waitForIdle({ description: 'the new leader to go idle' });
  const survivorWrites = bundleDeploymentWrites(final);

  // Write accounting. The minimum over both replicas is `desired` (each
  // BundleDeployment created once). The survivor needs `desired -
  // existingAfterKill` (what was missing when the leader died); anything more
  // is a BundleDeployment the leader had already written whose watch event the
  // survivor had not yet seen: a write that was in flight at the kill. At most
  // MAX_RECONCILES Bundle reconciles run at once, each with at most
  // WRITES_PER_RECONCILE writes in flight, which bounds those duplicates. The
  // combined figure is rougher: the leader's counter (incremented as a write
  // is sent) is from its last scrape, so it misses writes sent after it and
  // includes writes that were in flight at the kill and never landed; both
  // are in-flight writes, within the same bound. The survivor's figure is exact.
  const survivorDuplicates = survivorWrites - (desired - existingAfterKill);
  const combinedDuplicates = leaderSent + survivorWrites - desired;
  const inFlightBound = MAX_RECONCILES * WRITES_PER_RECONCILE;
  console.log(
    `# writes: leader ${leaderSent} (last scrape) + survivor ${survivorWrites} = ${leaderSent + survivorWrites} for ${desired} desired; survivor needed ${desired - existingAfterKill}, duplicates ${survivorDuplicates} (survivor), ${combinedDuplicates} (combined); in-flight bound ${inFlightBound}`,
  );
  assert.ok(survivorDuplicates >= 0, `the survivor wrote at least what was missing (${survivorWrites} < ${desired - existingAfterKill})`);
  assert.ok(survivorDuplicates <= inFlightBound, `duplicates (${survivorDuplicates}) within the in-flight bound (${inFlightBound})`);
  assert.ok(combinedDuplicates <= inFlightBound, `combined duplicates (${combinedDuplicates}) within the in-flight bound (${inFlightBound})`);

  // Quiet afterwards: the new leader does not keep rewriting.
  const quiet = await standby.waitForIdle({ stableMs: 3000, description: 'still idle' });
  assert.equal(bundleDeploymentWrites(quiet), survivorWrites, 'no further writes once converged');

  reportRecovery({
    scenario: 9,
    name: 'leader failover mid fan-out',
    recoverySeconds,
    details: { tookOverSeconds, leaseDurationSeconds: LEASE.leaseDurationSeconds, desired, existingAfterKill, leaderWrites: leaderSent, survivorWrites, survivorDuplicates, combinedDuplicates },
    summary: `standby led ${tookOverSeconds.toFixed(1)} s after the kill (lease ${LEASE.leaseDurationSeconds} s), ${desired}/${desired} converged; writes: leader ${leaderSent} + survivor ${survivorWrites} for ${desired} desired, ${Math.max(0, survivorDuplicates)} duplicates`,
  });
  assert.equal(await standby.stop(), 0);
});
