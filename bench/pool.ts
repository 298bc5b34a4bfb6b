/**
 * Selector pool benchmark: inline vs pooled matching, the crossover that
 * sets DEFAULT_INLINE_THRESHOLD, delta broadcast cost and replica bootstrap.
 *
 *   node_modules/.bin/node bench/pool.ts [--json FILE] [--quick]
 *
 * "main busy" is the main thread's busy time per query, from
 * performance.eventLoopUtilization() (hrtime-precise; process.threadCpuUsage
 * only advances in 4 ms kernel ticks here, so it is reported as a mean over
 * a whole run, "main CPU mean"). It is the resource the pool exists to save;
 * "wall" is the caller's latency. Queries run one at a time (await each),
 * after a warm-up, against synced replicas.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { compileSelector, type LabelSelector, type Labels } from '../src/labels/selector.ts';
import { SelectorIndex } from '../src/labels/selector-index.ts';
import { DEFAULT_INLINE_THRESHOLD, SelectorMatchPool, type PoolTask } from '../src/runtime/pool/index.ts';
import { dist, type Dist } from './lib/distribution.ts';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const jsonArg = args.indexOf('--json');
const jsonPath = jsonArg >= 0 && args[jsonArg + 1] ? resolve(args[jsonArg + 1] as string) : fileURLToPath(new URL('./results/pool.json', import.meta.url));
const SIZES = [10, 100, 1000, 10_000];


function cpuMicros(): number {
  const u = process.threadCpuUsage();
  return u.user + u.system;
}

interface Measured {
  wall: Dist;
  busy: Dist;
  /** Mean main-thread CPU per call over the whole run (tick-granular clock, so only the mean is meaningful). */
  cpuMean: number;
}

/** Runs `fn` `n` times sequentially; per-call wall and main-thread busy time, in µs. */
async function measure(n: number, fn: () => Promise<unknown> | unknown): Promise<Measured> {
  const walls: number[] = [];
  const busy: number[] = [];
  const c0 = cpuMicros();
  for (let i = 0; i < n; i++) {
    const e0 = performance.eventLoopUtilization();
    const t0 = performance.now();
    await fn();
    walls.push((performance.now() - t0) * 1000);
    busy.push(performance.eventLoopUtilization(e0).active * 1000);
  }
  return { wall: dist(walls), busy: dist(busy), cpuMean: (cpuMicros() - c0) / n };
}

const apps = Array.from({ length: 20 }, (_, i) => `a${i}`);

/**
 * N selectors that all share the anchor `env=prod`, so a prod cluster's query
 * evaluates every one of them (cost = N, the worst case for the index), and
 * each matches ~10% of clusters:
 * - light: `env=prod` + one of ten `team-k` keys Exists (two cheap checks);
 * - heavy: `env=prod` + `app NotIn` 18 of 20 values (a Set per selector:
 *   10,000 distinct sets do not stay in cache).
 */
const workloads = {
  light: (i: number): LabelSelector => ({ matchLabels: { env: 'prod' }, matchExpressions: [{ key: `team-${i % 10}`, operator: 'Exists' }] }),
  heavy: (i: number): LabelSelector => ({
    matchLabels: { env: 'prod' },
    matchExpressions: [{ key: 'app', operator: 'NotIn', values: apps.filter((_, j) => j !== i % 20 && j !== (i + 1) % 20) }],
  }),
} as const;
type Workload = keyof typeof workloads;

const clusterLabels: Labels = { env: 'prod', app: 'a3', region: 'eu-west-1', tier: 'web', 'team-3': 'x', 'flotilla.dev/workspace': 'true' };

function fmt(x: number, digits = 1): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '-';
}

function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => r.map((v, c) => v.padStart(widths[c] ?? 0)).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

async function benchMatcher() {
  // Per-evaluation cost of a compiled selector (best of several 10k scans), and what the inverted index saves.
  const n = 10_000;
  const perEval: Record<string, number> = {};
  for (const w of Object.keys(workloads) as Workload[]) {
    const selectors = Array.from({ length: n }, (_, i) => compileSelector(workloads[w](i)));
    let best = Infinity;
    for (let r = 0; r < (quick ? 5 : 20); r++) {
      const t0 = performance.now();
      for (let k = 0; k < 10; k++) for (const s of selectors) s.matches(clusterLabels);
      best = Math.min(best, ((performance.now() - t0) * 1000) / (10 * n));
    }
    perEval[w] = best;
  }
  const index = new SelectorIndex();
  const typical = Array.from({ length: n }, (_, i) => compileSelector({ matchLabels: { app: `a${i % 500}` }, matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] }));
  typical.forEach((s, i) => index.upsertSelector(`s${i}`, 'ws', s));
  const scan = () => typical.filter((s) => s.matches(clusterLabels)).length;
  const viaIndex = () => index.selectorsMatching('ws', clusterLabels).length;
  const scanM = await measure(quick ? 50 : 300, scan);
  const indexM = await measure(quick ? 50 : 300, viaIndex);
  return {
    microsPerEvaluation: perEval,
    typicalQuery10k: { candidates: index.costOfSelectorsMatching('ws', clusterLabels), matches: viaIndex(), scanMicrosP50: scanM.wall.p50, indexMicrosP50: indexM.wall.p50 },
  };
}

interface QueryRow {
  workload: Workload;
  selectors: number;
  cost: number;
  matches: number;
  inline: Measured;
  pooled: Measured;
}

async function benchQueries(): Promise<QueryRow[]> {
  const rows: QueryRow[] = [];
  const pool = new SelectorMatchPool({ threads: 2, maxQueue: 16, inlineThreshold: 0, registry: new Registry() });
  try {
    const loaded: Record<Workload, number> = { light: 0, heavy: 0 };
    for (const n of SIZES) {
      for (const w of Object.keys(workloads) as Workload[]) {
        for (; loaded[w] < n; loaded[w]++) pool.upsertSelector(`${w}-${loaded[w]}`, w, workloads[w](loaded[w]));
        await pool.whenSynced(60_000);
        const task: PoolTask = { kind: 'selectorsMatching', partition: w, labels: clusterLabels };
        const cost = pool.index.costOfSelectorsMatching(w, clusterLabels);
        const iterations = quick ? 200 : n >= 10_000 ? 500 : 2000;
        const inlineCall = () => pool.execute(task, { cost: 0 }); // cost 0 <= threshold 0: inline
        const pooledCall = () => pool.execute(task, { cost: 1 }); // cost 1 > threshold 0: pooled
        const check = await pooledCall();
        if (check.path !== 'pooled') throw new Error('expected a pooled task');
        await measure(Math.min(200, iterations), inlineCall); // warm-up
        await measure(Math.min(200, iterations), pooledCall);
        const inline = await measure(iterations, inlineCall);
        const pooled = await measure(iterations, pooledCall);
        rows.push({ workload: w, selectors: n, cost, matches: (check.value as string[]).length, inline, pooled });
      }
    }
  } finally {
    await pool.close();
  }
  return rows;
}

/**
 * Cost (selector evaluations) where a pooled query stops costing the main
 * thread more than running it inline: inline busy time fitted linearly over
 * cost (1,000 and 10,000 points), against the pooled busy time of a query
 * with a small result (its fixed per-task cost).
 */
function crossover(rows: QueryRow[], workload: Workload) {
  const mine = rows.filter((r) => r.workload === workload);
  const a = mine[mine.length - 2];
  const b = mine[mine.length - 1];
  if (!a || !b) return { workload, evaluations: Number.NaN, inlineMicrosPerEvaluation: Number.NaN, pooledBusyMicros: Number.NaN };
  const slope = (b.inline.busy.p50 - a.inline.busy.p50) / (b.cost - a.cost);
  const intercept = a.inline.busy.p50 - slope * a.cost;
  const pooledFixed = Math.min(...mine.map((r) => r.pooled.busy.p50));
  return { workload, evaluations: Math.round((pooledFixed - intercept) / slope), inlineMicrosPerEvaluation: slope, pooledBusyMicros: pooledFixed };
}

async function benchDeltas() {
  const rows: Array<{ threads: number; batch: number; mainBusyMicrosPerBatch: number; mainBusyMicrosPerDelta: number; syncMillis: number }> = [];
  for (const threads of [1, 2]) {
    const pool = new SelectorMatchPool({ threads, maxQueue: 16, registry: new Registry(), maxPendingDeltas: 100_000 });
    try {
      await pool.whenSynced(60_000);
      let id = 0;
      for (const batch of [1, 10, 100, 1000]) {
        const reps = quick ? 10 : batch >= 1000 ? 20 : 100;
        let busy = 0;
        let wall = 0;
        for (let r = 0; r < reps; r++) {
          const e0 = performance.eventLoopUtilization();
          const t0 = performance.now();
          // Index update + delta record + flush + receiving every replica's ack (the whole main-thread cost).
          for (let i = 0; i < batch; i++) pool.upsertLabels(`cluster-${id++ % 5000}`, 'ws', { env: 'prod', app: `a${id % 20}`, rev: String(id) });
          await pool.whenSynced(60_000);
          wall += performance.now() - t0;
          busy += performance.eventLoopUtilization(e0).active * 1000;
        }
        rows.push({ threads, batch, mainBusyMicrosPerBatch: busy / reps, mainBusyMicrosPerDelta: busy / reps / batch, syncMillis: wall / reps });
      }
    } finally {
      await pool.close();
    }
  }
  return rows;
}

async function benchBootstrap() {
  // A new/replacement worker: snapshot of 10k selectors + 10k label sets, then in step.
  const pool = new SelectorMatchPool({ threads: 0, maxQueue: 16, registry: new Registry() });
  for (let i = 0; i < 10_000; i++) pool.upsertSelector(`bundle-${i}`, 'ws', workloads.heavy(i));
  for (let i = 0; i < 10_000; i++) pool.upsertLabels(`cluster-${i}`, 'ws', { env: i % 2 ? 'prod' : 'dev', app: `a${i % 20}` });
  const e0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  const resized = pool.resize({ threads: 2 });
  await pool.whenSynced(120_000);
  await resized;
  const result = { selectors: 10_000, labelSets: 10_000, threads: 2, syncMillis: performance.now() - t0, mainBusyMillis: performance.eventLoopUtilization(e0).active };
  await pool.close();
  return result;
}

async function benchAtomics() {
  const rows: Array<{ atomics: string } & Measured> = [];
  for (const atomics of ['disabled', 'async'] as const) {
    const pool = new SelectorMatchPool({ threads: 1, maxQueue: 4, inlineThreshold: 0, atomics, registry: new Registry() });
    try {
      pool.upsertSelector('s', 'ws', { matchLabels: { env: 'prod' } });
      await pool.whenSynced(60_000);
      const call = () => pool.execute({ kind: 'selectorsMatching', partition: 'ws', labels: clusterLabels }, { cost: 1 });
      await measure(300, call);
      rows.push({ atomics, ...(await measure(quick ? 300 : 2000, call)) });
    } finally {
      await pool.close();
    }
  }
  return rows;
}

const meta = { date: new Date().toISOString(), node: process.version, cpus: cpus().length, loadavg: loadavg().map((l) => Number(l.toFixed(2))), quick };
console.log(`selector pool benchmark (node ${meta.node}, ${meta.cpus} cpus, load ${meta.loadavg.join(' ')})\n`);

const matcher = await benchMatcher();
console.log(`matcher, µs per selector evaluation (best 10k scan): light ${fmt(matcher.microsPerEvaluation.light ?? NaN, 3)}, heavy ${fmt(matcher.microsPerEvaluation.heavy ?? NaN, 3)}`);
const t = matcher.typicalQuery10k;
console.log(`inverted index, typical query over 10k selectors (${t.candidates} candidates, ${t.matches} matches): ${fmt(t.indexMicrosP50)} µs vs full scan ${fmt(t.scanMicrosP50)} µs (p50)\n`);

const queries = await benchQueries();
console.log('selectorsMatching, every selector a candidate (cost = selectors), 2 threads, µs per query:');
console.log(
  table(
    ['workload', 'selectors', 'matches', 'inline wall p50', 'p99', 'inline busy p50', 'p99', 'pooled wall p50', 'p99', 'pooled busy p50', 'p99', 'pooled CPU mean'],
    queries.map((r) => [
      r.workload, r.selectors, r.matches,
      fmt(r.inline.wall.p50), fmt(r.inline.wall.p99), fmt(r.inline.busy.p50), fmt(r.inline.busy.p99),
      fmt(r.pooled.wall.p50), fmt(r.pooled.wall.p99), fmt(r.pooled.busy.p50), fmt(r.pooled.busy.p99), fmt(r.pooled.cpuMean),
    ]),
  ),
);
const crossovers = (Object.keys(workloads) as Workload[]).map((w) => crossover(queries, w));
console.log('\ncrossover (main-thread busy time, inline = pooled):');
for (const c of crossovers) {
  console.log(`  ${c.workload}: inline ${fmt(c.inlineMicrosPerEvaluation, 3)} µs/evaluation vs pooled ${fmt(c.pooledBusyMicros)} µs/query -> ${c.evaluations} evaluations`);
}
console.log(`  DEFAULT_INLINE_THRESHOLD = ${DEFAULT_INLINE_THRESHOLD}\n`);

const deltas = await benchDeltas();
console.log('delta broadcast (upsertLabels batches: index update, flush, every replica acknowledged):');
console.log(
  table(
    ['threads', 'batch', 'main busy µs/batch', 'µs/delta', 'until synced ms'],
    deltas.map((r) => [r.threads, r.batch, fmt(r.mainBusyMicrosPerBatch), fmt(r.mainBusyMicrosPerDelta, 2), fmt(r.syncMillis, 2)]),
  ),
);

const bootstrap = await benchBootstrap();
console.log(
  `\nreplica bootstrap: ${bootstrap.threads} new workers, snapshot of ${bootstrap.selectors} selectors + ${bootstrap.labelSets} label sets, ` +
    `in step after ${fmt(bootstrap.syncMillis, 0)} ms (main thread busy ${fmt(bootstrap.mainBusyMillis, 1)} ms)`,
);

const atomics = await benchAtomics();
console.log('\nPiscina atomics mode, small pooled query, µs:');
console.log(table(['atomics', 'wall p50', 'p99', 'main busy p50', 'p99'], atomics.map((r) => [r.atomics, fmt(r.wall.p50), fmt(r.wall.p99), fmt(r.busy.p50), fmt(r.busy.p99)])));

mkdirSync(dirname(jsonPath), { recursive: true });
writeFileSync(jsonPath, `${JSON.stringify({ meta, matcher, queries, crossovers, defaultInlineThreshold: DEFAULT_INLINE_THRESHOLD, deltas, bootstrap, atomics }, null, 2)}\n`);
console.log(`\nwrote ${jsonPath}`);
