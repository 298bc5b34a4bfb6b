/**
 * `flotilla bench <scenario> [options]`: the benchmark runner, bench/run.ts,
 * in a child process with this terminal; its exit code is passed through.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { packagePath } from './paths.ts';
import { Exit } from './args.ts';

export const summary = 'Run a benchmark scenario (source checkout only; see `flotilla bench --help`)';

export async function benchCommand(argv: string[]): Promise<number> {
  const runner = packagePath('bench/run.ts');
  if (!existsSync(runner)) {
    if (argv.includes('--help') || argv.includes('-h')) {
      console.log('Usage: flotilla bench <scenario> [options]\n\nRuns bench/run.ts from a source checkout of Flotilla; this installation has no benchmarks.');
      return Exit.Ok;
    }
    console.error('Benchmarks need a source checkout of Flotilla (bench/run.ts is not in this installation); run them from a clone with `npm run bench`.');
    return Exit.Usage;
  }
  // The runner's usage text then names this command rather than `npm run bench --`.
  const child = spawn(process.execPath, [runner, ...argv], { stdio: 'inherit', env: { ...process.env, FLOTILLA_BENCH_COMMAND: 'flotilla bench' } });
  // The child shares the terminal, so Ctrl-C reaches it directly; a signal
  // sent to this process alone (kill, a supervisor) is passed on.
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, forward);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + signalNumber(signal) : Exit.Failure)));
    });
  } finally {
    for (const s of signals) process.off(s, forward);
  }
}

function signalNumber(signal: NodeJS.Signals): number {
  return ({ SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Partial<Record<NodeJS.Signals, number>>)[signal] ?? 0;
}
