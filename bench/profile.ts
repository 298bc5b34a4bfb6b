/**
 * Profiles the controller while a benchmark scenario runs:
 *
 *   npm run profile -- <scenario> [scenario options] [--out DIR] [--tools cpu-prof,flame,doctor,bubbleprof]
 *
 * Each tool is a separate run of the scenario with `--systems flotilla`
 * (baselines are not profiled), with the controller's command wrapped:
 *
 *  cpu-prof    node --cpu-prof --cpu-prof-dir DIR: one .cpuprofile per thread,
 *              main thread and every pool worker — the accurate profiles
 *              (open in Chrome DevTools → Performance, or speedscope);
 *  flame       clinic flame (0x): sees the main thread only, and here stalls
 *              analysing the per-isolate V8 logs the worker threads add;
 *              tried, and its failure reported with clinic's last output;
 *  doctor      clinic doctor: known to crash on processes with worker
 *              threads (node-clinic-doctor#304); it worked in our runs
 *              (clinic 13, Node 24.21), and its outcome is reported either way;
 *  bubbleprof  clinic bubbleprof: async_hooks-based, tried and reported.
 *
 * clinic runs headless (NO_INSIGHT=1, --open=false) and is stopped with
 * SIGINT, which it relays to the controller before writing its report.
 * Figures measured under a profiler are not benchmark results: the table is
 * printed for orientation only. Exit code: 0 if the cpu-prof run produced
 * profiles, 1 otherwise, 2 on a usage error.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LaunchCommand, LaunchWrapper } from './lib/launch.ts';
import { progress } from './lib/report.ts';
import { HELP as BENCH_HELP, parseBenchArgs, printReport, runScenario } from './run.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const CLINIC = join(ROOT, 'node_modules/clinic/bin.js');
// clinic relays SIGINT to the controller, but if clinic itself dies first
// (flame stalls and is killed) the controller would outlive the run: every
// process started under clinic carries this marker and is stopped afterwards.
const RUN_MARKER = 'FLOTILLA_PROFILE_RUN';
const RUN_ID = `${process.pid}-${Date.now()}`;

/** SIGTERMs the processes (ours) whose environment carries this run's marker. */
function stopMarkedProcesses(): number {
  let stopped = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0').includes(`${RUN_MARKER}=${RUN_ID}`)) {
        process.kill(Number(entry), 'SIGTERM');
        stopped++;
      }
    } catch {
      // Gone, or not ours to read.
    }
  }
  return stopped;
}

const TOOLS = ['cpu-prof', 'flame', 'doctor', 'bubbleprof'] as const;
type Tool = (typeof TOOLS)[number];

const HELP = `Usage: npm run profile -- <scenario> [scenario options] [--out DIR] [--tools LIST]

Runs <scenario> with --systems flotilla once per tool, the controller wrapped by:
  cpu-prof    node --cpu-prof (one .cpuprofile per thread: main + workers; accurate)
  flame       clinic flame (main thread only)
  doctor      clinic doctor (known to crash with worker threads: node-clinic-doctor#304)
  bubbleprof  clinic bubbleprof
Reports go to --out (default bench/profiles/<scenario>-<timestamp>), printed at the end.

  --tools LIST   comma-separated subset of ${TOOLS.join(',')} (default all)
  --out DIR      output folder

Scenario options are those of npm run bench:
${BENCH_HELP.slice(BENCH_HELP.indexOf('Options:'))}`;

function wrapperFor(tool: Tool, dir: string): LaunchWrapper {
  return (cmd: LaunchCommand): LaunchCommand => {
    const [script, ...rest] = cmd.args;
    if (tool === 'cpu-prof') {
      return { ...cmd, args: ['--cpu-prof', '--cpu-prof-dir', dir, script as string, ...rest], stopGraceMs: 120_000 };
    }
    return {
      binary: process.execPath,
      args: [CLINIC, tool, '--open=false', '--dest', dir, '--', cmd.binary, script as string, ...rest],
      env: { ...cmd.env, NO_INSIGHT: '1', [RUN_MARKER]: RUN_ID },
      stopSignal: 'SIGINT',
      // clinic analyses after the controller exits (doctor: under a minute here).
      stopGraceMs: 120_000,
    };
  };
}

/** The tail of the wrapped controller's output (clinic's messages land there), for a failure report. */
function launchLogTail(dest: string, lines = 8): string {
  const candidates = readdirSync(tmpdir())
    .filter((d) => d.startsWith('bench-flotilla-'))
    .map((d) => join(tmpdir(), d, 'flotilla.log'))
    .filter((f) => existsSync(f) && readFileSync(f, 'utf8').includes(`--dest ${dest} `))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (candidates.length === 0) return '';
  const text = readFileSync(candidates[0] as string, 'utf8').split('\n').filter((l) => !l.startsWith('{'));
  return text.slice(-lines).join('\n');
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...listFiles(path));
    else out.push(path);
  }
  return out;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(HELP);
    return 0;
  }
  const take = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    if (i < 0) return undefined;
    const value = argv[i + 1];
    argv.splice(i, 2);
    return value;
  };
  const toolsArg = take('--tools');
  const outArg = take('--out');
  const tools = (toolsArg ?? TOOLS.join(',')).split(',').map((t) => t.trim()) as Tool[];
  for (const t of tools) {
    if (!TOOLS.includes(t)) {
      process.stderr.write(`profile: unknown tool ${JSON.stringify(t)}; one of ${TOOLS.join(', ')}\n`);
      return 2;
    }
  }
  let args;
  try {
    args = parseBenchArgs([...argv.filter((a, i) => a !== '--systems' && argv[i - 1] !== '--systems'), '--systems', 'flotilla']);
  } catch (err) {
    process.stderr.write(`profile: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const out = resolve(outArg ?? join(ROOT, 'bench/profiles', `${args.scenario}-${new Date().toISOString().replace(/[:.]/g, '-')}`));
  mkdirSync(out, { recursive: true });
  const outcomes: Record<string, { ok: boolean; files: string[]; error?: string }> = {};
  for (const tool of tools) {
    const dir = join(out, tool);
    mkdirSync(dir, { recursive: true });
    progress(`profile: ${args.scenario} under ${tool} → ${dir}`);
    try {
      const { json, result } = await runScenario({ ...args, json: join(dir, 'bench.json') }, wrapperFor(tool, dir));
      writeFileSync(join(dir, 'bench.json'), `${JSON.stringify(json, null, 2)}\n`);
      printReport(json, result);
      const files = listFiles(dir).filter((f) => !f.endsWith('bench.json'));
      const produced = tool === 'cpu-prof' ? files.filter((f) => f.endsWith('.cpuprofile')) : files.filter((f) => f.endsWith('.html'));
      outcomes[tool] =
        produced.length > 0
          ? { ok: true, files: produced }
          : { ok: false, files, error: `no ${tool === 'cpu-prof' ? '.cpuprofile' : '.html'} report was written; last output:\n${launchLogTail(dir)}` };
    } catch (err) {
      outcomes[tool] = { ok: false, files: listFiles(dir), error: err instanceof Error ? err.message.split('\n').slice(0, 6).join('\n') : String(err) };
    }
    const leftovers = stopMarkedProcesses();
    if (leftovers > 0) progress(`profile: stopped ${leftovers} process(es) clinic left behind`);
  }
  console.log(`\nProfiles in ${out}`);
  for (const [tool, o] of Object.entries(outcomes)) {
    console.log(`\n${tool}: ${o.ok ? 'ok' : 'FAILED'}${o.error ? ` — ${o.error}` : ''}`);
    if (tool === 'doctor' && !o.ok) console.log('  (clinic doctor is known to crash on processes with worker threads: node-clinic-doctor#304)');
    if (tool === 'flame' && !o.ok) console.log('  (clinic flame writes one V8 log per isolate — main thread and pool workers — and stalls analysing them; use the cpu-prof profiles)');
    for (const f of o.files) console.log(`  ${relative(out, f)}`);
  }
  writeFileSync(join(out, 'outcomes.json'), `${JSON.stringify(outcomes, null, 2)}\n`);
  return outcomes['cpu-prof']?.ok === false ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`profile: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
