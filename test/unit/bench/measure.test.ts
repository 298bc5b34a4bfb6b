import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { cpuDelta, cpuSnapshot, workerPid, type ProcReader } from '../../../bench/lib/proc-stats.ts';
import { controlPlaneCost } from '../../../bench/lib/measure.ts';
import { ratioCell, ratios } from '../../../bench/run.ts';
import type { SystemFigures } from '../../../bench/lib/measure.ts';
import { contentDigest, contentNameFor } from '../../../src/api/content-name.ts';
import { deploymentIDFor } from '../../../src/api/deployment-id.ts';
import { deploymentNamespaceFor } from '../../../src/placement/deployment-namespace.ts';

test('CPU deltas per process; null when a side is missing or the process was restarted', () => {
  const samples: Record<number, number> = { 10: 1.5, 20: 0.25 };
  const before = cpuSnapshot({ 'kube-apiserver': 10, etcd: 20, gone: undefined }, (pid) => (pid in samples ? { cpuSeconds: samples[pid] as number, maxRssBytes: 0, rssBytes: 0 } : undefined));
  assert.deepEqual(before, { 'kube-apiserver': { pid: 10, cpuSeconds: 1.5 }, etcd: { pid: 20, cpuSeconds: 0.25 }, gone: undefined });
  const after = { 'kube-apiserver': { pid: 10, cpuSeconds: 4.2 }, etcd: { pid: 21, cpuSeconds: 0.3 }, gone: undefined };
  assert.deepEqual(cpuDelta(before, after), { 'kube-apiserver': 2.7, etcd: null, gone: null });
});

test('control plane cost: requests by verb over the window, non-resource requests left out', () => {
  const before = new Map([['POST bundledeployments', 10], ['GET ', 5], ['LIST bundles', 2]]);
  const after = new Map([['POST bundledeployments', 110], ['GET ', 9], ['LIST bundles', 2], ['PATCH bundles/status', 101], ['PATCH clusters', 1]]);
  const cost = controlPlaneCost({ 'kube-apiserver': { pid: 1, cpuSeconds: 1 }, etcd: { pid: 2, cpuSeconds: 1 } }, { 'kube-apiserver': { pid: 1, cpuSeconds: 3.5 }, etcd: { pid: 2, cpuSeconds: 1.25 } }, before, after);
  assert.deepEqual(cost, { apiServerCpuSeconds: 2.5, etcdCpuSeconds: 0.25, apiServerRequests: 202, apiServerRequestsByVerb: { PATCH: 102, POST: 100 } });
  const unreadable = controlPlaneCost({}, {}, undefined, after);
  assert.equal(unreadable.apiServerRequests, null);
  assert.equal(unreadable.apiServerCpuSeconds, null);
});

test('the measured process under a wrapper is the deepest descendant running the script', () => {
  // 100 clinic (its command names the script after --) → 101 sh → 102 node src/main.ts; 103 an unrelated child.
  const tree: Record<number, { parent: number; cmd: string }> = {
    100: { parent: 1, cmd: 'node clinic.js doctor -- node /repo/src/main.ts --kubeconfig k' },
    101: { parent: 100, cmd: 'sh -c x' },
    102: { parent: 101, cmd: 'node --require inject.js /repo/src/main.ts --kubeconfig k' },
    103: { parent: 100, cmd: 'node analyser.js' },
  };
  const proc: ProcReader = { pids: () => Object.keys(tree).map(Number), parentOf: (p) => tree[p]?.parent, cmdline: (p) => tree[p]?.cmd ?? '' };
  assert.equal(workerPid(100, '/repo/src/main.ts', proc), 102);
  // Unwrapped (no descendant runs it): the process itself.
  assert.equal(workerPid(102, '/repo/src/main.ts', proc), 102);
});

test('ratio columns and the JSON ratios against direct and direct-go', () => {
  assert.equal(ratioCell(25, 20), '1.25×');
  assert.equal(ratioCell(null, 20), undefined);
  assert.equal(ratioCell(25, 0), undefined);
  const fig = (system: string, seconds: number | null, bds?: number) => ({ system, seconds, ...(bds === undefined ? {} : { bundleDeploymentsSeconds: bds }) }) as unknown as SystemFigures;
  assert.deepEqual(ratios({ flotilla: fig('flotilla', 30, 12), direct: fig('direct', 24, 6), 'direct-go': fig('direct-go', 20, 4) }), {
    flotilla: { seconds: { vsDirect: 1.25, vsDirectGo: 1.5 }, bundleDeploymentsSeconds: { vsDirect: 2, vsDirectGo: 3 } },
    direct: { seconds: { vsDirect: 1, vsDirectGo: 1.2 }, bundleDeploymentsSeconds: { vsDirect: 1, vsDirectGo: 1.5 } },
    'direct-go': { seconds: { vsDirect: 0.833, vsDirectGo: 1 }, bundleDeploymentsSeconds: { vsDirect: 0.667, vsDirectGo: 1 } },
  });
  assert.deepEqual(ratios({ naive: fig('naive', null), direct: fig('direct', 24) }), { naive: { seconds: { vsDirect: null, vsDirectGo: null } }, direct: { seconds: { vsDirect: 1, vsDirectGo: null } } });
});

test('direct-go\'s Go tests pin the names the TypeScript computes today', () => {
  // bench/baselines/direct-go/world_test.go holds these values: if the naming rules change, both must.
  const goTest = readFileSync(new URL('../../../bench/baselines/direct-go/world_test.go', import.meta.url), 'utf8');
  const resources = [{ name: 'cm.yaml', content: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: é\n' }, { name: 'b', content: '' }];
  for (const value of [
    contentNameFor(resources),
    contentDigest([]),
    deploymentIDFor('s-abc', undefined),
    deploymentNamespaceFor('bench-flip', 'flip'),
    deploymentNamespaceFor('Some_Workspace--x', 'A.Cluster-'),
    deploymentNamespaceFor('w'.repeat(40), 'c'.repeat(40)),
    deploymentNamespaceFor('short', 'c'.repeat(80)),
    deploymentNamespaceFor('a-b', 'c'),
  ]) {
    assert.ok(goTest.includes(`"${value}"`), `world_test.go should expect ${value}`);
  }
});
