/**
 * End-to-end benchmarks: `npm run bench -- <scenario> [options]`.
 * Run with --help for the scenarios and options; bench/README.md explains
 * what is measured and how. Exit codes: 0 ok, 1 failure, 2 usage error.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultConfig } from '../src/config/defaults.ts';
import { startBenchEnv, type BenchEnv } from './lib/env.ts';
import type { LaunchWrapper } from './lib/launch.ts';
import { Observer } from './lib/observer.ts';
import { MiB, progress, round, table, type Cell } from './lib/report.ts';
import type { SystemFigures } from './lib/measure.ts';
import { parseVariant, SYSTEM_NAMES, type SystemName, type VariantOverrides } from './systems/index.ts';
import { ensureDirectGoBinary } from './lib/go-baseline.ts';
import { measureBaseline, type ScenarioContext, type ScenarioResult } from './scenarios/common.ts';
import { labelFlip } from './scenarios/label-flip.ts';
import { coldStart } from './scenarios/cold-start.ts';
import { churn } from './scenarios/churn.ts';
import { wide } from './scenarios/wide.ts';

/** The shipped configuration's defaults, which the agents run with unless told otherwise. */
const SHIPPED = defaultConfig();

export const SCENARIOS = {
  'label-flip': { run: labelFlip, defaults: { bundles: 3000, clusters: 10 }, about: 'Fleet #3163: label one more Cluster env=prod; time until its BundleDeployments exist and every summary shows it' },
  'cold-start': { run: coldStart, defaults: { bundles: 500, clusters: 200 }, about: 'clusters × bundles at --selectivity from no BundleDeployments; then restart over the converged world (ready time, writes)' },
  churn: { run: churn, defaults: { bundles: 500, clusters: 200 }, about: 'relabel --rate of the clusters per second for --duration s; lag from change to converged' },
  wide: { run: wide, defaults: { bundles: 40, clusters: 5000, selectivity: 0.5 }, about: 'many Clusters per Bundle: every selector rewritten (same Clusters), then one shard swapped per Bundle; main-thread ms per Bundle reconcile, event-loop p99 (flotilla only)' },
} as const;
export type ScenarioName = keyof typeof SCENARIOS;

/**
 * The usage text, under the name the runner was started by: `flotilla bench`
 * (src/cli/bench.ts sets FLOTILLA_BENCH_COMMAND) or `npm run bench --`.
 */
export function benchHelp(command = process.env.FLOTILLA_BENCH_COMMAND || 'npm run bench --'): string {
  return `Usage: ${command} <scenario> [options]

Runs a scenario end to end on a real control plane: starts the local control
plane (or uses --kubeconfig), seeds objects, runs each system as its own
process under the controller's RBAC-bound user, drives the change, measures,
tears down. Progress goes to stderr, the result table to stdout.
${HELP_BODY}`;
}

const HELP_BODY = `
Scenarios:
${Object.entries(SCENARIOS).map(([name, s]) => `  ${name.padEnd(11)} ${s.about}\n              (defaults: --bundles ${s.defaults.bundles} --clusters ${s.defaults.clusters})`).join('\n')}

  curves      cold-start and label-flip at 1,000 / 10,000 / 100,000 BundleDeployments:
              how time, CPU, writes, memory and the control plane's CPU grow
              (own options: curves --help)

Options:
  --bundles N          Bundles (label-flip: in repos of 10)
  --clusters N         Clusters (label-flip: already converged ones, plus the one flipped)
  --selectivity F      cold-start/churn/wide: share of clusters each bundle targets
                       (default 0.2; wide 0.5, in twentieths: shards of the clusters)
  --rate F             churn: share of clusters relabelled per second (default 0.01)
  --duration S         churn: seconds of churn (default 60)
  --systems LIST       comma-separated, in run order: flotilla,direct,direct-go,naive (default all four)
                       and any --variant names
  --variant NAME:PATH=VALUE[,PATH=VALUE...]
                       a flotilla variant: flotilla with these config overrides (dotted
                       paths, JSON or plain values), run as system NAME, e.g.
                       --variant http1:api.transport=http1 --systems flotilla,http1,direct
                       (repeatable; compares one setting before/after in one run)
  --concurrency N      flotilla maxConcurrentReconciles and direct's/direct-go's writes in flight (default 64)
  --qps N              client-side QPS for flotilla, direct and direct-go; 0 = unlimited (default 0)
  --burst N            burst when --qps > 0 (default 200)
  --timeout S          per-system convergence deadline, flotilla and direct (default 600)
  --naive-timeout S    the naive baseline's deadline, after which it is reported as
                       not converged with its progress and projection (default 300)
  --seed N             PRNG seed (churn, wide; default 1)
  --agents             label-flip: also deploy downstream — a downstream control plane for the
                       flip cluster, registered as \`flotilla cluster add\` does, a real
                       \`flotilla agent\` (flotilla) or bench/baselines/direct-agent.ts (direct);
                       measures until the resources exist downstream and every summary shows
                       flip ready, and the writes at both API servers
                       (default JSON bench/results/label-flip-agents.json)
  --agent-downstream-qps N  the agent's agent.downstreamQps (default: as shipped; 0 = unlimited)
  --agent-downstream-burst N  the agent's agent.downstreamBurst (default: as shipped)
                       (the agent's api.qps/burst and maxConcurrentReconciles are --qps/--burst/--concurrency)
  --kubeconfig FILE    use this cluster (admin) instead of starting a local control plane
  --json FILE          write every figure as JSON (default bench/results/<scenario>.json)
  -h, --help           this text
`;

export const HELP = benchHelp('npm run bench --');

class UsageError extends Error {}

function positive(name: string, raw: string | undefined, fallback: number, { integer = true, allowZero = false } = {}): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || (integer && !Number.isInteger(v)) || v < 0 || (!allowZero && v === 0)) throw new UsageError(`--${name} must be a ${integer ? 'whole ' : ''}number ${allowZero ? '≥ 0' : '> 0'} (got ${JSON.stringify(raw)})`);
  return v;
}

export interface ParsedArgs {
  scenario: ScenarioName;
  ctxOptions: Omit<ScenarioContext, 'env' | 'observer' | 'wrap'>;
  kubeconfig: string | undefined;
  json: string;
}

export function parseBenchArgs(argv: string[]): ParsedArgs | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        bundles: { type: 'string' },
        clusters: { type: 'string' },
        selectivity: { type: 'string' },
        rate: { type: 'string' },
        duration: { type: 'string' },
        systems: { type: 'string' },
        variant: { type: 'string', multiple: true },
        concurrency: { type: 'string' },
        qps: { type: 'string' },
        burst: { type: 'string' },
        timeout: { type: 'string' },
        'naive-timeout': { type: 'string' },
        seed: { type: 'string' },
        agents: { type: 'boolean' },
        'agent-downstream-qps': { type: 'string' },
        'agent-downstream-burst': { type: 'string' },
        kubeconfig: { type: 'string' },
        json: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values: v, positionals } = parsed;
  if (v.help) return 'help';
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing <scenario>' : `one scenario expected, got ${positionals.join(' ')}`);
  const scenario = positionals[0] as ScenarioName;
  if (!(scenario in SCENARIOS)) throw new UsageError(`unknown scenario ${JSON.stringify(scenario)}; one of ${Object.keys(SCENARIOS).join(', ')}`);
  const defaults = SCENARIOS[scenario].defaults;
  const variants: Record<string, VariantOverrides> = {};
  for (const text of v.variant ?? []) {
    let variant;
    try {
      variant = parseVariant(text);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    if (variants[variant.name]) throw new UsageError(`--variant ${variant.name} is defined twice`);
    variants[variant.name] = variant.overrides;
  }
  const systems = (v.systems ?? (v.agents ? 'flotilla,direct' : SYSTEM_NAMES.join(','))).split(',').map((s) => s.trim()).filter(Boolean);
  const known = [...SYSTEM_NAMES, ...Object.keys(variants)];
  for (const s of systems) if (!known.includes(s)) throw new UsageError(`unknown system ${JSON.stringify(s)}; one of ${known.join(', ')}`);
  for (const name of Object.keys(variants)) if (!systems.includes(name)) throw new UsageError(`--variant ${name} is not in --systems`);
  if (new Set(systems).size !== systems.length || systems.length === 0) throw new UsageError('--systems must list each system at most once');
  const selectivity = positive('selectivity', v.selectivity, 'selectivity' in defaults ? defaults.selectivity : 0.2, { integer: false });
  if (selectivity > 1) throw new UsageError('--selectivity must be in (0, 1]');
  const rate = positive('rate', v.rate, 0.01, { integer: false });
  if (rate > 1) throw new UsageError('--rate must be in (0, 1]');
  const agents = v.agents === true;
  if (agents && scenario !== 'label-flip') throw new UsageError('--agents is a label-flip option');
  if (agents && systems.some((s) => s !== 'flotilla' && s !== 'direct')) throw new UsageError('--agents runs flotilla and direct only (--systems flotilla,direct)');
  if (agents && v.kubeconfig) throw new UsageError('--agents needs the local control plane (its token controller), not --kubeconfig');
  if (!agents && (v['agent-downstream-qps'] !== undefined || v['agent-downstream-burst'] !== undefined)) throw new UsageError('--agent-downstream-qps/--agent-downstream-burst need --agents');
  return {
    scenario,
    kubeconfig: v.kubeconfig,
    json: resolve(v.json ?? `bench/results/${scenario}${agents ? '-agents' : ''}.json`),
    ctxOptions: {
      systems: systems as SystemName[],
      run: {
        concurrency: positive('concurrency', v.concurrency, 64),
        qps: positive('qps', v.qps, 0, { allowZero: true }),
        burst: positive('burst', v.burst, 200),
        ...(agents ? { agents } : {}),
        ...(Object.keys(variants).length > 0 ? { variants } : {}),
      },
      ...(agents
        ? { agents: { downstreamQps: positive('agent-downstream-qps', v['agent-downstream-qps'], SHIPPED.agent.downstreamQps, { allowZero: true }), downstreamBurst: positive('agent-downstream-burst', v['agent-downstream-burst'], SHIPPED.agent.downstreamBurst) } }
        : {}),
      options: {
        bundles: positive('bundles', v.bundles, defaults.bundles),
        clusters: positive('clusters', v.clusters, defaults.clusters),
        selectivity,
        rate,
        durationSeconds: positive('duration', v.duration, 60),
        seed: positive('seed', v.seed, 1, { allowZero: true }),
      },
      timeoutSeconds: positive('timeout', v.timeout, 600),
      naiveTimeoutSeconds: positive('naive-timeout', v['naive-timeout'], 300),
    },
  };
}

const fmtBytes = (b: unknown) => (typeof b === 'number' && Number.isFinite(b) ? round(b / MiB, 1) : undefined);

/** `a / b` as "1.23×"; undefined when either is missing or b is 0. */
export function ratioCell(a: number | null | undefined, b: number | null | undefined): string | undefined {
  return typeof a === 'number' && typeof b === 'number' && b > 0 && Number.isFinite(a) ? `${(a / b).toFixed(2)}×` : undefined;
}

/** Each system's `seconds` (and, where measured, `bundleDeploymentsSeconds`) over direct's and direct-go's: the JSON's `ratios`. */
export function ratios(results: ScenarioResult['results']): Record<string, Record<string, Record<string, number | null>>> {
  const ratio = (a: unknown, b: unknown) => (typeof a === 'number' && typeof b === 'number' && b > 0 ? round(a / b, 3) : null);
  const out: Record<string, Record<string, Record<string, number | null>>> = {};
  for (const f of Object.values(results) as SystemFigures[]) {
    const figures: Record<string, Record<string, number | null>> = {};
    for (const figure of ['seconds', 'bundleDeploymentsSeconds']) {
      if (!(figure in f)) continue;
      figures[figure] = { vsDirect: ratio(f[figure], results.direct?.[figure]), vsDirectGo: ratio(f[figure], results['direct-go']?.[figure]) };
    }
    out[f.system] = figures;
  }
  return out;
}

export function summaryRows(result: ScenarioResult): Array<Record<string, Cell>> {
  const direct = result.results.direct;
  const directGo = result.results['direct-go'];
  return (Object.values(result.results) as SystemFigures[]).map((f) => ({
    system: f.system,
    settings: Object.entries(f.settings).map(([k, val]) => `${k}=${val}`).join(' '),
    converged: f.converged ? 'yes' : 'NO',
    seconds: f.seconds ?? undefined,
    'vs direct': ratioCell(f.seconds, direct?.seconds),
    'vs direct-go': ratioCell(f.seconds, directGo?.seconds),
    writes: f.writesTotal,
    'no-op': f.noopWrites,
    failed: f.failedWrites,
    // Events are reported apart: telling operators is not the work measured (older results lack the field).
    events: Object.values(f.eventWrites ?? {}).reduce((s, n) => s + n, 0),
    'API reqs': f.apiRequests,
    'CPU s': f.cpuSeconds,
    'max RSS MiB': fmtBytes(f.maxRssBytes),
    // The shared control plane's cost during this system's window (older results lack it).
    'apiserver CPU s': f.controlPlane?.apiServerCpuSeconds ?? undefined,
    'etcd CPU s': f.controlPlane?.etcdCpuSeconds ?? undefined,
    'apiserver reqs': f.controlPlane?.apiServerRequests ?? undefined,
  }));
}

export async function runScenario(args: ParsedArgs, wrap?: LaunchWrapper): Promise<{ json: Record<string, unknown>; result: ScenarioResult }> {
  const started = Date.now();
  let env: BenchEnv | undefined;
  let observer: Observer | undefined;
  try {
    // Built (or found in the cache) before anything is timed.
    if (args.ctxOptions.systems.includes('direct-go')) await ensureDirectGoBinary(progress);
    env = await startBenchEnv({ kubeconfig: args.kubeconfig, log: progress, tokenController: args.ctxOptions.agents !== undefined });
    observer = new Observer(env.admin);
    await observer.start();
    // Before seeding: the heap a fresh controller has with nothing to cache, subtracted from the end-of-run reading.
    const baseline = args.ctxOptions.systems.includes('flotilla') ? await measureBaseline({ env, run: args.ctxOptions.run }) : undefined;
    const ctx: ScenarioContext = { ...args.ctxOptions, env, observer, ...(wrap ? { wrap } : {}), ...(baseline ? { baseline } : {}) };
    const result = await SCENARIOS[args.scenario].run(ctx);
    const json = {
      scenario: args.scenario,
      parameters: { ...args.ctxOptions.options, systems: args.ctxOptions.systems, run: args.ctxOptions.run, timeoutSeconds: args.ctxOptions.timeoutSeconds, naiveTimeoutSeconds: args.ctxOptions.naiveTimeoutSeconds, ...result.parameters },
      machine: { cores: cpus().length, cpuModel: cpus()[0]?.model ?? '', memoryGiB: round(totalmem() / 1024 ** 3, 1), loadAverage: (await import('node:os')).loadavg().map((l) => round(l, 2)) },
      versions: { node: process.version, kubernetes: env.kubernetesVersion, etcd: env.etcdVersion },
      systemUser: env.systemUser,
      date: new Date().toISOString(),
      totalSeconds: round((Date.now() - started) / 1000, 1),
      results: result.results,
      ...(baseline ? { memoryBaseline: baseline } : {}),
      ratios: ratios(result.results),
      ...result.extra,
    };
    return { json, result };
  } finally {
    await observer?.stop().catch(() => undefined);
    await env?.stop().catch(() => undefined);
  }
}

export function printReport(json: Record<string, unknown>, result: ScenarioResult): void {
  const versions = json.versions as { node: string; kubernetes: string };
  const machine = json.machine as { cores: number; cpuModel: string };
  console.log(`\n${json.scenario} — ${JSON.stringify(result.parameters)}`);
  console.log(`${machine.cores} cores (${machine.cpuModel}), Node ${versions.node}, Kubernetes ${versions.kubernetes}\n`);
  console.log(table(summaryRows(result)));
  for (const note of result.notes) console.log(`\n${note}`);
}

async function main(): Promise<number> {
  // `curves`: several scenarios at several sizes (bench/curves.ts).
  if (process.argv[2] === 'curves') return (await import('./curves.ts')).curvesMain(process.argv.slice(3));
  let args;
  try {
    args = parseBenchArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`bench: ${err.message}\n\n${benchHelp()}`);
      return 2;
    }
    throw err;
  }
  if (args === 'help') {
    process.stdout.write(benchHelp());
    return 0;
  }
  const { json, result } = await runScenario(args);
  printReport(json, result);
  mkdirSync(dirname(args.json), { recursive: true });
  writeFileSync(args.json, `${JSON.stringify(json, null, 2)}\n`);
  console.log(`\nwrote ${args.json}`);
  const failed = (Object.values(result.results) as SystemFigures[]).filter((f) => !f.converged && f.system !== 'naive');
  if (failed.length > 0) {
    process.stderr.write(`bench: did not converge: ${failed.map((f) => f.system).join(', ')}\n`);
    return 1;
  }
  return 0;
}

if (import.meta.main) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
