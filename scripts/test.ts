/**
 * The project's test command (`npm test`): unit tests, then integration tests
 * against a real local control plane, in one `node --test` run so CI reads a
 * single summary. The control-plane binaries are built (or found in the
 * cache) first, with progress, so no test file times out waiting for a build.
 *
 *   node scripts/test.ts [unit|integration|all] [file ...]
 */
import { spawn } from 'node:child_process';
import { globSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { flotillaCacheDir } from '../src/controlplane/binaries.ts';
import { integrityProblems, type FileTally } from './test-integrity.ts';

const args = process.argv.slice(2);
const suite = args[0] === 'unit' || args[0] === 'integration' || args[0] === 'all' ? args.shift()! : 'all';
// A directory names the test files under it; any other bare word would reach
// `node --test` as an option value and silently run the whole suite instead.
const explicit = args.flatMap((a) => (a.endsWith('.ts') ? [a] : isDirectory(a) ? globSync(join(a, '**/*.test.ts')).sort() : []));
const passthrough = args.filter((a) => !a.endsWith('.ts') && !isDirectory(a));
// A bare word right after an option without `=` is that option's value (`--test-name-pattern foo`).
const strays = passthrough.filter((a, i) => !a.startsWith('-') && !(i > 0 && passthrough[i - 1]!.startsWith('-') && !passthrough[i - 1]!.includes('=')));
if (strays.length > 0) {
  console.error(`not a test file or directory: ${strays.join(', ')} (give .ts files or directories; node --test options start with -)`);
  process.exit(2);
}
if (args.some(isDirectory) && explicit.length === 0) {
  console.error(`no *.test.ts files under ${args.filter(isDirectory).join(', ')}`);
  process.exit(1);
}
function isDirectory(path: string): boolean {
  return !path.startsWith('-') && (statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false);
}

if (passthrough.some((a) => a.startsWith('--test-force-exit'))) {
  // It exits a file's process once the tests registered so far are done, so
  // suites registered after an await never run and no count can show it.
  console.error('--test-force-exit is refused: it silently drops tests. Fix the leaked handle that keeps a file alive instead.');
  process.exit(2);
}

const files =
  explicit.length > 0
    ? explicit
    : [
        ...(suite !== 'integration' ? [...globSync('test/unit/**/*.test.ts'), ...globSync('test/controlplane/*.test.ts')] : []),
        ...(suite !== 'unit' ? globSync('test/integration/**/*.test.ts') : []),
      ].sort();

if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

if (files.some((f) => f.includes('integration'))) {
  const { ensureControlPlaneBinaries } = await import('../src/controlplane/binaries.ts');
  const started = Date.now();
  const bins = await ensureControlPlaneBinaries({ log: (line) => console.log(`[controlplane] ${line}`) });
  console.log(
    `[controlplane] kube-apiserver ${bins.kubernetesVersion}, etcd ${bins.etcdVersion} ready in ${((Date.now() - started) / 1000).toFixed(1)}s`,
  );
}

// No --test-force-exit: it ends a test file's process while the file's last
// verdicts are still on their way to this one, and they vanish from the
// report without a failure (nodejs/node#64833). A file that leaks a handle
// must be fixed instead; --test-timeout bounds how long it can hang CI.
const tallyDir = mkdtempSync(join(tmpdir(), 'flotilla-test-'));
const tallyFile = join(tallyDir, 'tally.json');
const child = spawn(
  process.execPath,
  [
    '--test',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    `--test-reporter=${resolve(import.meta.dirname, 'test-integrity-reporter.ts')}`,
    `--test-reporter-destination=${tallyFile}`,
    // Two files at a time: each integration file runs its own control plane,
    // and this machine has two cores.
    `--test-concurrency=${process.env.FLOTILLA_TEST_CONCURRENCY ?? '2'}`,
    '--test-timeout=900000',
    ...passthrough,
    ...files,
  ],
  {
    stdio: 'inherit',
    // Every test file is its own process and most load @kubernetes/client-node
    // (~0.6 s of compiling each time): V8's code cache, kept across runs and
    // keyed by file contents and Node version, takes a sixth off the suite.
    env: { ...process.env, NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? join(flotillaCacheDir(), 'node-compile-cache') },
  },
);
child.on('exit', (code, signal) => {
  const vanished = filesWithVanishedTests();
  rmSync(tallyDir, { recursive: true, force: true });
  if (vanished.length > 0) {
    console.error(`\n✖ tests vanished from the report in ${vanished.length} file(s); the counts above are not to be trusted:`);
    for (const line of vanished) console.error(`  ${line}`);
  }
  process.exit(code || (signal || vanished.length > 0 ? 1 : 0));
});

/** Every file the run was given must have reported each test it registered (see test-integrity.ts). */
function filesWithVanishedTests(): string[] {
  let tallies: FileTally[];
  try {
    tallies = JSON.parse(readFileSync(tallyFile, 'utf8')) as FileTally[];
  } catch (err) {
    return [`the integrity report ${tallyFile} could not be read: ${(err as Error).message}`];
  }
  const byFile = new Map(tallies.map((t) => [t.file, t]));
  // --test-name-pattern and --test-only run a subset on purpose; only a cut-off report is wrong then.
  const subset = passthrough.some((a) => /^--test-(name-pattern|skip-pattern|only)/.test(a));
  const lines: string[] = [];
  for (const file of files) {
    const path = resolve(file);
    const tally = byFile.get(path) ?? { file: path, registered: 0, tests: 0, suites: 0, missing: [] };
    const problems = integrityProblems(tally).filter((p) => !subset || !p.includes('no test at all'));
    if (problems.length > 0) lines.push(`${file}: ${problems.join('; ')}`);
  }
  return lines;
}
