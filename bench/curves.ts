/**
 * Cost curves: `npm run bench -- curves [options]` runs `cold-start` and
 * `label-flip` (the scenarios' own code, through bench/run.ts's
 * runScenario) at growing numbers of BundleDeployments — 1,000 / 10,000 /
 * 100,000 by default — each on its own fresh control plane, stopped after
 * its run, and shows how each cost grows: a Markdown table on stdout,
 * `bench/results/curves.json` (every run's full JSON beside it, in
 * `bench/results/curves/`), and `bench/results/curves.svg`.
 * bench/README.md explains the columns.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseBenchArgs, runScenario } from './run.ts';
import { curvesSvg, type CurvePanel } from './lib/curves-plot.ts';
import { MiB, progress, round, table, type Cell } from './lib/report.ts';
import type { SystemFigures } from './lib/measure.ts';
import { SYSTEM_NAMES } from './systems/index.ts';

export const DEFAULT_SIZES = [1_000, 10_000, 100_000];
export const CURVE_SCENARIOS = ['cold-start', 'label-flip'] as const;
export type CurveScenario = (typeof CURVE_SCENARIOS)[number];

/** The share of Clusters each cold-start Bundle targets (as the scenario's default). */
const COLD_START_SELECTIVITY = 0.2;
/** Bundles grow with the size up to this many; past it the Clusters grow instead (100,000 = 500 Clusters × 1,000 Bundles at 20 %). */
const MAX_BUNDLES = 1_000;

export interface CurveWorld {
  clusters: number;
  bundles: number;
  selectivity: number;
  /** BundleDeployments that exist once the scenario has converged. */
  bundleDeployments: number;
}

/**
 * The world for `size` BundleDeployments. Bundles = size / 10 (10 to 1,000),
 * then Clusters make up the rest:
 * - cold-start: clusters × bundles × 20 % = size (1,000 → 50 × 100;
 *   10,000 → 50 × 1,000; 100,000 → 500 × 1,000, the issue's world);
 * - label-flip: clusters × bundles converged = size, and the flip adds one
 *   per Bundle (1,000 → 10 × 100 + 100; 100,000 → 100 × 1,000 + 1,000).
 */
export function worldFor(scenario: CurveScenario, size: number): CurveWorld {
  if (!Number.isInteger(size) || size < 100) throw new RangeError(`size must be a whole number ≥ 100, got ${size}`);
  const bundles = Math.min(MAX_BUNDLES, Math.max(10, Math.round(size / 10)));
  if (scenario === 'cold-start') {
    const buckets = Math.round(1 / COLD_START_SELECTIVITY);
    // A multiple of the buckets, so every bucket has as many Clusters and the count is exact.
    const clusters = Math.max(buckets, Math.round(size / (bundles * COLD_START_SELECTIVITY) / buckets) * buckets);
    return { clusters, bundles, selectivity: COLD_START_SELECTIVITY, bundleDeployments: (clusters / buckets) * bundles };
  }
  const clusters = Math.max(1, Math.round(size / bundles));
  return { clusters, bundles, selectivity: COLD_START_SELECTIVITY, bundleDeployments: clusters * bundles + bundles };
}

/** One system's figures in one run: a point of each curve. */
export interface CurvePoint {
  scenario: CurveScenario;
  size: number;
  system: string;
  world: CurveWorld;
  converged: boolean;
  seconds: number | null;
  bundleDeploymentsSeconds: number | null;
  writesTotal: number;
  cpuSeconds: number;
  maxRssBytes: number;
  /** RSS after the run, the overlay drained and full GCs forced (flotilla). */
  settledRssBytes: number | null;
  cachedObjects: number | null;
  jsonBytesPerObject: number | null;
  /** Main-thread heap above the empty-world baseline, per cached object (flotilla). */
  heapBytesPerObject: number | null;
  heapPerJson: number | null;
  baselineRssBytes: number | null;
  apiServerCpuSeconds: number | null;
  etcdCpuSeconds: number | null;
  /** cold-start: the restart over the converged world. */
  restartReadySeconds: number | null;
  restartWrites: number | null;
  /** cold-start: RSS of the restarted (fresh) controller over the converged world, settled. */
  restartSettledRssBytes: number | null;
  /** Main-thread heap used, settled (the slope between sizes is the per-object cost without one-off costs). */
  heapUsedBytes: number | null;
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Pure: the points of one run's JSON (as runScenario returns it). */
export function pointsFrom(scenario: CurveScenario, size: number, world: CurveWorld, json: Record<string, unknown>): CurvePoint[] {
  const results = (json.results ?? {}) as Record<string, SystemFigures>;
  const restarts = (json.restart ?? {}) as Record<string, SystemFigures>;
  return Object.values(results).map((f) => {
    const memory = (f.memory ?? {}) as Record<string, unknown>;
    const restart = restarts[f.system];
    return {
      scenario,
      size,
      system: f.system,
      world,
      converged: f.converged,
      seconds: num(f.seconds),
      bundleDeploymentsSeconds: num(f.bundleDeploymentsSeconds),
      writesTotal: f.writesTotal,
      cpuSeconds: f.cpuSeconds,
      maxRssBytes: f.maxRssBytes,
      settledRssBytes: num(memory.rssBytes),
      cachedObjects: num(memory.cachedObjects),
      jsonBytesPerObject: num(memory.jsonBytesPerObject),
      heapBytesPerObject: num(memory.heapBytesPerObject),
      heapPerJson: num(memory.heapPerJson),
      baselineRssBytes: num(memory.baselineRssBytes),
      apiServerCpuSeconds: num(f.controlPlane?.apiServerCpuSeconds),
      etcdCpuSeconds: num(f.controlPlane?.etcdCpuSeconds),
      restartReadySeconds: num(restart?.readySeconds),
      restartWrites: num(restart?.writesTotal),
      restartSettledRssBytes: num((restart?.memory as Record<string, unknown> | undefined)?.rssBytes),
      heapUsedBytes: num(memory.heapUsedBytes),
    };
  });
}

const mib = (b: number | null) => (b === null ? null : round(b / MiB, 1));

/**
 * Heap bytes per cached object between this point and the next smaller size
 * of the same scenario and system: the per-object cost with the one-off costs
 * of a run (compiled code, metric series) cancelled out. Null for the smallest.
 */
export function slope(points: CurvePoint[], p: CurvePoint): number | null {
  const smaller = points
    .filter((q) => q.scenario === p.scenario && q.system === p.system && q.size < p.size && q.heapUsedBytes !== null && q.cachedObjects !== null)
    .sort((a, b) => b.size - a.size)[0];
  if (!smaller || p.heapUsedBytes === null || p.cachedObjects === null || smaller.cachedObjects === null || smaller.heapUsedBytes === null) return null;
  const dObjects = p.cachedObjects - smaller.cachedObjects;
  return dObjects > 0 ? Math.round((p.heapUsedBytes - smaller.heapUsedBytes) / dObjects) : null;
}

export function curvesTable(points: CurvePoint[]): string {
  return table(
    points.map((p): Record<string, Cell> => ({
      scenario: p.scenario,
      system: p.system,
      BDs: p.world.bundleDeployments,
      world: `${p.world.clusters} × ${p.world.bundles}${p.scenario === 'cold-start' ? ` @ ${p.world.selectivity}` : ''}`,
      seconds: p.converged ? p.seconds : 'NO',
      'BDs s': p.bundleDeploymentsSeconds,
      writes: p.writesTotal,
      'CPU s': p.cpuSeconds,
      'max RSS MiB': mib(p.maxRssBytes),
      'settled RSS MiB': mib(p.settledRssBytes),
      'heap B/obj': p.heapBytesPerObject,
      'JSON B/obj': p.jsonBytesPerObject,
      'heap/JSON': p.heapPerJson,
      'apiserver CPU s': p.apiServerCpuSeconds,
      'etcd CPU s': p.etcdCpuSeconds,
      'restart ready s': p.restartReadySeconds,
      'fresh RSS MiB': mib(p.restartSettledRssBytes),
      'Δheap/ΔBD B': slope(points, p),
    })),
  );
}

/** Pure: the plot's panels, one series per scenario × system. */
export function curvesPanels(points: CurvePoint[]): CurvePanel[] {
  const seriesOf = (value: (p: CurvePoint) => number | null) => {
    const byName = new Map<string, Array<[number, number | null]>>();
    for (const p of points) {
      const name = `${p.scenario} ${p.system}`;
      const list = byName.get(name) ?? [];
      list.push([p.world.bundleDeployments, p.converged || value === rssOf ? value(p) : null]);
      byName.set(name, list);
    }
    return [...byName].map(([name, pts]) => ({ name, points: pts }));
  };
  const rssOf = (p: CurvePoint) => mib(p.maxRssBytes);
  return [
    { title: 'Time to converge', unit: 's', series: seriesOf((p) => p.seconds) },
    { title: 'Controller CPU', unit: 's', series: seriesOf((p) => p.cpuSeconds) },
    { title: 'Writes', unit: 'requests', series: seriesOf((p) => p.writesTotal) },
    { title: 'Peak RSS', unit: 'MiB', series: seriesOf(rssOf) },
    { title: 'Settled RSS', unit: 'MiB', series: seriesOf((p) => mib(p.settledRssBytes)) },
    { title: 'Fresh controller RSS (cold-start restart)', unit: 'MiB', series: seriesOf((p) => mib(p.restartSettledRssBytes)) },
    { title: 'Heap per cached object ÷ JSON', unit: '×', series: seriesOf((p) => p.heapPerJson) },
    { title: 'kube-apiserver CPU', unit: 's', series: seriesOf((p) => p.apiServerCpuSeconds) },
    { title: 'etcd CPU', unit: 's', series: seriesOf((p) => p.etcdCpuSeconds) },
  ];
}

export const curvesHelp = (command = process.env.FLOTILLA_BENCH_COMMAND || 'npm run bench --'): string => `Usage: ${command} curves [options]

Runs cold-start and label-flip at each size (BundleDeployments), each run on
its own local control plane, and writes a table (stdout), JSON and an SVG plot.
World per size: Bundles = size/10 (10 to ${MAX_BUNDLES}), Clusters the rest
(cold-start at ${COLD_START_SELECTIVITY} selectivity; label-flip: converged Clusters × Bundles).

Options:
  --sizes LIST        BundleDeployments per run (default ${DEFAULT_SIZES.join(',')})
  --scenarios LIST    subset of ${CURVE_SCENARIOS.join(',')} (default both)
  --systems LIST      systems per run, as for scenarios (default flotilla)
  --concurrency N, --qps N, --burst N   as for scenarios
  --timeout S         per-system deadline (default max(600, BundleDeployments/100))
  --json FILE         default bench/results/curves.json (each run's JSON in curves/ beside it)
  --svg FILE          default: the JSON's name with .svg
  -h, --help          this text
`;

class UsageError extends Error {}

export interface CurvesArgs {
  sizes: number[];
  scenarios: CurveScenario[];
  systems: string;
  passthrough: string[];
  timeout: string | undefined;
  json: string;
  svg: string;
}

export function parseCurvesArgs(argv: string[]): CurvesArgs | 'help' {
  let v;
  try {
    v = parseArgs({
      args: argv,
      options: {
        sizes: { type: 'string' },
        scenarios: { type: 'string' },
        systems: { type: 'string' },
        concurrency: { type: 'string' },
        qps: { type: 'string' },
        burst: { type: 'string' },
        timeout: { type: 'string' },
        json: { type: 'string' },
        svg: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (v.help) return 'help';
  const sizes = (v.sizes ?? DEFAULT_SIZES.join(',')).split(',').map((s) => Number(s.trim().replace(/_/g, '')));
  for (const s of sizes) if (!Number.isInteger(s) || s < 100) throw new UsageError(`--sizes: each size must be a whole number ≥ 100 (got ${v.sizes})`);
  const scenarios = (v.scenarios ?? CURVE_SCENARIOS.join(',')).split(',').map((s) => s.trim());
  for (const s of scenarios) if (!(CURVE_SCENARIOS as readonly string[]).includes(s)) throw new UsageError(`--scenarios: unknown ${JSON.stringify(s)}; of ${CURVE_SCENARIOS.join(', ')}`);
  const systems = v.systems ?? 'flotilla';
  for (const s of systems.split(',')) if (!(SYSTEM_NAMES as readonly string[]).includes(s.trim())) throw new UsageError(`--systems: unknown ${JSON.stringify(s)}; of ${SYSTEM_NAMES.join(', ')}`);
  const json = resolve(v.json ?? 'bench/results/curves.json');
  const passthrough = (['concurrency', 'qps', 'burst'] as const).flatMap((k) => (v[k] === undefined ? [] : [`--${k}`, v[k] as string]));
  return { sizes, scenarios: scenarios as CurveScenario[], systems, passthrough, timeout: v.timeout, json, svg: resolve(v.svg ?? join(dirname(json), `${basename(json, extname(json))}.svg`)) };
}

/** The `npm run bench -- <scenario>` arguments of one run. */
export function scenarioArgv(args: CurvesArgs, scenario: CurveScenario, world: CurveWorld, json: string): string[] {
  const timeout = args.timeout ?? String(Math.max(600, Math.ceil(world.bundleDeployments / 100)));
  return [
    scenario,
    '--clusters', String(world.clusters),
    '--bundles', String(world.bundles),
    ...(scenario === 'cold-start' ? ['--selectivity', String(world.selectivity)] : []),
    '--systems', args.systems,
    '--timeout', timeout,
    ...args.passthrough,
    '--json', json,
  ];
}

export async function curvesMain(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseCurvesArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`bench curves: ${err.message}\n\n${curvesHelp()}`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(curvesHelp());
    return 0;
  }
  const runsDir = join(dirname(args.json), basename(args.json, extname(args.json)));
  mkdirSync(runsDir, { recursive: true });
  const started = Date.now();
  const points: CurvePoint[] = [];
  const runs: Array<Record<string, unknown>> = [];
  let versions: unknown;
  const write = () => {
    const out = {
      command: 'curves',
      parameters: { sizes: args.sizes, scenarios: args.scenarios, systems: args.systems, passthrough: args.passthrough, timeout: args.timeout ?? 'max(600, BundleDeployments/100)' },
      machine: { cores: cpus().length, cpuModel: cpus()[0]?.model ?? '', memoryGiB: round(totalmem() / 1024 ** 3, 1), loadAverageAtEnd: loadavg().map((l) => round(l, 2)) },
      versions,
      date: new Date().toISOString(),
      totalSeconds: round((Date.now() - started) / 1000, 1),
      runs,
      points,
    };
    writeFileSync(args.json, `${JSON.stringify(out, null, 2)}\n`);
    const subtitle = `${args.scenarios.join(', ')} at ${args.sizes.join(' / ')} BundleDeployments; ${cpus().length} cores; ${new Date().toISOString().slice(0, 16)}Z`;
    writeFileSync(args.svg, curvesSvg(curvesPanels(points), { title: 'Flotilla cost curves', subtitle }));
  };
  let failed = false;
  // Smallest first, so a problem shows before the long runs.
  for (const size of [...args.sizes].sort((a, b) => a - b)) {
    for (const scenario of args.scenarios) {
      const world = worldFor(scenario, size);
      const runJson = join(runsDir, `${scenario}-${size}.json`);
      const parsed = parseBenchArgs(scenarioArgv(args, scenario, world, runJson));
      if (parsed === 'help') throw new Error('unreachable: no --help passed');
      progress(`curves: ${scenario} at ${size} BundleDeployments (${world.clusters} clusters × ${world.bundles} bundles${scenario === 'cold-start' ? ` at ${world.selectivity}` : ''} → ${world.bundleDeployments})`);
      try {
        const { json } = await runScenario(parsed);
        writeFileSync(runJson, `${JSON.stringify(json, null, 2)}\n`);
        versions = json.versions;
        const pts = pointsFrom(scenario, size, world, json);
        points.push(...pts);
        runs.push({ scenario, size, world, json: runJson, totalSeconds: json.totalSeconds });
        if (pts.some((p) => !p.converged && p.system !== 'naive')) failed = true;
      } catch (err) {
        failed = true;
        runs.push({ scenario, size, world, error: err instanceof Error ? err.message : String(err) });
        progress(`curves: ${scenario} at ${size} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      write(); // after every run: a late failure keeps what was measured
    }
  }
  console.log(`\nCost curves (${args.systems})\n`);
  console.log(curvesTable(points));
  console.log(`\nwrote ${args.json}, ${args.svg} and each run's JSON in ${runsDir}/`);
  return failed ? 1 : 0;
}
