/**
 * Profiles the controller while a benchmark scenario runs:
 *
 *   npm run profile -- <scenario> [scenario options] [--out DIR] [--tools cpu-prof,doctor,bubbleprof,flame]
 *
 * Each tool is a separate run of the scenario with `--systems flotilla`
 * (baselines are not profiled), with the controller's command wrapped:
 *
 *  cpu-prof    node --cpu-prof --cpu-prof-dir DIR: one .cpuprofile per thread,
 *              main thread and every pool worker — the accurate profiles
 *              (open in Chrome DevTools → Performance, or speedscope); each
 *              main-thread profile is also rendered as a self-contained
 *              flame graph (`.flame.svg`, bench/lib/flamegraph.ts) with its
 *              collapsed stacks (`.collapsed`);
 *  doctor      clinic doctor: known to crash on processes with worker
 *              threads (node-clinic-doctor#304); its outcome is reported;
 *  bubbleprof  clinic bubbleprof: async_hooks-based, tried and reported;
 *  flame       clinic flame (0x), only when asked for: it sees the main
 *              thread only and stalls ~140 s analysing the per-isolate V8
 *              logs the worker threads add; cpu-prof's flame graph replaces it.
 *
 * A tool counts as ok only if its report holds data (bench/lib/profile-reports.ts):
 * clinic writes its HTML page even around an empty analysis, and a
 * `.cpuprofile` can have no samples. clinic runs headless (NO_INSIGHT=1,
 * --open=false) and is stopped with SIGINT, which it relays to the
 * controller before writing its report. The controller's CPU seconds are
 * read from its own process (under clinic, clinic's child). Figures measured
 * under a profiler are not benchmark results: the table is printed for
 * orientation only. Exit code: 0 if the cpu-prof run produced profiles with
 * samples, 1 otherwise, 2 on a usage error.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collapseProfile, collapsedText, flameGraphSvg, isMainThreadProfile, type CpuProfile } from './lib/flamegraph.ts';
import type { LaunchCommand, LaunchWrapper } from './lib/launch.ts';
import { clinicReportProblem, cpuProfileProblem } from './lib/profile-reports.ts';
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

const TOOLS = ['cpu-prof', 'doctor', 'bubbleprof', 'flame'] as const;
type Tool = (typeof TOOLS)[number];
/** clinic flame stalls on the worker threads' logs: run only when asked for. */
const DEFAULT_TOOLS: readonly Tool[] = ['cpu-prof', 'doctor', 'bubbleprof'];

const HELP = `Usage: npm run profile -- <scenario> [scenario options] [--out DIR] [--tools LIST]

Runs <scenario> with --systems flotilla once per tool, the controller wrapped by:
  cpu-prof    node --cpu-prof (one .cpuprofile per thread: main + workers; accurate),
              plus a flame graph of each main thread (.flame.svg, self-contained) and
              its collapsed stacks (.collapsed)
  doctor      clinic doctor (known to crash with worker threads: node-clinic-doctor#304)
  bubbleprof  clinic bubbleprof
  flame       clinic flame (main thread only; stalls ~140 s on the worker threads' logs;
              not run unless listed)
A tool is ok only when its report holds data (an empty clinic page is FAILED, with why).
Reports go to --out (default bench/profiles/<scenario>-<timestamp>), printed at the end.

  --tools LIST   comma-separated subset of ${TOOLS.join(',')} (default ${DEFAULT_TOOLS.join(',')})
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

interface Outcome {
  ok: boolean;
  files: string[];
  error?: string;
  /** The controller's own CPU seconds in the measured window (its process, not the wrapper's). */
  controllerCpuSeconds?: number;
}

/** cpu-prof: ok when a main-thread profile has samples; each one gets a flame graph and its collapsed stacks. */
function cpuProfOutcome(dir: string): Outcome {
  const profiles = listFiles(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (profiles.length === 0) return { ok: false, files: listFiles(dir), error: `no .cpuprofile was written; last output:\n${launchLogTail(dir)}` };
  const problems: string[] = [];
  const files = [...profiles];
  let usable = 0;
  for (const file of profiles.filter((f) => isMainThreadProfile(basename(f)))) {
    const text = readFileSync(file, 'utf8');
    const problem = cpuProfileProblem(text);
    if (problem) {
      problems.push(`${basename(file)}: ${problem}`);
      continue;
    }
    const stacks = collapseProfile(JSON.parse(text) as CpuProfile);
    const base = file.replace(/\.cpuprofile$/, '');
    writeFileSync(`${base}.collapsed`, collapsedText(stacks));
    writeFileSync(`${base}.flame.svg`, flameGraphSvg(stacks, { title: `Flotilla main thread — ${basename(file)}` }));
    files.push(`${base}.flame.svg`, `${base}.collapsed`);
    usable++;
  }
  if (usable === 0) return { ok: false, files, error: problems.length > 0 ? `no main-thread profile with samples: ${problems.join('; ')}` : 'no main-thread profile (thread 0) among the .cpuprofile files' };
  return { ok: true, files, ...(problems.length > 0 ? { error: `some profiles unusable: ${problems.join('; ')}` } : {}) };
}

/** clinic: ok only when every HTML report it wrote holds data. */
function clinicOutcome(tool: Tool, dir: string): Outcome {
  const files = listFiles(dir).filter((f) => !f.endsWith('bench.json'));
  const reports = files.filter((f) => f.endsWith('.html'));
  if (reports.length === 0) return { ok: false, files, error: `no .html report was written; last output:\n${launchLogTail(dir)}` };
  const problems = reports.flatMap((f) => {
    const problem = clinicReportProblem(readFileSync(f, 'utf8'), tool);
    return problem ? [`${basename(f)}: ${problem}${rawDataNote(f.replace(/\.html$/, ''))}`] : [];
  });
  return problems.length > 0 ? { ok: false, files: reports, error: `empty report — ${problems.join('; ')}` } : { ok: true, files: reports };
}

/** What clinic collected before analysing (its data folder next to the page): shows whether the gap is in collection or analysis. */
function rawDataNote(dataDir: string): string {
  if (!existsSync(dataDir)) return '';
  const sizes = listFiles(dataDir).map((f) => `${basename(f).replace(/^\d+\.clinic-[a-z]+-/, '')} ${(statSync(f).size / 1e6).toFixed(1)} MB`);
  return sizes.length > 0 ? ` (raw data collected: ${sizes.join(', ')})` : ' (no raw data collected)';
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
  const tools = (toolsArg ?? DEFAULT_TOOLS.join(',')).split(',').map((t) => t.trim()) as Tool[];
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
  const outcomes: Record<string, Outcome> = {};
  for (const tool of tools) {
    const dir = join(out, tool);
    mkdirSync(dir, { recursive: true });
    progress(`profile: ${args.scenario} under ${tool} → ${dir}`);
    try {
      const { json, result } = await runScenario({ ...args, json: join(dir, 'bench.json') }, wrapperFor(tool, dir));
      writeFileSync(join(dir, 'bench.json'), `${JSON.stringify(json, null, 2)}\n`);
      printReport(json, result);
      const cpu = (result.results.flotilla as { cpuSeconds?: number } | undefined)?.cpuSeconds;
      outcomes[tool] = { ...(tool === 'cpu-prof' ? cpuProfOutcome(dir) : clinicOutcome(tool, dir)), ...(cpu === undefined ? {} : { controllerCpuSeconds: cpu }) };
    } catch (err) {
      outcomes[tool] = { ok: false, files: listFiles(dir), error: err instanceof Error ? err.message.split('\n').slice(0, 6).join('\n') : String(err) };
    }
    const leftovers = stopMarkedProcesses();
    if (leftovers > 0) progress(`profile: stopped ${leftovers} process(es) clinic left behind`);
  }
  console.log(`\nProfiles in ${out}`);
  for (const [tool, o] of Object.entries(outcomes)) {
    const cpu = o.controllerCpuSeconds === undefined ? '' : ` (controller CPU ${o.controllerCpuSeconds} s in the window)`;
    console.log(`\n${tool}: ${o.ok ? 'ok' : 'FAILED'}${cpu}${o.error ? ` — ${o.error}` : ''}`);
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
