import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { contentNameFor } from '../../../src/api/content-name.ts';
import { Label } from '../../../src/api/constants.ts';
import { builtinTypes } from '../../../src/runtime/kube/resource.ts';
import type { Lease } from '../../../src/runtime/leader-election.ts';
import { T, listAll, reportLoggedProblems, startPlacementEnv, type FlotillaProcess, type Obj, type PlacementEnv } from '../../support/flotilla.ts';
import { checkOracle, createBundles, prepareWorkspace, waitForCompletedWrites, waitForOracle } from '../../support/fanout-world.ts';
import { reportRecovery, secondsSince } from '../../support/faults.ts';
import { waitFor } from '../../../src/util/wait.ts';

/**
 * Scenario 12: SIGTERM in the middle of a ~1,500-BundleDeployment fan-out.
 * The controller must stop taking work, let in-flight writes finish (or
 * abandon them safely), release its Lease and exit 0 within
 * `shutdown.timeoutSeconds`; what it wrote must be whole (every
 * BundleDeployment it left is one the oracle wants, correctly labelled and
 * pointing at the right Content); a successor must take the released Lease
 * at once (not after expiry) and converge to exactly the desired set.
 */

const ws = 'shutdown-fanout';
const CLUSTERS = 10;
const BUNDLES = 150;
const SHUTDOWN_TIMEOUT_S = 15;
// A long lease: a successor that leads before it could have expired proves the release.
const LEASE = { leaseDurationSeconds: 30, renewDeadlineSeconds: 20, retryPeriodSeconds: 1 };
const config = {
  leaderElection: { enabled: true, ...LEASE },
  shutdown: { timeoutSeconds: SHUTDOWN_TIMEOUT_S },
};

let env: PlacementEnv;
const procs: FlotillaProcess[] = [];

before(async () => {
  env = await startPlacementEnv();
  await prepareWorkspace(
    env,
    ws,
    Array.from({ length: CLUSTERS }, (_, i) => ({ name: `c${String(i).padStart(2, '0')}`, labels: { env: i % 2 === 0 ? 'prod' : 'dev' } })),
  );
  await createBundles(env.admin, ws, BUNDLES, (i) => `b${String(i).padStart(3, '0')}`, (i) =>
    i % 5 === 0 ? [{ clusterSelector: { matchLabels: { env: 'prod' } } }] : [{ clusterSelector: {} }],
  );
});

after(async () => {
  for (const p of procs) reportLoggedProblems(p, 10);
  await env?.stop();
});

test('SIGTERM mid fan-out: exit 0 within the timeout, lease released, nothing half-written, a successor converges', async () => {
  const { admin } = env;
  const before = await checkOracle(admin);
  assert.equal(before.existing, 0, 'nothing deployed yet');
  const desired = before.desired;
  console.log(`# fan-out: ${desired} BundleDeployments desired`);

  const victim = await env.startFlotilla({ name: 'flotilla-terminated', config: { ...config, leaderElection: { ...config.leaderElection, identity: 'replica-terminated' } } });
  procs.push(victim);
  await waitForCompletedWrites(victim, Math.floor(desired * 0.3));
  const signalledAt = Date.now();
  victim.kill('SIGTERM');
  const status = await victim.exited;
  const shutdownSeconds = secondsSince(signalledAt);
  assert.equal(status.signal, null, `exited by itself, not by a signal (${JSON.stringify(status)})`);
  assert.equal(status.code, 0, `exit code 0\n${victim.logTail(30)}`);
  // The process's own deadline, plus the time a Node process needs to exit; a
  // functional bound (the kubelet SIGKILLs after terminationGracePeriodSeconds), not a benchmark.
  assert.ok(shutdownSeconds <= SHUTDOWN_TIMEOUT_S + 3, `exited within shutdown.timeoutSeconds (${shutdownSeconds.toFixed(1)} s)`);
  const shutdownLine = victim.logs.find((l) => l.msg === 'shutdown started');
  assert.ok(shutdownLine, 'the shutdown was logged');
  const steps = victim.logs.filter((l) => typeof l.step === 'string').map((l) => String(l.step));
  console.log(`# SIGTERM -> exit 0 in ${shutdownSeconds.toFixed(2)} s; steps logged: ${[...new Set(steps)].join(', ')}`);

  // The Lease is released: no holder, so a standby need not wait for expiry.
  const lease = await admin.get<Lease>(builtinTypes.lease, 'flotilla-controller', 'flotilla-system');
  assert.equal(lease.spec?.holderIdentity ?? '', '', `lease released (holder ${JSON.stringify(lease.spec?.holderIdentity)})`);

  // Once released, the replica must not campaign again (it would re-take the empty lease).
  const election = victim.logs.filter((l) => l.component === 'leader-election').map((l) => String(l.msg));
  const afterRelease = election.slice(election.indexOf('stopped leading') + 1);
  assert.ok(election.includes('released lease'), `the release was logged: ${election.join(', ')}`);
  assert.deepEqual(afterRelease.filter((m) => m === 'campaigning for leadership' || m === 'became leader'), [], `no campaign after the release: ${election.join(', ')}`);

  // Nothing half-written: what exists is a subset of the desired set, each one whole.
  const atExit = await checkOracle(admin);
  console.log(`# at exit: ${atExit.existing}/${desired} BundleDeployments exist`);
  assert.ok(atExit.existing > 0 && atExit.existing < desired, `the signal landed mid fan-out (${atExit.existing}/${desired})`);
  assert.deepEqual(atExit.diff.unexpected, [], 'no BundleDeployment that should not exist');
  assert.deepEqual(atExit.diff.duplicates, [], 'no duplicates');
  assert.deepEqual(atExit.diff.malformed, [], 'no malformed BundleDeployments');
  const bundles = new Map((await listAll(admin, T.Bundle, { namespace: ws })).map((b) => [b.metadata.name ?? '', b]));
  for (const bd of await listAll(admin, T.BundleDeployment)) {
    const where = `${bd.metadata.namespace}/${bd.metadata.name}`;
    const bundle = bundles.get(bd.metadata.labels?.[Label.BundleName] ?? '') as Obj | undefined;
    assert.ok(bundle, `${where} belongs to a Bundle`);
    const resources = (bundle.spec?.resources ?? []) as Array<{ name: string; content: string }>;
    assert.equal(bd.spec?.contentName, contentNameFor(resources), `${where}: contentName`);
    assert.ok(typeof bd.spec?.deploymentID === 'string' && bd.spec.deploymentID !== '', `${where}: deploymentID set`);
    assert.equal(bd.metadata.deletionTimestamp, undefined, `${where}: not being deleted`);
  }

  // A successor takes over from the released Lease and finishes the fan-out.
  const successorStart = Date.now();
  const successor = await env.startFlotilla({ name: 'flotilla-successor', config: { ...config, leaderElection: { ...config.leaderElection, identity: 'replica-successor' } } });
  procs.push(successor);
  // /readyz does not depend on leadership: the Lease says who leads.
  await waitFor(
    async () => (await admin.get<Lease>(builtinTypes.lease, 'flotilla-controller', 'flotilla-system')).spec?.holderIdentity === 'replica-successor',
    { timeoutMs: 60_000, intervalMs: 100, description: 'the successor to hold the lease' },
  );
  const leadingAfter = secondsSince(successorStart);
  // Leading before the old lease could have expired is only possible because it was released.
  assert.ok(leadingAfter < LEASE.leaseDurationSeconds, `successor led after ${leadingAfter.toFixed(1)} s, before the ${LEASE.leaseDurationSeconds} s lease could expire`);
  const converged = await waitForOracle(admin, { timeoutMs: 180_000, description: 'the successor to converge to the oracle' });
  const recovery = secondsSince(successorStart);
  assert.equal(converged, desired);
  assert.equal(successor.isRunning(), true);

  reportRecovery({
    scenario: 12,
    name: 'graceful shutdown during fan-out',
    recoverySeconds: recovery,
    details: { shutdownSeconds, exitCode: status.code, leaseReleased: true, existingAtExit: atExit.existing, desired, successorLeadingSeconds: leadingAfter },
    summary: `SIGTERM -> exit 0 in ${shutdownSeconds.toFixed(1)} s, lease released, ${atExit.existing}/${desired} whole BundleDeployments at exit, 0 unexpected, successor led in ${leadingAfter.toFixed(1)} s and converged ${desired}/${desired}`,
  });
  assert.equal(await successor.stop(), 0);
});
