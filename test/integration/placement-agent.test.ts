/**
 * The controller side of the agent, against a real control plane with the
 * controller running as its RBAC-bound user:
 * - rollout safety: `rolloutStrategy.maxUnavailable: 1` over 3 Clusters
 *   moves one BundleDeployment to a new deployment ID at a time, each after
 *   its agent (simulated) reports it ready;
 * - heartbeats: a Lease `flotilla-agent` in the deployment namespace, as the
 *   agent writes it, makes the Cluster `AgentConnected` True; renewals write
 *   no Cluster status and reconcile no Bundle; when renewals stop, it turns
 *   False once the Lease expires;
 * - Normal Events: the end of the held rollout (RolledOut) and each agent
 *   transition (AgentConnected, AgentDisconnected) once, none per renewal.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as pace } from 'node:timers/promises';
import { Label } from '../../src/api/constants.ts';
import { builtinTypes, microTime } from '../../src/runtime/kube/resource.ts';
import { waitFor } from '../../src/util/wait.ts';
import {
  SAMPLE_CONFIGMAP,
  T,
  bundleObject,
  clusterObject,
  conditionOf,
  createWorkspace,
  listAll,
  reportLoggedProblems,
  startPlacementEnv,
  waitForConvergence,
  type FlotillaProcess,
  type Obj,
  type PlacementEnv,
} from '../support/flotilla.ts';
import { AgentSimulator } from '../support/agent-simulator.ts';
import { delta } from '../support/metrics.ts';

const ws = 'agent';
const CLUSTERS = ['c1', 'c2', 'c3'];
let env: PlacementEnv;
let flotilla: FlotillaProcess;
let agent: AgentSimulator;

before(async () => {
  env = await startPlacementEnv();
  agent = new AgentSimulator(env.admin);
  await createWorkspace(env.admin, ws);
  for (const c of CLUSTERS) await env.admin.create(T.Cluster, clusterObject(ws, c));
  await env.admin.create(T.Bundle, bundleObject(ws, 'web', [{ clusterSelector: {} }], undefined, { rolloutStrategy: { maxUnavailable: 1 } }));
  flotilla = await env.startFlotilla();
  await flotilla.waitForReady();
});

after(async () => {
  if (flotilla) reportLoggedProblems(flotilla);
  await env?.stop();
});

const webDeployments = () => listAll(env.admin, T.BundleDeployment, { labelSelector: `${Label.BundleName}=web` });
const clusterOf = (bd: Obj) => bd.metadata.labels?.[Label.ClusterName] ?? '';

test('maxUnavailable 1 over 3 clusters: one BundleDeployment moves to the new deployment ID at a time', async () => {
  await waitForConvergence(async () => ((await webDeployments()).length === 3 ? [] : ['waiting for 3 BundleDeployments']), { description: 'BundleDeployments created' });
  await agent.reportAll({ labelSelector: `${Label.BundleName}=web` }, 'ready');
  const oldID = (await webDeployments())[0]!.spec?.deploymentID as string;

  await env.admin.patch(T.Bundle, 'web', ws, { spec: { resources: [{ name: 'cm.yaml', content: SAMPLE_CONFIGMAP('web-cm', { version: '2' }) }] } });
  const held = await waitFor(
    async () => {
      const b = await env.admin.get<Obj>(T.Bundle, 'web', ws);
      const rollout = conditionOf(b, 'Rollout');
      return rollout?.status === 'False' && rollout.reason === 'MaxUnavailable' ? rollout : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 200, description: 'the Bundle reports its rollout held by maxUnavailable' },
  );
  assert.match(held.message ?? '', /^1 of 3 clusters updated; waiting for 1 not-ready clusters/);
  await flotilla.waitForIdle({ description: 'controller idle with the rollout held' });
  const moved = (await webDeployments()).filter((bd) => bd.spec?.deploymentID !== oldID);
  assert.equal(moved.length, 1, 'only one BundleDeployment got the new deployment ID');
  const first = moved[0]!;

  // Its agent reports it ready: the next one moves (and only it).
  await agent.report(first, 'ready');
  await waitForConvergence(
    async () => {
      const now = (await webDeployments()).filter((bd) => bd.spec?.deploymentID !== oldID).map(clusterOf);
      return now.length === 2 ? [] : [`${now.length} moved: ${now.join(', ')}`];
    },
    { timeoutMs: 30_000, description: 'a second BundleDeployment moves after the first reports ready' },
  );
  await flotilla.waitForIdle();
  assert.equal((await webDeployments()).filter((bd) => bd.spec?.deploymentID !== oldID).length, 2, 'and no third while the second is not ready');

  // Everyone reports ready as they move: the rollout completes.
  await waitForConvergence(
    async () => {
      const bds = await webDeployments();
      for (const bd of bds) if (bd.spec?.deploymentID !== oldID && (bd.status?.appliedDeploymentID !== bd.spec?.deploymentID)) await agent.report(bd, 'ready');
      const b = await env.admin.get<Obj>(T.Bundle, 'web', ws);
      const rollout = conditionOf(b, 'Rollout');
      const left = bds.filter((bd) => bd.spec?.deploymentID === oldID).length;
      return left === 0 && rollout?.status === 'True' ? [] : [`${left} not moved; Rollout ${JSON.stringify(rollout)}`];
    },
    { timeoutMs: 60_000, description: 'the rollout completes' },
  );
  // The end of the held rollout is announced, once.
  const rolledOut = await waitFor(async () => {
    const found = (await normalEvents()).filter((e) => e.regarding?.kind === 'Bundle' && e.regarding.name === 'web' && e.reason === 'RolledOut');
    return found.length > 0 ? found : undefined;
  }, { timeoutMs: 15_000, intervalMs: 200, description: 'a Normal RolledOut Event about Bundle web' });
  assert.equal(rolledOut.length, 1);
});

interface EventObj extends Obj {
  type?: string;
  reason?: string;
  note?: string;
  regarding?: { kind?: string; name?: string };
}

const normalEvents = async () => (await listAll<EventObj>(env.admin, builtinTypes.event, { namespace: ws })).filter((e) => e.type === 'Normal');

test('agent heartbeat: AgentConnected True while the Lease is renewed (renewals write nothing, reconcile no Bundle), False once it expires', async () => {
  const c1 = await env.admin.get<Obj>(T.Cluster, 'c1', ws);
  assert.deepEqual([conditionOf(c1, 'AgentConnected')?.status, conditionOf(c1, 'AgentConnected')?.reason], ['Unknown', 'NoAgent']);
  const namespace = c1.status?.namespace as string;
  const leaseDurationSeconds = 4;
  const lease = (renewTime: number) => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'flotilla-agent', namespace },
    spec: { holderIdentity: 'agent-test', leaseDurationSeconds, acquireTime: microTime(renewTime), renewTime: microTime(renewTime) },
  });
  await env.admin.create(builtinTypes.lease, lease(Date.now()));
  const agentConnected = async () => conditionOf(await env.admin.get<Obj>(T.Cluster, 'c1', ws), 'AgentConnected');
  await waitFor(async () => (await agentConnected())?.status === 'True', { timeoutMs: 15_000, intervalMs: 100, description: 'AgentConnected True' });
  assert.equal((await agentConnected())?.reason, 'Heartbeat');
  const labelsBefore = c1.metadata.labels;

  const before = await flotilla.waitForIdle({ description: 'idle before the renewals', stableMs: 1000 });
  const renewals = 8;
  for (let i = 0; i < renewals; i++) {
    await pace(1000); // the agent's renew period, scaled down with the lease duration
    await env.admin.patch(builtinTypes.lease, 'flotilla-agent', namespace, { spec: { renewTime: microTime(Date.now()) } });
  }
  const afterRenewals = await flotilla.metrics();
  assert.equal((await agentConnected())?.status, 'True', 'still connected');
  assert.equal(delta(before, afterRenewals, 'flotilla_writes_total', { kind: 'Cluster' }), 0, `${renewals} renewals wrote no Cluster status`);
  assert.equal(delta(before, afterRenewals, 'controller_runtime_reconcile_total', { controller: 'bundle' }), 0, `${renewals} renewals reconciled no Bundle`);
  console.log(`# ${renewals} renewals: ${delta(before, afterRenewals, 'controller_runtime_reconcile_total', { controller: 'cluster' })} Cluster reconciles, 0 writes`);

  // The agent stops renewing: False within leaseDuration + a few seconds.
  const lastRenewal = Date.now();
  const expired = await waitFor(
    async () => {
      const c = await agentConnected();
      return c?.status === 'False' ? c : undefined;
    },
    { timeoutMs: leaseDurationSeconds * 1000 + 5000, intervalMs: 100, description: 'AgentConnected False after the Lease expires' },
  );
  const noticedAfterMs = Date.now() - lastRenewal;
  assert.equal(expired.reason, 'HeartbeatExpired');
  assert.match(expired.message ?? '', /last renewed its heartbeat at/);
  console.log(`# expiry noticed ${noticedAfterMs} ms after the last renewal (leaseDurationSeconds ${leaseDurationSeconds})`);
  await flotilla.waitForIdle({ stableMs: 1000 });
  const end = await flotilla.metrics();
  assert.equal(delta(before, end, 'controller_runtime_reconcile_total', { controller: 'bundle' }), 0, 'the transition reconciled no Bundle either');
  // One Normal Event per transition, none for the renewals.
  const announced = await waitFor(async () => {
    const found = (await normalEvents()).filter((e) => e.regarding?.kind === 'Cluster' && e.regarding.name === 'c1').map((e) => e.reason);
    return found.includes('AgentDisconnected') ? found : undefined;
  }, { timeoutMs: 15_000, intervalMs: 200, description: 'a Normal AgentDisconnected Event about Cluster c1' });
  assert.deepEqual(announced.sort(), ['AgentConnected', 'AgentDisconnected']);
  const c1After = await env.admin.get<Obj>(T.Cluster, 'c1', ws);
  assert.deepEqual(c1After.metadata.labels, labelsBefore, 'labels untouched');
  assert.equal(c1After.metadata.generation, c1.metadata.generation, 'generation untouched');
});
