import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Label, Limits } from '../../src/api/constants.ts';
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
import { AgentSimulator, type AgentState } from '../support/agent-simulator.ts';
import { delta, groupDelta } from '../support/metrics.ts';

/**
 * Bundle and Cluster summaries follow what agents report on the
 * BundleDeployments (simulated here by writing their /status): counts by
 * state, `nonReadyClusters` (capped at 10), `display.readyClusters`, the
 * `Ready` condition, and each Cluster's counts of its BundleDeployments.
 */

const ws = 'summary';
const CLUSTERS = Array.from({ length: 12 }, (_, i) => `c${String(i).padStart(2, '0')}`);
let env: PlacementEnv;
let flotilla: FlotillaProcess;
let agent: AgentSimulator;

before(async () => {
  env = await startPlacementEnv();
  const { admin } = env;
  agent = new AgentSimulator(admin);
  await createWorkspace(admin, ws);
  for (const c of CLUSTERS) await admin.create(T.Cluster, clusterObject(ws, c, { env: 'prod' }));
  await admin.create(T.Bundle, bundleObject(ws, 'web', [{ clusterSelector: {} }]));
  // A second Bundle on two clusters, so those Clusters count two BundleDeployments.
  await admin.create(T.Bundle, bundleObject(ws, 'extra', [{ clusterName: 'c00' }, { clusterName: 'c01' }]));
  flotilla = await env.startFlotilla();
  await flotilla.waitForReady();
  await waitForConvergence(
    async () => {
      const web = await listAll(admin, T.BundleDeployment, { labelSelector: `${Label.BundleName}=web` });
      const extra = await listAll(admin, T.BundleDeployment, { labelSelector: `${Label.BundleName}=extra` });
      return web.length === 12 && extra.length === 2 ? [] : [`web ${web.length}/12, extra ${extra.length}/2 BundleDeployments`];
    },
    { timeoutMs: 60_000, description: 'BundleDeployments created' },
  );
});

after(async () => {
  if (flotilla) reportLoggedProblems(flotilla);
  await env?.stop();
});

interface Summary {
  desiredReady?: number;
  ready?: number;
  notReady?: number;
  pending?: number;
  modified?: number;
  errApplied?: number;
  waitApplied?: number;
  outOfSync?: number;
  nonReadyClusters?: string[];
}

interface Expect {
  counts: Partial<Record<keyof Omit<Summary, 'nonReadyClusters'>, number>>;
  /** Exact set (sorted), or `{ size, within }` when only some names fit. */
  nonReady: string[] | { size: number; within: string[] };
  display: string;
  ready: boolean;
}

async function reportFor(bundle: string, states: Record<string, AgentState>): Promise<void> {
  await agent.reportAll({ labelSelector: `${Label.BundleName}=${bundle}` }, (bd) => states[bd.metadata.labels?.[Label.ClusterName] ?? '']);
}

const allClusters = (state: AgentState): Record<string, AgentState> => Object.fromEntries(CLUSTERS.map((c) => [c, state]));

async function expectBundle(bundle: string, want: Expect, description: string): Promise<void> {
  await waitForConvergence(
    async () => {
      const b = await env.admin.get<Obj>(T.Bundle, bundle, ws);
      const summary = (b.status?.summary ?? {}) as Summary;
      const display = (b.status?.display ?? {}) as { readyClusters?: string };
      const problems: string[] = [];
      for (const [field, value] of Object.entries(want.counts)) {
        const got = summary[field as keyof Summary];
        if (got !== value) problems.push(`${bundle}: summary.${field} ${JSON.stringify(got)}, expected ${value}`);
      }
      const nonReady = [...(summary.nonReadyClusters ?? [])].sort();
      if (Array.isArray(want.nonReady)) {
        if (JSON.stringify(nonReady) !== JSON.stringify(want.nonReady)) problems.push(`${bundle}: nonReadyClusters [${nonReady.join(', ')}], expected [${want.nonReady.join(', ')}]`);
      } else {
        const within = want.nonReady.within;
        if (nonReady.length !== want.nonReady.size || !nonReady.every((c) => within.includes(c)) || new Set(nonReady).size !== nonReady.length) {
          problems.push(`${bundle}: nonReadyClusters [${nonReady.join(', ')}], expected ${want.nonReady.size} distinct names out of [${within.join(', ')}]`);
        }
      }
      if (display.readyClusters !== want.display) problems.push(`${bundle}: display.readyClusters ${String(display.readyClusters)}, expected ${want.display}`);
      const ready = conditionOf(b, 'Ready');
      if ((ready?.status === 'True') !== want.ready) problems.push(`${bundle}: Ready condition ${JSON.stringify(ready)}, expected ${want.ready ? 'True' : 'not True'}`);
      if (!want.ready && !(ready?.message ?? '').length) problems.push(`${bundle}: a not-Ready condition without message`);
      return problems;
    },
    { timeoutMs: 30_000, description },
  );
}

test('no agent yet: everything pending, not Ready', async () => {
  await expectBundle(
    'web',
    { counts: { desiredReady: 12, ready: 0, pending: 12 }, nonReady: { size: Limits.nonReadyClustersMaxItems, within: CLUSTERS }, display: '0/12', ready: false },
    'initial summary',
  );
});

test('all ready → Ready=True, 12/12', async () => {
  await reportFor('web', allClusters('ready'));
  await expectBundle('web', { counts: { desiredReady: 12, ready: 12, notReady: 0, pending: 0, modified: 0, errApplied: 0 }, nonReady: [], display: '12/12', ready: true }, 'all ready');
  const b = await env.admin.get<Obj>(T.Bundle, 'web', ws);
  assert.equal(conditionOf(b, 'Ready')?.status, 'True');
});

test('three not ready → counts, their names, not Ready', async () => {
  await reportFor('web', { c03: 'notReady', c07: 'notReady', c11: 'notReady' });
  await expectBundle('web', { counts: { desiredReady: 12, ready: 9, notReady: 3 }, nonReady: ['c03', 'c07', 'c11'], display: '9/12', ready: false }, 'three not ready');
});

test('all twelve not ready → nonReadyClusters capped at 10', async () => {
  await reportFor('web', allClusters('notReady'));
  await expectBundle(
    'web',
    { counts: { desiredReady: 12, ready: 0, notReady: 12 }, nonReady: { size: Limits.nonReadyClustersMaxItems, within: CLUSTERS }, display: '0/12', ready: false },
    'twelve not ready',
  );
});

test('modified, failed apply and waiting for an older ID are counted by state', async () => {
  await reportFor('web', { ...allClusters('ready'), c01: 'modified', c02: 'errApplied', c04: 'waitApplied', c05: 'waitApplied' });
  await expectBundle(
    'web',
    { counts: { desiredReady: 12, ready: 8, modified: 1, errApplied: 1, waitApplied: 2, notReady: 0 }, nonReady: ['c01', 'c02', 'c04', 'c05'], display: '8/12', ready: false },
    'mixed states',
  );
});

test('back to ready → Ready=True again; agent status reports cause status writes only', async () => {
  const before = await flotilla.metrics();
  await reportFor('web', allClusters('ready'));
  await expectBundle('web', { counts: { desiredReady: 12, ready: 12, notReady: 0, modified: 0, errApplied: 0, waitApplied: 0 }, nonReady: [], display: '12/12', ready: true }, 'ready again');
  const after = await flotilla.waitForIdle({ description: 'controller idle after the agent reports' });
  const writes = groupDelta(before, after, 'flotilla_writes_total', ['kind', 'verb', 'reason']);
  console.log(`# agent round (12 status reports): controller writes ${JSON.stringify(writes)}`);
  assert.equal(delta(before, after, 'flotilla_writes_total', { kind: 'BundleDeployment' }), 0, 'the controller does not touch BundleDeployments when agents report');
  assert.equal(delta(before, after, 'flotilla_writes_total', { kind: (k) => k !== 'Bundle' && k !== 'Cluster' }), 0, 'only Bundle and Cluster status');
  assert.ok(delta(before, after, 'flotilla_writes_total', { kind: 'Bundle' }) >= 1, 'the Bundle summary was written');
});

test('new resources: the agents’ old applied ID no longer counts as ready until they apply the new one', async () => {
  await env.admin.patch(T.Bundle, 'web', ws, { spec: { resources: [{ name: 'cm.yaml', content: SAMPLE_CONFIGMAP('web-cm', { version: '2' }) }] } });
  await expectBundle(
    'web',
    { counts: { desiredReady: 12, ready: 0, waitApplied: 12 }, nonReady: { size: Limits.nonReadyClustersMaxItems, within: CLUSTERS }, display: '0/12', ready: false },
    'new deploymentID not yet applied',
  );
  await reportFor('web', allClusters('ready'));
  await expectBundle('web', { counts: { desiredReady: 12, ready: 12, waitApplied: 0 }, nonReady: [], display: '12/12', ready: true }, 'new deploymentID applied');
});

test("Clusters count their BundleDeployments by state", async () => {
  await reportFor('extra', { c00: 'ready', c01: 'notReady' });
  await waitForConvergence(
    async () => {
      const problems: string[] = [];
      for (const c of await listAll(env.admin, T.Cluster, { namespace: ws })) {
        const name = c.metadata.name ?? '';
        const summary = (c.status?.summary ?? {}) as Summary;
        const display = (c.status?.display ?? {}) as { readyBundles?: string };
        const want =
          name === 'c00' ? { desiredReady: 2, ready: 2, notReady: 0, display: '2/2' } : name === 'c01' ? { desiredReady: 2, ready: 1, notReady: 1, display: '1/2' } : { desiredReady: 1, ready: 1, notReady: 0, display: '1/1' };
        if (summary.desiredReady !== want.desiredReady || summary.ready !== want.ready || summary.notReady !== want.notReady) {
          problems.push(`${name}: summary ${JSON.stringify(summary)}, expected desiredReady ${want.desiredReady} ready ${want.ready} notReady ${want.notReady}`);
        }
        if (display.readyBundles !== want.display) problems.push(`${name}: display.readyBundles ${String(display.readyBundles)}, expected ${want.display}`);
      }
      return problems;
    },
    { timeoutMs: 30_000, description: 'Cluster summaries' },
  );
});
