import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startAgentWorld, type AgentWorld, type RegisteredAgent } from '../support/agent-world.ts';
import { bundleObject, conditionOf, T, type Obj } from '../support/flotilla.ts';
import { waitFor } from '../support/kube.ts';
import { PatchType } from '../../src/runtime/kube/api-types.ts';
import { builtinTypes, type KubeObject } from '../../src/runtime/kube/resource.ts';

/**
 * The agent end to end: one management control plane running the
 * controller, two downstream control planes, agents registered as
 * `flotilla cluster add` registers them, each a separate process.
 */

const CONFIGMAP = (name: string, value: string, namespace?: string) =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${namespace ? `  namespace: ${namespace}\n` : ''}data:\n  key: ${value}\n`;
const DEPLOYMENT = (name: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: 1
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec:
      containers: [{ name: app, image: registry.k8s.io/pause:3.10 }]
`;
const PART_OF = 'applyset.kubernetes.io/part-of';
const SERVICE = { group: '', version: 'v1', kind: 'Service', plural: 'services', namespaced: true };

interface BdStatus {
  appliedDeploymentID?: string;
  ready?: boolean;
  nonModified?: boolean;
  nonReadyResources?: Array<{ kind: string; name: string; message?: string }>;
  modifiedResources?: Array<{ kind: string; name: string; message?: string }>;
}
const statusOf = (bd: Obj | undefined) => (bd?.status ?? {}) as BdStatus;
const deploymentIdOf = (bd: Obj | undefined) => (bd?.spec as { deploymentID?: string } | undefined)?.deploymentID;

describe('agent: deploys Bundles onto real downstream clusters and reports their state', { timeout: 900_000 }, () => {
  let world: AgentWorld;
  let east: RegisteredAgent;
  let west: RegisteredAgent;

  const admin = () => world.env.admin;
  const getBd = (agent: RegisteredAgent, bundle: string) => admin().get<Obj>(T.BundleDeployment, bundle, agent.namespace).catch(() => undefined);
  const downstreamCm = (agent: RegisteredAgent, name: string, namespace = 'default') =>
    agent.downstream.client.get<KubeObject & { data?: Record<string, string> }>(builtinTypes.configMap, name, namespace).catch(() => undefined);
  /** Waits until the BundleDeployment's status (for its current spec) satisfies `pred`. */
  const waitBd = (agent: RegisteredAgent, bundle: string, pred: (s: BdStatus, bd: Obj) => boolean, description: string, timeoutMs = 60_000) =>
    waitFor(async () => {
      const bd = await getBd(agent, bundle);
      return bd && pred(statusOf(bd), bd) ? bd : undefined;
    }, { timeoutMs, description });
  const readyAtCurrent = (s: BdStatus, bd: Obj) => s.ready === true && s.appliedDeploymentID === deploymentIdOf(bd);
  const createBundle = (name: string, resources: Array<{ name: string; content: string }>, extraSpec: Record<string, unknown> = {}, selector: Record<string, string> = { app: name }) =>
    admin().create(T.Bundle, bundleObject(world.workspace, name, [{ clusterSelector: { matchLabels: selector } }], resources, extraSpec));
  const patchBundle = (name: string, spec: Record<string, unknown>) =>
    admin().patch(T.Bundle, name, world.workspace, { spec }, { contentType: PatchType.merge });
  const statusWrites = async (agent: RegisteredAgent) => (await agent.process!.metrics()).sum('flotilla_agent_status_writes_total');

  before(async () => {
    world = await startAgentWorld({ downstreams: 2 });
    // Every Bundle below selects the clusters by its own label, so each test sets up its own targets.
    const labels = { web: 'yes', bad: 'yes', drift: 'yes', frozen: 'yes', keep: 'yes', gone: 'yes', churn: 'yes', roll: 'yes' };
    east = await world.addCluster('east', 0, { region: 'east', ...Object.fromEntries(Object.keys(labels).map((k) => [`app-${k}`, 'yes'])) });
    west = await world.addCluster('west', 1, { region: 'west', 'app-roll': 'yes' });
    await Promise.all([world.startAgent(east), world.startAgent(west)]);
  });
  after(async () => {
    await world?.stop();
  });

  it('reports the agent as connected on its Cluster', async () => {
    for (const agent of [east, west]) {
      await waitFor(async () => {
        const cluster = await admin().get<Obj>(T.Cluster, agent.cluster, world.workspace);
        return conditionOf(cluster, 'AgentConnected')?.status === 'True' ? cluster : undefined;
      }, { timeoutMs: 30_000, description: `Cluster ${agent.cluster} AgentConnected=True` });
    }
  });

  it('applies a Bundle, reports it ready, and updates it when its content changes', async () => {
    await createBundle('web', [
      { name: 'ns.yaml', content: 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n' },
      { name: 'cm.yaml', content: CONFIGMAP('web-config', 'one', 'web') },
      { name: 'svc.yaml', content: 'apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: web\nspec:\n  ports: [{ port: 80, targetPort: 8080 }]\n' },
    ], {}, { 'app-web': 'yes' });
    const bd = await waitBd(east, 'web', readyAtCurrent, 'web ready on east');
    assert.equal(conditionOf(bd, 'Applied')?.status, 'True');
    assert.equal(conditionOf(bd, 'Monitored')?.status, 'True');
    assert.equal((await downstreamCm(east, 'web-config', 'web'))?.data?.key, 'one');
    assert.equal(await getBd(west, 'web'), undefined, 'west is not targeted');

    await patchBundle('web', { resources: [
      { name: 'ns.yaml', content: 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n' },
      { name: 'cm.yaml', content: CONFIGMAP('web-config', 'two', 'web') },
      { name: 'svc.yaml', content: 'apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: web\nspec:\n  ports: [{ port: 80, targetPort: 8080 }]\n' },
    ] });
    const updated = await waitBd(east, 'web', (s, b) => readyAtCurrent(s, b) && deploymentIdOf(b) !== deploymentIdOf(bd), 'web updated on east');
    assert.notEqual(deploymentIdOf(updated), deploymentIdOf(bd));
    assert.equal((await downstreamCm(east, 'web-config', 'web'))?.data?.key, 'two');
    // The Bundle's summary tells the same story.
    const bundle = await waitFor(async () => {
      const b = await admin().get<Obj>(T.Bundle, 'web', world.workspace);
      return conditionOf(b, 'Ready')?.status === 'True' ? b : undefined;
    }, { timeoutMs: 30_000, description: 'Bundle web Ready' });
    assert.equal((bundle.status as { summary?: { ready?: number } }).summary?.ready, 1);
  });

  it('prunes a resource removed from the Bundle, and nothing else', async () => {
    await patchBundle('web', { resources: [
      { name: 'ns.yaml', content: 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n' },
      { name: 'cm.yaml', content: CONFIGMAP('web-config', 'two', 'web') },
    ] });
    await waitFor(async () => ((await east.downstream.client.get(SERVICE, 'web', 'web').catch(() => undefined)) ? undefined : true), {
      timeoutMs: 60_000,
      description: 'the Service pruned downstream',
    });
    await waitBd(east, 'web', readyAtCurrent, 'web ready after the prune');
    assert.ok(await downstreamCm(east, 'web-config', 'web'), 'the ConfigMap stays');
  });

  it('reports invalid manifests by name with the API message, while the rest of the Bundle is applied', async () => {
    await createBundle('bad', [
      { name: 'good.yaml', content: CONFIGMAP('bad-good', 'ok') },
      { name: 'widget.yaml', content: 'apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n' },
      { name: 'invalid.yaml', content: CONFIGMAP('Not_A_Valid_Name', 'x') },
    ], {}, { 'app-bad': 'yes' });
    const bd = await waitBd(east, 'bad', (s) => (s.nonReadyResources ?? []).length >= 2, 'bad reported');
    assert.ok(await downstreamCm(east, 'bad-good'), 'the valid ConfigMap is applied');
    const applied = conditionOf(bd, 'Applied');
    assert.equal(applied?.status, 'False');
    assert.equal(applied?.reason, 'ApplyFailed');
    const byName = new Map((statusOf(bd).nonReadyResources ?? []).map((r) => [r.name, r.message ?? '']));
    assert.match(byName.get('w') ?? '', /widget\.yaml: .*Widget/);
    assert.match(byName.get('Not_A_Valid_Name') ?? '', /invalid\.yaml: .*(invalid|RFC 1123)/i);
    assert.equal(statusOf(bd).ready, false);
    // And as an Event on the BundleDeployment.
    await waitFor(async () => {
      const events = await admin().list<KubeObject & { reason?: string; regarding?: { name?: string } }>(builtinTypes.event, { namespace: east.namespace });
      return events.items.some((e) => e.reason === 'ApplyFailed' && e.regarding?.name === 'bad') ? true : undefined;
    }, { timeoutMs: 30_000, description: 'an ApplyFailed Event' });
  });

  it('applies custom resources whose CRD arrives later, from another Bundle', async () => {
    const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: { plural: gadgets, singular: gadget, kind: Gadget }
  versions:
    - name: v1
      served: true
      storage: true
      schema: { openAPIV3Schema: { type: object, x-kubernetes-preserve-unknown-fields: true } }
`;
    await createBundle('gadgets', [{ name: 'gadget.yaml', content: 'apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: g1\nspec:\n  size: 3\n' }], {}, { 'app-bad': 'yes' });
    const pending = await waitBd(east, 'gadgets', (s) => (s.nonReadyResources ?? []).some((r) => r.name === 'g1'), 'the unknown kind reported');
    assert.equal(conditionOf(pending, 'Applied')?.status, 'False');
    await createBundle('gadget-crd', [{ name: 'crd.yaml', content: crd }], {}, { 'app-bad': 'yes' });
    await waitBd(east, 'gadget-crd', readyAtCurrent, 'the CRD applied and established');
    await waitBd(east, 'gadgets', readyAtCurrent, 'the custom resource applied once its kind exists');
  });

  it('reports drift within seconds, and corrects it when the Bundle asks for it', async () => {
    await createBundle('drift', [{ name: 'cm.yaml', content: CONFIGMAP('drift-cm', 'desired') }], {}, { 'app-drift': 'yes' });
    await waitBd(east, 'drift', readyAtCurrent, 'drift ready');
    const down = east.downstream.client;
    await down.patch(builtinTypes.configMap, 'drift-cm', 'default', { data: { key: 'edited by hand' } }, { contentType: PatchType.merge, fieldManager: 'kubectl-edit' });
    const drifted = await waitBd(east, 'drift', (s) => s.nonModified === false, 'drift reported', 15_000);
    assert.match(statusOf(drifted).modifiedResources?.[0]?.message ?? '', /data\.key/);
    assert.equal((await downstreamCm(east, 'drift-cm'))?.data?.key, 'edited by hand', 'without correctDrift the edit stays');

    await patchBundle('drift', { options: { correctDrift: { enabled: true } } });
    await waitBd(east, 'drift', (s, bd) => readyAtCurrent(s, bd) && s.nonModified === true, 'drift corrected');
    assert.equal((await downstreamCm(east, 'drift-cm'))?.data?.key, 'desired');

    await down.delete(builtinTypes.configMap, 'drift-cm', 'default');
    await waitFor(async () => ((await downstreamCm(east, 'drift-cm'))?.data?.key === 'desired' ? true : undefined), {
      timeoutMs: 15_000,
      description: 'a deleted resource recreated (correctDrift)',
    });
  });

  it('leaves a paused BundleDeployment as it is, and applies it once unpaused', async () => {
    await createBundle('frozen', [{ name: 'cm.yaml', content: CONFIGMAP('frozen-cm', 'v1') }], { paused: true }, { 'app-frozen': 'yes' });
    const bd = await waitBd(east, 'frozen', (s, b) => conditionOf(b, 'Applied')?.reason === 'Paused', 'the agent to report paused');
    assert.equal(statusOf(bd).appliedDeploymentID, undefined);
    assert.equal(await downstreamCm(east, 'frozen-cm'), undefined, 'nothing applied while paused');
    await patchBundle('frozen', { paused: false });
    await waitBd(east, 'frozen', readyAtCurrent, 'frozen applied after unpausing');
    assert.equal((await downstreamCm(east, 'frozen-cm'))?.data?.key, 'v1');
  });

  it('deletes the resources of a deleted BundleDeployment, unless keepResources', async () => {
    await createBundle('gone', [{ name: 'cm.yaml', content: CONFIGMAP('gone-cm', 'x') }], {}, { 'app-gone': 'yes' });
    await createBundle('keep', [{ name: 'cm.yaml', content: CONFIGMAP('keep-cm', 'x') }], { options: { keepResources: true } }, { 'app-keep': 'yes' });
    await waitBd(east, 'gone', readyAtCurrent, 'gone ready');
    await waitBd(east, 'keep', readyAtCurrent, 'keep ready');
    await admin().delete(T.Bundle, 'gone', world.workspace);
    await admin().delete(T.Bundle, 'keep', world.workspace);
    await waitFor(async () => ((await downstreamCm(east, 'gone-cm')) ? undefined : true), { timeoutMs: 60_000, description: 'gone-cm deleted' });
    await waitFor(async () => ((await downstreamCm(east, 'bd-gone', 'flotilla-system')) ? undefined : true), { timeoutMs: 30_000, description: 'the ApplySet parent of gone deleted' });
    await waitFor(async () => ((await downstreamCm(east, 'bd-keep', 'flotilla-system')) ? undefined : true), { timeoutMs: 60_000, description: 'the ApplySet parent of keep deleted' });
    const kept = await downstreamCm(east, 'keep-cm');
    assert.ok(kept, 'keepResources leaves the resource');
    assert.equal(kept.metadata.labels?.[PART_OF], undefined, 'and no longer manages it');
  });

  it('writes one status for a new BundleDeployment, and none while nothing it reports changes, even under churn', async () => {
    await east.process!.waitForIdle({ stableMs: 1500 });
    const initial = await statusWrites(east);
    await createBundle('churn', [{ name: 'cm.yaml', content: CONFIGMAP('churn-cm', 'x') }], {}, { 'app-churn': 'yes' });
    await waitBd(east, 'churn', readyAtCurrent, 'churn ready');
    await east.process!.waitForIdle({ stableMs: 1500 });
    const before = await statusWrites(east);
    assert.equal(before - initial, 1, 'applied and ready: one status write says it all');
    for (let i = 0; i < 20; i++) {
      // Another tool's annotation: an event on a member, but neither drift nor a readiness change.
      await east.downstream.client.patch(builtinTypes.configMap, 'churn-cm', 'default', { metadata: { annotations: { 'other.tool/touch': String(i) } } }, {
        contentType: PatchType.merge,
        fieldManager: 'other-tool',
      });
    }
    const metrics = await east.process!.waitForIdle({ stableMs: 1500 });
    assert.ok(metrics.sum('controller_runtime_reconcile_total', { controller: 'agent' }) > 0);
    assert.equal(await statusWrites(east), before, 'zero status writes for 20 member events');
  });

  it('holds a rollout at maxUnavailable while an updated cluster is not ready', async () => {
    await createBundle('roll', [{ name: 'cm.yaml', content: CONFIGMAP('roll-cm', 'v1') }], { rolloutStrategy: { maxUnavailable: 1 } }, { 'app-roll': 'yes' });
    const eastV1 = await waitBd(east, 'roll', readyAtCurrent, 'roll v1 ready on east');
    const westV1 = await waitBd(west, 'roll', readyAtCurrent, 'roll v1 ready on west');
    // The downstream clusters have no nodes: this Deployment can never become available.
    await patchBundle('roll', { resources: [{ name: 'cm.yaml', content: CONFIGMAP('roll-cm', 'v2') }, { name: 'deploy.yaml', content: DEPLOYMENT('roll') }] });
    const bundle = await waitFor(async () => {
      const b = await admin().get<Obj>(T.Bundle, 'roll', world.workspace);
      return conditionOf(b, 'Rollout')?.reason === 'MaxUnavailable' ? b : undefined;
    }, { timeoutMs: 60_000, description: 'the rollout to be held' });
    assert.match(conditionOf(bundle, 'Rollout')?.message ?? '', /1 of 2 clusters updated/);
    const [eastNow, westNow] = [await getBd(east, 'roll'), await getBd(west, 'roll')];
    const moved = [eastNow, westNow].filter((b) => deploymentIdOf(b) !== deploymentIdOf(eastV1));
    assert.equal(moved.length, 1, 'exactly one cluster got the new deployment');
    const [updated] = moved;
    const held = updated === eastNow ? westNow : eastNow;
    assert.equal(deploymentIdOf(held), deploymentIdOf(westV1), 'the other keeps the old one');
    const agent = updated === eastNow ? east : west;
    const notReady = await waitBd(agent, 'roll', (s, b) => s.appliedDeploymentID === deploymentIdOf(b) && (s.nonReadyResources ?? []).some((r) => r.kind === 'Deployment'), 'the Deployment reported not ready');
    assert.equal(statusOf(notReady).ready, false);
    assert.match(statusOf(notReady).nonReadyResources?.find((r) => r.kind === 'Deployment')?.message ?? '', /InProgress/);

    // Back to what can become ready: the unavailable cluster moves (it uses no budget), becomes ready, then the other follows.
    await patchBundle('roll', { resources: [{ name: 'cm.yaml', content: CONFIGMAP('roll-cm', 'v3') }] });
    for (const a of [east, west]) await waitBd(a, 'roll', (s, b) => readyAtCurrent(s, b) && deploymentIdOf(b) !== deploymentIdOf(updated), `roll v3 ready on ${a.cluster}`, 90_000);
    assert.equal((await downstreamCm(west, 'roll-cm'))?.data?.key, 'v3');
  });
});
