import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import type { Writable } from 'node:stream';

/**
 * Runs the control-plane components as child processes and makes sure none
 * outlives the process that started it (unless started detached):
 *
 * - on a normal exit, an `exit` hook SIGKILLs what is left (the data is
 *   throwaway, so there is nothing to shut down gracefully);
 * - on SIGINT/SIGTERM/SIGHUP the same happens, and the signal is then
 *   re-raised so the process still dies the way it would have;
 * - on SIGKILL or a crash no hook runs, so a tiny `sh` "reaper" in its own
 *   session holds a pipe from us: when the pipe closes it kills every pid we
 *   registered, runs registered cleanup scripts (the local node's: its
 *   containers, mounts, bridge and cgroups) and deletes registered scratch
 *   directories (etcd's tmpfs data).
 */

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves when the process has exited. Never rejects. */
  readonly exited: Promise<ExitStatus>;
  isRunning(): boolean;
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM (or `signal`), then SIGKILL after `graceMs`; resolves once it is gone. */
  stop(options?: { signal?: NodeJS.Signals; graceMs?: number }): Promise<ExitStatus>;
  /** Stop killing this process when we exit: hand it over to outlive us. */
  release(): void;
}

export interface StartProcessOptions {
  name: string;
  binary: string;
  args: string[];
  logFile: string;
  /**
   * Own session (no terminal signals): for `controlplane up`. It is still
   * killed if we die before calling release().
   */
  detached?: boolean;
  env?: NodeJS.ProcessEnv;
}

const live = new Map<number, ChildProcess>();
const scratchDirs = new Set<string>();
const cleanupScripts = new Set<string>();
let hooksInstalled = false;
let reaper: { child: ChildProcess; stdin: Writable } | undefined;

export async function startProcess(options: StartProcessOptions): Promise<ManagedProcess> {
  const log = await open(options.logFile, 'a');
  let child: ChildProcess;
  try {
    await log.write(`\n===== ${new Date().toISOString()} starting ${options.binary} ${options.args.join(' ')}\n`);
    child = spawn(options.binary, options.args, {
      stdio: ['ignore', log.fd, log.fd],
      detached: options.detached ?? false,
      env: options.env ?? process.env,
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
  } finally {
    // The child has its own copy of the descriptor.
    await log.close();
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${options.name} did not start.`);

  let exitStatus: ExitStatus | undefined;
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => {
      exitStatus = { code, signal };
      untrack(pid);
      resolve(exitStatus);
    });
  });
  child.on('error', () => {
    // Only kill() failures land here after spawn; `exited` still settles.
  });

  // Even a detached child is tracked until its owner release()s it, so a
  // start that is interrupted half-way (Ctrl-C during `controlplane up`)
  // leaves nothing behind.
  track(pid, child);
  // Components never keep us alive: a test file that forgets stop() should
  // end (and the exit hook kill them), not hang until its runner's timeout.
  child.unref();

  const managed: ManagedProcess = {
    name: options.name,
    pid,
    logFile: options.logFile,
    exited,
    isRunning: () => exitStatus === undefined,
    signal(signal) {
      if (exitStatus === undefined) child.kill(signal);
    },
    async stop({ signal = 'SIGTERM', graceMs = 10_000 } = {}) {
      if (exitStatus !== undefined) return exitStatus;
      // A SIGSTOPped process would not act on SIGTERM until continued.
      child.kill('SIGCONT');
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
    release() {
      untrack(pid);
    },
  };
  return managed;
}

/** Delete `dir` if this process dies without cleaning up (SIGKILL included). */
export function registerScratchDir(dir: string): void {
  if (/\s/.test(dir)) throw new Error(`Scratch directory path must not contain whitespace: ${dir}`);
  installHooks();
  scratchDirs.add(dir);
  tellReaper(`d ${dir}`);
}

export function unregisterScratchDir(dir: string): void {
  if (scratchDirs.delete(dir)) tellReaper(`D ${dir}`);
}

/**
 * Run `/bin/sh script` if this process dies without cleaning up (SIGKILL
 * included), after registered processes are killed and before scratch
 * directories go. The script must be idempotent: its owner runs it too.
 */
export function registerCleanupScript(script: string): void {
  if (/\s/.test(script)) throw new Error(`Cleanup script path must not contain whitespace: ${script}`);
  installHooks();
  cleanupScripts.add(script);
  tellReaper(`s ${script}`);
}

export function unregisterCleanupScript(script: string): void {
  if (cleanupScripts.delete(script)) tellReaper(`S ${script}`);
}

function track(pid: number, child: ChildProcess): void {
  installHooks();
  live.set(pid, child);
  tellReaper(`p ${pid}`);
}

function untrack(pid: number): void {
  if (live.delete(pid)) tellReaper(`P ${pid}`);
}

/**
 * Resolves once everything told to the reaper has reached its pipe. Needed
 * before exiting right after release(): a lost "forget this pid" line would
 * make the reaper kill the process we meant to leave running.
 */
export function reaperFlushed(): Promise<void> {
  const stdin = reaper?.stdin;
  if (!stdin || stdin.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    // Writes are ordered: when this empty write completes, all earlier ones have.
    stdin.write('', () => resolve());
  });
}

/** Last 40 lines of a log file, for error messages. */
export async function logTail(logFile: string, lines = 40): Promise<string> {
  try {
    const text = await readFile(logFile, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function killEverythingNow(): void {
  for (const [pid, child] of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
    live.delete(pid);
  }
  for (const script of cleanupScripts) {
    // Synchronous: this runs in the `exit` hook, where nothing async completes.
    spawnSync('/bin/sh', [script], { stdio: 'ignore', timeout: 60_000 });
  }
  cleanupScripts.clear();
  for (const dir of scratchDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // Best effort on the way out; the reaper retries.
    }
  }
  scratchDirs.clear();
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killEverythingNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      // Someone else handles the signal (e.g. the controller's graceful
      // shutdown, which stops its control plane itself): leave the children
      // to them, and to the exit hook once the process ends.
      if (process.listenerCount(signal) > 1) return;
      killEverythingNow();
      process.removeListener(signal, onSignal);
      // Only re-raise when nobody else handles the signal: then this is the
      // default behaviour (die by the signal) minus the orphans.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

// Kept deliberately small and POSIX-sh: it must run anywhere the binaries do.
// Protocol, one line each: `p PID` / `P PID` add / remove a pid, `s FILE` /
// `S FILE` a cleanup script, `d DIR` / `D DIR` a directory. EOF (our death)
// triggers the cleanup.
const REAPER_SCRIPT = `
trap '' INT TERM HUP
pids=' '; scripts=' '; dirs=' '
while IFS= read -r line; do
  arg=\${line#? }
  case "$line" in
    "p "*) pids="$pids$arg " ;;
    "s "*) scripts="$scripts$arg " ;;
    "d "*) dirs="$dirs$arg " ;;
    "P "*) rest=' '; for x in $pids; do [ "$x" = "$arg" ] || rest="$rest$x "; done; pids=$rest ;;
    "S "*) rest=' '; for x in $scripts; do [ "$x" = "$arg" ] || rest="$rest$x "; done; scripts=$rest ;;
    "D "*) rest=' '; for x in $dirs; do [ "$x" = "$arg" ] || rest="$rest$x "; done; dirs=$rest ;;
  esac
done
for x in $pids; do kill -KILL "$x" 2>/dev/null; done
for x in $scripts; do /bin/sh "$x" >/dev/null 2>&1; done
for x in $dirs; do rm -rf -- "$x"; done
`;

function tellReaper(line: string): void {
  if (!reaper) {
    const child = spawn('/bin/sh', ['-c', REAPER_SCRIPT], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    child.on('error', () => {
      // Without a reaper the exit hooks still cover every non-SIGKILL death.
      reaper = undefined;
    });
    child.unref();
    const stdin = child.stdin;
    if (!stdin) return;
    stdin.on('error', () => {
      // The reaper died early: same fallback as above.
    });
    // The pipe must not keep our event loop alive.
    (stdin as Writable & { unref?: () => void }).unref?.();
    reaper = { child, stdin };
  }
  reaper.stdin.write(`${line}\n`);
}
