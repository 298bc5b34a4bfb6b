import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultConfig } from '../../src/config/defaults.ts';

/**
 * The end-to-end benchmarks (bench/run.ts) at tiny sizes: each scenario runs
 * on its own real control plane with real processes, and its JSON must hold
 * every figure the README promises, with sane values. Timings are printed,
 * never asserted.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function bench(args: string[], timeoutMs = 240_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, 'bench/run.ts'), ...args], { cwd: ROOT, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, killSignal: 'SIGTERM' }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

interface Figures {
  system: string;
  converged: boolean;
  seconds: number | null;
  writes: Record<string, number>;
  writesTotal: number;
  failedWrites: number;
  effectiveWrites: number;
  noopWrites: number;
  apiRequests: number;
  cpuSeconds: number;
  maxRssBytes: number;
  settings: Record<string, unknown>;
  [key: string]: unknown;
}

function checkCommon(json: Record<string, unknown>, scenario: string, systems: string[]): Record<string, Figures> {
  assert.equal(json.scenario, scenario);
  assert.equal(typeof json.parameters, 'object');
  const versions = json.versions as { node: string; kubernetes: string };
  assert.match(versions.node, /^v24\./);
  assert.match(versions.kubernetes, /^v1\.\d+/);
  assert.ok((json.machine as { cores: number }).cores >= 1);
  const results = json.results as Record<string, Figures>;
  assert.deepEqual(Object.keys(results).sort(), [...systems].sort());
  for (const f of Object.values(results)) {
    assert.equal(f.converged, true, `${f.system} converged`);
    assert.ok(typeof f.seconds === 'number' && f.seconds > 0, `${f.system} seconds ${f.seconds}`);
    assert.ok(f.writesTotal > 0, `${f.system} wrote`);
    assert.equal(f.writesTotal, Object.values(f.writes).reduce((a, b) => a + b, 0), `${f.system} writes by verb add up`);
    assert.ok(f.apiRequests >= f.writesTotal, `${f.system} API requests include the writes`);
    assert.ok(f.noopWrites >= 0 && f.failedWrites >= 0 && f.effectiveWrites > 0, `${f.system} write accounting`);
    assert.ok(Number.isFinite(f.cpuSeconds) && f.cpuSeconds >= 0, `${f.system} cpuSeconds ${f.cpuSeconds}`);
    assert.ok(f.maxRssBytes > 10 * 1024 * 1024, `${f.system} maxRssBytes ${f.maxRssBytes}`);
    assert.equal(typeof f.settings, 'object');
    // What the window cost the shared control plane, read from the harness's processes and the API server's own metrics.
    const cp = f.controlPlane as { apiServerCpuSeconds: number; etcdCpuSeconds: number; apiServerRequests: number; apiServerRequestsByVerb: Record<string, number> };
    assert.ok(cp.apiServerCpuSeconds > 0 && cp.etcdCpuSeconds >= 0, `${f.system} control plane CPU ${JSON.stringify(cp)}`);
    assert.ok(cp.apiServerRequests >= f.writesTotal, `${f.system}: the API server counted at least the system's writes (${cp.apiServerRequests} < ${f.writesTotal})`);
    assert.equal(cp.apiServerRequests, Object.values(cp.apiServerRequestsByVerb).reduce((a, b) => a + b, 0), `${f.system} API server requests by verb add up`);
  }
  const ratios = json.ratios as Record<string, { seconds: { vsDirect: number | null; vsDirectGo: number | null } }>;
  assert.deepEqual(Object.keys(ratios).sort(), [...systems].sort(), 'a ratio entry per system');
  if (results.direct) assert.equal(ratios.direct?.seconds.vsDirect, 1);
  if (results['direct-go']) assert.equal(ratios['direct-go']?.seconds.vsDirectGo, 1);
  if (results['direct-go']) assert.equal(results['direct-go'].noopWrites, 0, 'direct-go makes no no-op writes');
  if (results.flotilla) {
    assert.equal(results.flotilla.noopWrites, 0, 'Flotilla makes no no-op writes');
    for (const k of ['reconciles', 'poolTasks', 'inlineMatches', 'coalescedEvents']) assert.equal(typeof results.flotilla[k], 'number', `flotilla.${k}`);
    assert.ok((results.flotilla.reconciles as number) > 0, 'Flotilla reconciled');
  }
  if (results.direct) assert.equal(results.direct.noopWrites, 0, 'direct makes no no-op writes');
  console.log(`# ${scenario}: ${Object.values(results).map((f) => `${f.system} ${f.seconds} s, ${f.writesTotal} writes (${f.noopWrites} no-op), ${f.cpuSeconds} CPU s`).join('; ')}`);
  return results;
}

async function runJson(args: string[]): Promise<Record<string, unknown>> {
  const file = join(dir, `${args[0]}.json`);
  const r = await bench([...args, '--json', file]);
  assert.equal(r.code, 0, `bench ${args.join(' ')} exited ${r.code}\n${r.stderr.slice(-3000)}`);
  assert.match(r.stdout, /\| system/, 'a result table is printed');
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}

test('usage: --help exits 0, a bad scenario or option exits 2', async () => {
  const help = await bench(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /label-flip/);
  assert.equal((await bench(['no-such-scenario'])).code, 2);
  assert.equal((await bench(['label-flip', '--bundles', 'many'])).code, 2);
  assert.equal((await bench(['label-flip', '--systems', 'flotilla,argo'])).code, 2);
  assert.equal((await bench(['label-flip', '--agents', '--systems', 'flotilla,direct-go'])).code, 2, 'direct-go has no agent mode');
  const badVariant = await bench(['label-flip', '--variant', 'api.qps=5']);
  assert.equal(badVariant.code, 2);
  assert.match(badVariant.stderr, /expected NAME:path=value/);
  assert.equal((await bench(['label-flip', '--variant', 'slow:api.qps=5', '--systems', 'flotilla'])).code, 2, 'a variant must be run');
  const curvesHelp = await bench(['curves', '--help']);
  assert.equal(curvesHelp.code, 0);
  assert.match(curvesHelp.stdout, /--sizes LIST/);
  assert.equal((await bench(['curves', '--sizes', '5'])).code, 2, 'a size too small to be a world');
  assert.equal((await bench(['curves', '--scenarios', 'churn'])).code, 2);
});

test('label-flip with flotilla, direct, direct-go and naive', async () => {
  const json = await runJson(['label-flip', '--bundles', '20', '--clusters', '2', '--systems', 'flotilla,direct,direct-go,naive', '--naive-timeout', '120']);
  const results = checkCommon(json, 'label-flip', ['flotilla', 'direct', 'direct-go', 'naive']);
  assert.equal(results.direct?.writes.create, 20, 'direct creates exactly one BundleDeployment per Bundle');
  assert.deepEqual(results['direct-go']?.writes, results.direct?.writes, 'direct-go writes exactly what direct writes (the same minimal writes, from client-go)');
  for (const f of Object.values(results)) {
    const latency = f.bundleDeploymentLatencyMs as { count: number; p50: number; p99: number };
    assert.equal(latency.count, 20, `${f.system}: every new BundleDeployment was seen`);
    assert.ok(latency.p99 >= latency.p50);
  }
  assert.ok((results.naive?.noopWrites ?? 0) > 0, 'naive patches unchanged statuses (the behaviour it reproduces)');
  // Memory read settled: the overlay drained, full GCs forced, the empty-world baseline subtracted.
  const memory = results.flotilla?.memory as { heapBytesPerObject?: number; forcedGc?: boolean; recentWrites?: number; baselineHeapUsedBytes?: number; heapUsedBytes?: number };
  assert.equal(typeof memory.heapBytesPerObject, 'number');
  assert.equal(memory.forcedGc, true);
  assert.equal(memory.recentWrites, 0);
  // (At 20 Bundles the cache is ~0.1 MiB, within the ±2 MiB two fresh processes differ by: no ordering is asserted.)
  assert.ok((memory.baselineHeapUsedBytes ?? 0) > 10 * 1024 * 1024 && (memory.heapUsedBytes ?? 0) > 10 * 1024 * 1024, JSON.stringify(memory));
});

test('label-flip --agents: a real agent and the direct applier deploy to a downstream control plane', async () => {
  const json = await runJson(['label-flip', '--agents', '--bundles', '20', '--clusters', '2']);
  const results = checkCommon(json, 'label-flip', ['flotilla', 'direct']);
  assert.equal((json.parameters as { agents?: { downstreamQps?: number } }).agents?.downstreamQps, defaultConfig().agent.downstreamQps, 'the shipped agent.downstreamQps by default');
  for (const f of Object.values(results)) {
    const a = f.agents as {
      downstreamSeconds: number;
      downstreamLatencyMs: { count: number };
      summaryLatencyMs: { count: number };
      observedWrites: { upstream: number; downstream: number };
      necessaryWrites: { upstream: number; downstream: number };
      needlessWrites: { upstream: number; downstream: number };
      agentCpuSeconds: number;
      agentMaxRssBytes: number;
    };
    assert.ok(a.downstreamSeconds > 0, `${f.system}: resources appeared downstream`);
    assert.equal(a.downstreamLatencyMs.count, 20, `${f.system}: every Bundle's ConfigMap was seen downstream`);
    assert.equal(a.summaryLatencyMs.count, 20, `${f.system}: every summary counted flip ready`);
    assert.deepEqual(a.necessaryWrites.upstream, 60);
    assert.deepEqual(a.necessaryWrites.downstream, 40);
    assert.equal(a.needlessWrites.downstream, a.observedWrites.downstream - 40);
    assert.ok(a.observedWrites.downstream >= 40 && a.observedWrites.upstream >= 60, `${f.system}: at least the minimum was written (${JSON.stringify(a.observedWrites)})`);
    assert.ok(Number.isFinite(a.agentCpuSeconds) && a.agentMaxRssBytes > 10 * 1024 * 1024, `${f.system}: agent CPU and RSS`);
  }
  assert.equal(results.direct?.writes.create, 20, 'direct creates exactly one BundleDeployment per Bundle');
  assert.equal((results.direct?.agents as { needlessWrites: { downstream: number } }).needlessWrites.downstream, 0, 'the direct applier writes the minimum downstream');
});

test('cold-start with flotilla, direct and direct-go, and the restart writes nothing', async () => {
  const json = await runJson([
    'cold-start', '--bundles', '10', '--clusters', '5', '--selectivity', '0.2',
    '--variant', 'strict:concurrency.lowPriorityShare=0,concurrency.maxSummaryDeferralSeconds=0', '--systems', 'flotilla,strict,direct,direct-go',
  ]);
  const results = checkCommon(json, 'cold-start', ['flotilla', 'strict', 'direct', 'direct-go']);
  assert.equal(results.strict?.settings['concurrency.lowPriorityShare'], '0', 'a variant reports its overrides with its settings');
  assert.equal(results.strict?.converged, true, 'a variant runs as Flotilla with its overrides');
  assert.equal(results.direct?.writes.create !== undefined, true);
  assert.deepEqual(results['direct-go']?.writes, results.direct?.writes, 'direct-go writes exactly what direct writes');
  const restart = json.restart as Record<string, Figures>;
  assert.equal(restart.flotilla?.writesTotal, 0, `a restarted Flotilla writes nothing: ${JSON.stringify(restart.flotilla?.writes)}`);
  assert.equal(restart.flotilla?.converged, true);
  assert.equal(restart['direct-go']?.writesTotal, 0, `a restarted direct-go writes nothing: ${JSON.stringify(restart['direct-go']?.writes)}`);
});

test('churn with flotilla, direct and direct-go', async () => {
  const json = await runJson(['churn', '--bundles', '10', '--clusters', '5', '--duration', '4', '--rate', '0.2', '--systems', 'flotilla,direct,direct-go']);
  const results = checkCommon(json, 'churn', ['flotilla', 'direct', 'direct-go']);
  for (const f of Object.values(results)) {
    assert.ok((f.moves as number) > 0 && f.movesConverged === f.moves, `${f.system}: every move converged`);
  }
});
