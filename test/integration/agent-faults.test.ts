import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { startAgentWorld, type AgentWorld, type RegisteredAgent } from '../support/agent-world.ts';
import { bundleObject, conditionOf, T, type Obj } from '../support/flotilla.ts';
import { waitFor } from '../support/kube.ts';
import { PatchType } from '../../src/runtime/kube/api-types.ts';
import { builtinTypes, type KubeObject } from '../../src/runtime/kube/resource.ts';

/**
 * The agent under faults, with real processes and real API servers: killed
 * mid-apply, its downstream API server down for 30 s, the management API
 * server down for 30 s. Each recovery time is reported as a test diagnostic.
 */

const PART_OF = 'applyset.kubernetes.io/part-of';
const OUTAGE_MS = 30_000;
const CONFIGMAP = (name: string, value = 'v') => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  key: ${value}\n`;

interface BdStatus { appliedDeploymentID?: string; ready?: boolean }
const deploymentIdOf = (bd: Obj | undefined) => (bd?.spec as { deploymentID?: string } | undefined)?.deploymentID;
const readyAtCurrent = (bd: Obj | undefined) => {
  const s = (bd?.status ?? {}) as BdStatus;
  return s.ready === true && s.appliedDeploymentID === deploymentIdOf(bd);
};

describe('agent under faults', { timeout: 900_000 }, () => {
  let world: AgentWorld;
  let agent: RegisteredAgent;

  const admin = () => world.env.admin;
  const members = async () =>
    (await agent.downstream.client.list<KubeObject>(builtinTypes.configMap, { labelSelector: PART_OF })).items;
  const waitReady = (bundle: string, timeoutMs: number) =>
    waitFor(async () => {
      const bd = await admin().get<Obj>(T.BundleDeployment, bundle, agent.namespace).catch(() => undefined);
      return readyAtCurrent(bd) ? bd : undefined;
    }, { timeoutMs, description: `BundleDeployment ${bundle} ready` });
  const createBundle = (name: string, resources: Array<{ name: string; content: string }>) =>
    admin().create(T.Bundle, bundleObject(world.workspace, name, [{ clusterSelector: { matchLabels: { fault: 'yes' } } }], resources));

  before(async () => {
    world = await startAgentWorld({ downstreams: 1 });
    agent = await world.addCluster('faulty', 0, { fault: 'yes' });
  });
  after(async () => {
    await world?.stop();
  });

  it('kill -9 mid-apply: the restarted agent converges, nothing orphaned, nothing written twice', async (t) => {
    // A slow downstream client makes "mid-apply" a wide window: 80 ConfigMaps at 20 requests/s.
    const slow = { agent: { downstreamQps: 20, downstreamBurst: 1 } };
    await world.startAgent(agent, slow);
    const count = 80;
    await createBundle('big', [{ name: 'cms.yaml', content: Array.from({ length: count }, (_, i) => CONFIGMAP(`big-${i}`)).join('---\n') }]);
    const partial = await waitFor(async () => {
      const n = (await members()).filter((m) => m.metadata.name?.startsWith('big-')).length;
      return n >= 10 ? n : undefined;
    }, { timeoutMs: 60_000, intervalMs: 20, description: 'some of the ConfigMaps applied' });
    agent.process!.kill('SIGKILL');
    await agent.process!.exited;
    const before = new Map((await members()).map((m) => [m.metadata.name ?? '', m.metadata.resourceVersion]));
    assert.ok(before.size < count, `killed mid-apply (${partial}…${before.size} of ${count} applied)`);

    const restarted = performance.now();
    await world.startAgent(agent, slow);
    await waitReady('big', 120_000);
    const recoveryS = (performance.now() - restarted) / 1000;
    t.diagnostic(`kill -9 at ${before.size}/${count} applied: converged ${recoveryS.toFixed(1)} s after the restart`);

    const after = await members();
    const names = after.map((m) => m.metadata.name ?? '').sort();
    assert.deepEqual(names, Array.from({ length: count }, (_, i) => `big-${i}`).sort(), 'exactly the Bundle\'s ConfigMaps, nothing orphaned');
    for (const m of after) {
      const earlier = before.get(m.metadata.name ?? '');
      if (earlier !== undefined) assert.equal(m.metadata.resourceVersion, earlier, `${m.metadata.name} was not written again (idempotent apply)`);
    }
    const parents = (await agent.downstream.client.list<KubeObject>(builtinTypes.configMap, { namespace: 'flotilla-system', labelSelector: 'applyset.kubernetes.io/id' })).items;
    assert.deepEqual(parents.map((p) => p.metadata.name), ['bd-big'], 'one ApplySet parent, for the one BundleDeployment');
  });

  it('downstream API server down for 30 s: the agent keeps running and catches up', async (t) => {
    if (!agent.process?.isRunning()) await world.startAgent(agent);
    const proc = agent.process!;
    await agent.downstream.cp.stopApiServer();
    const outageStart = performance.now();
    await createBundle('during-downstream-outage', [{ name: 'cm.yaml', content: CONFIGMAP('dd-cm') }]);
    await admin().patch(T.Bundle, 'big', world.workspace, { spec: { resources: [{ name: 'cms.yaml', content: CONFIGMAP('big-0', 'changed') }] } }, { contentType: PatchType.merge });
    while (performance.now() - outageStart < OUTAGE_MS) {
      assert.ok(proc.isRunning(), 'the agent never exits on a transient API error');
      const health = await fetch(`${proc.healthUrl}/healthz`);
      assert.equal(health.status, 200, 'liveness does not depend on the API server');
      await delay(2000);
    }
    await agent.downstream.cp.startApiServer();
    const back = performance.now();
    await waitReady('during-downstream-outage', 120_000);
    await waitReady('big', 120_000);
    t.diagnostic(`downstream API server down ${(OUTAGE_MS / 1000).toFixed(0)} s: both changes applied ${((performance.now() - back) / 1000).toFixed(1)} s after it was back`);
    const names = (await members()).map((m) => m.metadata.name).sort();
    assert.deepEqual(names, ['big-0', 'dd-cm'], 'the shrunken Bundle pruned, the new one applied');
    assert.ok(proc.isRunning());
  });

  it('management API server down for 30 s: the agent keeps running and catches up', async (t) => {
    const proc = agent.process!;
    const { cp } = world.env;
    // Drift made during the outage is reported once the agent can write status again.
    await cp.stopApiServer();
    const outageStart = performance.now();
    await agent.downstream.client.delete(builtinTypes.configMap, 'dd-cm', 'default');
    while (performance.now() - outageStart < OUTAGE_MS) {
      assert.ok(proc.isRunning(), 'the agent never exits on a transient API error');
      assert.equal((await fetch(`${proc.healthUrl}/healthz`)).status, 200);
      await delay(2000);
    }
    await cp.startApiServer();
    const back = performance.now();
    let last: Obj | undefined;
    const drifted = await waitFor(async () => {
      last = await admin().get<Obj>(T.BundleDeployment, 'during-downstream-outage', agent.namespace).catch(() => last);
      return (last?.status as { nonModified?: boolean } | undefined)?.nonModified === false ? last : undefined;
    }, { timeoutMs: 120_000, description: 'the deletion reported as modified' }).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\nstatus: ${JSON.stringify(last?.status)}\n--- agent ---\n${proc.logTail(80)}`, { cause: error });
    });
    const reportedS = (performance.now() - back) / 1000;
    assert.match(JSON.stringify(drifted.status), /missing/);
    await createBundle('after-management-outage', [{ name: 'cm.yaml', content: CONFIGMAP('am-cm') }]);
    const created = performance.now();
    await waitReady('after-management-outage', 120_000);
    const appliedS = (performance.now() - created) / 1000;
    await waitFor(async () => {
      const cluster = await admin().get<Obj>(T.Cluster, agent.cluster, world.workspace);
      return conditionOf(cluster, 'AgentConnected')?.status === 'True' ? true : undefined;
    }, { timeoutMs: 60_000, description: 'AgentConnected=True again' });
    const connectedS = (performance.now() - back) / 1000;
    t.diagnostic(
      `management API server down ${(OUTAGE_MS / 1000).toFixed(0)} s: drift reported ${reportedS.toFixed(1)} s after it was back, ` +
        `a new Bundle applied ${appliedS.toFixed(1)} s after its creation, AgentConnected=True ${connectedS.toFixed(1)} s after it was back`,
    );
    assert.ok(proc.isRunning());
  });
});
