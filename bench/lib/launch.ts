/**
 * Starts a system under test (Flotilla or a baseline) as its own process and
 * gives the benchmark one handle for all of them: the `serving` log line
 * names its /metrics and /readyz URLs (Flotilla and the baselines log the
 * same line), idleness is read from the same metric names, and CPU/memory
 * come from /proc. The command can be wrapped (`wrap`), which is how
 * `bench/profile.ts` runs the controller under clinic or `--cpu-prof`.
 *
 * Processes go through the control-plane harness's process manager, so they
 * die with the benchmark however it ends.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerScratchDir, startProcess, type ExitStatus, type ManagedProcess } from '../../src/controlplane/processes.ts';
import { waitFor } from '../../src/util/wait.ts';
import { scrapeMetrics, type Metrics } from '../../test/support/metrics.ts';
import { sampleProcess, workerPid, type ProcSample } from './proc-stats.ts';

export interface LaunchCommand {
  binary: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** How to ask it to stop (default SIGTERM) and how long to wait before SIGKILL (default 30 s): profilers need SIGINT and time to write. */
  stopSignal?: NodeJS.Signals;
  stopGraceMs?: number;
}

/** Rewrites the command a system is started with (profilers). */
export type LaunchWrapper = (command: LaunchCommand, name: string) => LaunchCommand;

export interface SystemProcess {
  readonly name: string;
  /** The process started (a wrapper's, when wrapped). */
  readonly pid: number;
  /** The process measured: the system itself, also under a wrapper (clinic runs it as a child). */
  measuredPid(): number;
  readonly dir: string;
  readonly logFile: string;
  readonly metricsUrl: string;
  readonly healthUrl: string;
  readonly exited: Promise<ExitStatus>;
  isRunning(): boolean;
  metrics(): Promise<Metrics>;
  waitForReady(timeoutMs?: number): Promise<void>;
  /** Work queues empty, nothing running, reconcile count unchanged for `stableMs`. */
  waitForIdle(options?: { stableMs?: number; timeoutMs?: number }): Promise<Metrics>;
  /** CPU and memory now (undefined once the process is gone). */
  sample(): ProcSample | undefined;
  /** SIGTERM and wait; returns the exit status and the last /proc sample taken before the signal. */
  stop(graceMs?: number): Promise<{ status: ExitStatus; last: ProcSample | undefined }>;
  logTail(lines?: number): string;
}

export async function launchSystem(options: { name: string; command: LaunchCommand; wrap?: LaunchWrapper; dir?: string; startTimeoutMs?: number }): Promise<SystemProcess> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), `bench-${options.name}-`));
  // Logs and config live there until the benchmark exits (kept with FLOTILLA_KEEP_CONTROLPLANE=1).
  if (process.env.FLOTILLA_KEEP_CONTROLPLANE !== '1') registerScratchDir(dir);
  const logFile = join(dir, `${options.name}.log`);
  const command = options.wrap ? options.wrap(options.command, options.name) : options.command;
  const child: ManagedProcess = await startProcess({
    name: options.name,
    binary: command.binary,
    args: command.args,
    logFile,
    env: { ...process.env, ...command.env },
  });
  const readLog = () => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  const logTail = (lines = 40) => readLog().trimEnd().split('\n').slice(-lines).join('\n');
  let urls: { metrics: string; health: string };
  try {
    urls = await waitFor(
      () => {
        const serving = readLog()
          .split('\n')
          .filter((l) => l.includes('"serving"'))
          .map((l) => {
            try {
              return JSON.parse(l) as { msg?: string; url?: string; paths?: string[] };
            } catch {
              return {};
            }
          })
          .filter((l) => l.msg === 'serving' && typeof l.url === 'string');
        const metrics = serving.find((l) => l.paths?.includes('/metrics'));
        const health = serving.find((l) => l.paths?.includes('/readyz'));
        if (metrics && health) return { metrics: `${metrics.url}/metrics`, health: String(health.url) };
        if (!child.isRunning()) throw new Error(`${options.name} exited before serving`);
        return undefined;
      },
      { timeoutMs: options.startTimeoutMs ?? 120_000, intervalMs: 50, description: `${options.name} to serve /metrics and /readyz` },
    );
  } catch (error) {
    await child.stop({ signal: 'SIGKILL', graceMs: 1000 });
    throw new Error(`${(error as Error).message}\n--- ${options.name} output ---\n${logTail(40)}`, { cause: error });
  }

  // Under a wrapper (clinic) the system is a descendant of the process started:
  // CPU and memory are read from it, found by its script on the command line,
  // and from then on kept (the window's two samples must be of one process).
  const script = options.command.args.find((a) => !a.startsWith('-')) ?? options.command.binary;
  let measured: number | undefined = options.wrap ? undefined : child.pid;
  const measuredPid = (): number => {
    if (measured !== undefined) return measured;
    const pid = workerPid(child.pid, script);
    if (pid !== child.pid) measured = pid;
    return pid;
  };
  if (options.wrap) {
    // The wrapped system has started serving: its process exists now.
    measuredPid();
  }

  const handle: SystemProcess = {
    name: options.name,
    pid: child.pid,
    measuredPid,
    dir,
    logFile,
    metricsUrl: urls.metrics,
    healthUrl: urls.health,
    exited: child.exited,
    isRunning: () => child.isRunning(),
    metrics: () => scrapeMetrics(urls.metrics),
    async waitForReady(timeoutMs = 300_000) {
      await waitFor(
        async () => {
          if (!child.isRunning()) throw new Error(`${options.name} exited:\n${logTail(20)}`);
          const response = await fetch(`${urls.health}/readyz`, { signal: AbortSignal.timeout(5000) });
          await response.text();
          return response.status === 200;
        },
        { timeoutMs, intervalMs: 50, description: `${options.name} /readyz to answer 200` },
      );
    },
    async waitForIdle({ stableMs = 2000, timeoutMs = 600_000 } = {}) {
      let last: { total: number; since: number } | undefined;
      let metrics: Metrics | undefined;
      await waitFor(
        async () => {
          if (!child.isRunning()) throw new Error(`${options.name} exited:\n${logTail(20)}`);
          const m = await scrapeMetrics(urls.metrics);
          metrics = m;
          const total = m.sum('controller_runtime_reconcile_total');
          const busy = m.sum('workqueue_depth') > 0 || m.sum('controller_runtime_active_workers') > 0;
          const now = Date.now();
          if (busy || last === undefined || last.total !== total) {
            last = { total, since: now };
            return false;
          }
          return now - last.since >= stableMs;
        },
        { timeoutMs, intervalMs: 200, description: `${options.name} to be idle` },
      );
      return metrics as Metrics;
    },
    sample: () => sampleProcess(measuredPid()),
    async stop(graceMs = command.stopGraceMs ?? 30_000) {
      const last = sampleProcess(measuredPid());
      const status = await child.stop({ signal: command.stopSignal ?? 'SIGTERM', graceMs });
      return { status, last };
    },
    logTail,
  };
  return handle;
}
