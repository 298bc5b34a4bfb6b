import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { AGENT_LEASE_NAME, Label } from '../../src/api/constants.ts';
import { deploymentNamespaceFor } from '../../src/placement/deployment-namespace.ts';
import { builtinTypes, microTime } from '../../src/runtime/kube/resource.ts';
import { waitFor } from '../../src/util/wait.ts';
import { AgentSimulator } from '../support/agent-simulator.ts';
import {
  T,
  bundleObject,
  clusterGroupObject,
  clusterObject,
  createWorkspace,
  listAll,
  reportLoggedProblems,
  startPlacementEnv,
  waitForConvergence,
  type FlotillaProcess,
  type PlacementEnv,
} from '../support/flotilla.ts';
import { kubectlOk } from '../support/kubectl.ts';

/**
 * What an operator sees through the real kubectl: STATUS tells the reason
 * that matters (an invalid Bundle shows its problem, not Pending), the
 * ClusterGroup columns are filled, PAUSED shows, a BundleDeployment's long
 * deployment ID only with `-o wide`, and Normal Events announce a Bundle
 * becoming Ready and an agent connecting, once: not again when the
 * controller restarts and relists a world in which nothing changed.
 */

const ws = 'ops';
let env: PlacementEnv;
let flotilla: FlotillaProcess;
let agent: AgentSimulator;

before(async () => {
  env = await startPlacementEnv();
  const { admin } = env;
  agent = new AgentSimulator(admin);
  await createWorkspace(admin, ws);
  for (const [name, labels] of [['c1', { env: 'prod' }], ['c2', { env: 'prod' }], ['c3', { env: 'dev' }]] as const) {
    await admin.create(T.Cluster, clusterObject(ws, name, labels));
  }
  await admin.create(T.ClusterGroup, clusterGroupObject(ws, 'prod', { matchLabels: { env: 'prod' } }));
  await admin.create(T.ClusterGroup, clusterGroupObject(ws, 'qa', { matchLabels: { env: 'qa' } }));
  await admin.create(T.Bundle, bundleObject(ws, 'web', [{ clusterGroup: 'prod' }]));
  await admin.create(T.Bundle, bundleObject(ws, 'bad', [{ clusterSelector: {} }], [{ name: 'broken.yaml', content: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [unclosed\n' }]));
  await admin.create(T.Bundle, bundleObject(ws, 'held', [{ clusterName: 'c3' }], undefined, { paused: true }));
  flotilla = await env.startFlotilla();
  await flotilla.waitForReady();
  await waitForConvergence(
    async () => {
      const bds = await listAll(admin, T.BundleDeployment, { labelSelector: `${Label.BundleNamespace}=${ws}` });
      return bds.length === 3 ? [] : [`${bds.length}/3 BundleDeployments`];
    },
    { timeoutMs: 60_000, description: 'BundleDeployments of web (2) and held (1)' },
  );
});

after(async () => {
  if (flotilla) reportLoggedProblems(flotilla);
  await env?.stop();
});

/**
 * `kubectl get` output as rows keyed by column header. Columns are cut at
 * the header's offsets (kubectl aligns them): a missing value is an empty
 * cell, not a shifted row.
 */
function table(output: string): Array<Record<string, string>> {
  const [header, ...lines] = output.replace(/\s+$/, '').split('\n');
  const starts = [...header!.matchAll(/\S+/g)].map((m) => ({ name: m[0], at: m.index }));
  return lines.map((line) => Object.fromEntries(starts.map((c, i) => [c.name, line.slice(c.at, starts[i + 1]?.at ?? line.length).trim()])));
}

async function get(args: string[]): Promise<{ columns: string[]; rows: Map<string, Record<string, string>> }> {
  const out = await kubectlOk(env.cp.adminKubeconfig, ['get', ...args]);
  const rows = table(out);
  return { columns: out.trim().split('\n')[0]!.trim().split(/\s+/), rows: new Map(rows.map((r) => [r.NAME!, r])) };
}

/** Polls `kubectl get` until the rows show `want` (a missing value is ''). */
async function expectRows(args: string[], want: Record<string, Record<string, string | RegExp>>, description: string): Promise<void> {
  let last = '';
  await waitFor(
    async () => {
      const { rows } = await get(args);
      const problems: string[] = [];
      for (const [name, columns] of Object.entries(want)) {
        const row = rows.get(name);
        if (!row) {
          problems.push(`${name}: no row`);
          continue;
        }
        for (const [column, value] of Object.entries(columns)) {
          const ok = typeof value === 'string' ? row[column] === value : value.test(row[column] ?? '');
          if (!ok) problems.push(`${name} ${column}=${row[column]}, expected ${String(value)}`);
        }
      }
      last = problems.join('; ');
      return problems.length === 0 ? true : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 500, description },
  ).catch((err: unknown) => {
    throw new Error(`${description}: ${last}`, { cause: err });
  });
}

interface EventObj {
  type?: string;
  reason?: string;
  note?: string;
  regarding?: { kind?: string; name?: string };
  series?: { count?: number };
}

/** The Events of the workspace, as kubectl lists them (events.k8s.io/v1). */
async function events(): Promise<EventObj[]> {
  const out = await kubectlOk(env.cp.adminKubeconfig, ['get', 'events.v1.events.k8s.io', '-n', ws, '-o', 'json']);
  return (JSON.parse(out) as { items: EventObj[] }).items;
}

const normal = (list: EventObj[], kind: string, name: string, reason: string) =>
  list.filter((e) => e.type === 'Normal' && e.regarding?.kind === kind && e.regarding.name === name && e.reason === reason);

/** What the agent of c1 writes: its heartbeat Lease, renewed now. */
async function heartbeat(): Promise<void> {
  const namespace = deploymentNamespaceFor(ws, 'c1');
  const spec = { holderIdentity: 'agent-c1', leaseDurationSeconds: 40, renewTime: microTime(Date.now()) };
  const existing = await env.admin.get(builtinTypes.lease, AGENT_LEASE_NAME, namespace).catch(() => undefined);
  if (existing) await env.admin.update(builtinTypes.lease, { ...existing, spec });
  else await env.admin.create(builtinTypes.lease, { metadata: { name: AGENT_LEASE_NAME, namespace }, spec });
}

test('kubectl get bundles: STATUS shows an invalid Bundle\'s reason, PAUSED shows pausing', async () => {
  const { columns } = await get(['bundles', '-n', ws]);
  assert.deepEqual(columns, ['NAME', 'READY', 'STATUS', 'PAUSED', 'AGE']);
  await expectRows(
    ['bundles', '-n', ws],
    {
      bad: { STATUS: /^(InvalidResources|InvalidContent)$/, PAUSED: '' },
      web: { READY: '0/2', STATUS: 'Pending', PAUSED: '' },
      held: { READY: '0/1', STATUS: 'Paused', PAUSED: 'true' },
    },
    'kubectl get bundles',
  );
  // -o wide adds the rollout and the Content, not more.
  assert.deepEqual((await get(['bundles', '-n', ws, '-o', 'wide'])).columns, ['NAME', 'READY', 'STATUS', 'PAUSED', 'ROLLOUT', 'CONTENT', 'AGE']);
});

test('kubectl get bundledeployments: DEPLOYMENT-ID only with -o wide; PAUSED from the spec', async () => {
  const plain = await get(['bundledeployments', '-A']);
  assert.deepEqual(plain.columns, ['NAMESPACE', 'NAME', 'READY', 'STATUS', 'PAUSED', 'AGE']);
  const widest = Math.max(...(await kubectlOk(env.cp.adminKubeconfig, ['get', 'bundledeployments', '-A'])).split('\n').map((l) => l.length));
  assert.ok(widest < 120, `default output fits a terminal (widest line ${widest})`);
  const wide = await get(['bundledeployments', '-A', '-o', 'wide']);
  assert.deepEqual(wide.columns, ['NAMESPACE', 'NAME', 'READY', 'STATUS', 'PAUSED', 'DEPLOYMENT-ID', 'APPLIED', 'AGE']);
  const bds = await listAll<{ metadata: { name?: string; namespace?: string }; spec?: { deploymentID?: string; paused?: boolean } }>(env.admin, T.BundleDeployment, {
    labelSelector: `${Label.BundleNamespace}=${ws}`,
  });
  const out = table(await kubectlOk(env.cp.adminKubeconfig, ['get', 'bundledeployments', '-A', '-o', 'wide']));
  for (const bd of bds) {
    const row = out.find((r) => r.NAMESPACE === bd.metadata.namespace && r.NAME === bd.metadata.name);
    assert.equal(row?.['DEPLOYMENT-ID'], bd.spec?.deploymentID);
    assert.equal(row?.PAUSED, String(bd.spec?.paused ?? ''), `${bd.metadata.name}: PAUSED is spec.paused`);
    if (bd.metadata.name === 'held') assert.equal(row?.PAUSED, 'true');
  }
});

test('kubectl get clustergroups and clusters: READY and STATUS filled, and following what the agents report', async () => {
  await expectRows(
    ['clustergroups', '-n', ws],
    { prod: { CLUSTERS: '2', READY: '0/2', STATUS: 'Pending' }, qa: { CLUSTERS: '0', READY: '0/0', STATUS: 'NoClusters' } },
    'kubectl get clustergroups before any agent reports',
  );
  assert.deepEqual((await get(['clusters', '-n', ws])).columns, ['NAME', 'READY', 'STATUS', 'AGENT', 'PAUSED', 'AGE']);
  assert.ok((await get(['clusters', '-n', ws, '-o', 'wide'])).columns.includes('DEPLOYMENT-NAMESPACE'));

  await agent.reportAll({ labelSelector: `${Label.BundleName}=web` }, 'ready');
  await expectRows(['bundles', '-n', ws], { web: { READY: '2/2', STATUS: 'Ready' } }, 'web ready');
  await expectRows(['clustergroups', '-n', ws], { prod: { CLUSTERS: '2', READY: '2/2', STATUS: 'Ready' } }, 'kubectl get clustergroups after the reports');
  await expectRows(['clusters', '-n', ws], { c1: { READY: '1/1', STATUS: 'Ready' }, c3: { READY: '0/1', STATUS: 'Pending' } }, 'kubectl get clusters');
});

test('Normal Events: a Bundle became Ready, an agent connected; not again after a restart relists an unchanged world', async () => {
  // web became Ready in the previous test.
  const ready = await waitFor(async () => {
    const found = normal(await events(), 'Bundle', 'web', 'Ready');
    return found.length > 0 ? found : undefined;
  }, { timeoutMs: 30_000, intervalMs: 500, description: 'a Normal Ready Event about Bundle web' });
  assert.match(ready[0]!.note ?? '', /2\/2 clusters ready/);

  await heartbeat();
  await expectRows(['clusters', '-n', ws], { c1: { AGENT: 'True' }, c2: { AGENT: 'Unknown' } }, 'c1 AGENT True');
  const connected = await waitFor(async () => {
    const found = normal(await events(), 'Cluster', 'c1', 'AgentConnected');
    return found.length > 0 ? found : undefined;
  }, { timeoutMs: 30_000, intervalMs: 500, description: 'a Normal AgentConnected Event about Cluster c1' });
  assert.match(connected[0]!.note ?? '', /agent-c1 renews its heartbeat/);

  // A renewal is no transition; neither is a restart that relists everything.
  await heartbeat();
  await flotilla.waitForIdle({ description: 'idle after the renewal' });
  const before = await events();
  assert.equal(normal(before, 'Bundle', 'web', 'Ready').length, 1);
  assert.equal(normal(before, 'Cluster', 'c1', 'AgentConnected').length, 1);
  assert.equal(normal(before, 'Bundle', 'bad', 'Ready').length, 0, 'an invalid Bundle is not announced Ready');
  await flotilla.stop({ graceMs: 10_000 });
  flotilla = await env.startFlotilla();
  await flotilla.waitForReady();
  const idle = await flotilla.waitForIdle({ minReconciles: 8, description: 'the restarted controller reconciled everything' });
  assert.equal(idle.sum('flotilla_events_recorded_total', { type: 'Normal' }), 0, 'the restarted controller announces nothing');
  assert.equal(idle.sum('flotilla_writes_total', { verb: 'apply', reason: 'StatusChanged' }), 0, 'and writes no status');
  const afterRestart = await events();
  assert.equal(normal(afterRestart, 'Bundle', 'web', 'Ready').length, 1);
  assert.equal(normal(afterRestart, 'Cluster', 'c1', 'AgentConnected').length, 1);
  assert.ok(afterRestart.every((e) => (e.series?.count ?? 1) === 1 || e.type === 'Warning'), 'no Normal Event repeated as a series');
});
