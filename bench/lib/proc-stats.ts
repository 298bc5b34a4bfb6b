/**
 * CPU time and memory of a child process from /proc, read by the benchmark
 * (the parent), so every system under test is measured the same way whatever
 * it is written in: utime+stime from /proc/<pid>/stat (clock ticks) and the
 * peak resident set (VmHWM) and current one (VmRSS) from /proc/<pid>/status.
 * All threads are included (the controller's worker pool too).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: 100 on every Linux architecture Node supports (sysconf(_SC_CLK_TCK)). */
const CLOCK_TICKS_PER_SECOND = 100;

export interface ProcSample {
  /** User + system CPU seconds since the process started. */
  cpuSeconds: number;
  maxRssBytes: number;
  rssBytes: number;
}

/** Undefined when the process is gone (or /proc is not Linux's). */
export function sampleProcess(pid: number): ProcSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)\\s+kB`).exec(status)?.[1] ?? Number.NaN) * 1024;
    return { cpuSeconds: (utime + stime) / CLOCK_TICKS_PER_SECOND, maxRssBytes: kib('VmHWM'), rssBytes: kib('VmRSS') };
  } catch {
    return undefined;
  }
}

/** CPU seconds of each named process at one instant (its pid, so a restart in between is detected). */
export type CpuSnapshot = Record<string, { pid: number; cpuSeconds: number } | undefined>;

export function cpuSnapshot(pids: Record<string, number | undefined>, sample: (pid: number) => ProcSample | undefined = sampleProcess): CpuSnapshot {
  const out: CpuSnapshot = {};
  for (const [name, pid] of Object.entries(pids)) {
    const s = pid === undefined ? undefined : sample(pid);
    out[name] = pid !== undefined && s ? { pid, cpuSeconds: s.cpuSeconds } : undefined;
  }
  return out;
}

/**
 * CPU seconds each process spent between two snapshots; null when it was
 * not sampled at both ends or is another process at the end (restarted):
 * a delta across two processes would mean nothing.
 */
export function cpuDelta(before: CpuSnapshot, after: CpuSnapshot): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const name of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const b = before[name];
    const a = after[name];
    out[name] = a && b && a.pid === b.pid ? Math.round((a.cpuSeconds - b.cpuSeconds) * 1000) / 1000 : null;
  }
  return out;
}

/**
 * The process doing the work under a wrapper (clinic runs the controller as
 * its child, `node --cpu-prof` is the process itself): the deepest
 * descendant of `pid` whose command line contains `marker`, or `pid` itself
 * when none does. Read from /proc (parent pids in /proc/<pid>/stat).
 */
export function workerPid(pid: number, marker: string, proc: ProcReader = linuxProc): number {
  const children = new Map<number, number[]>();
  for (const p of proc.pids()) {
    const parent = proc.parentOf(p);
    if (parent === undefined) continue;
    const list = children.get(parent);
    if (list) list.push(p);
    else children.set(parent, [p]);
  }
  let found = pid;
  let foundDepth = 0;
  const seen = new Set([pid]);
  const queue: Array<[number, number]> = [[pid, 0]];
  while (queue.length > 0) {
    const [p, depth] = queue.shift() as [number, number];
    for (const child of children.get(p) ?? []) {
      if (seen.has(child)) continue;
      seen.add(child);
      if (depth + 1 > foundDepth && proc.cmdline(child).includes(marker)) {
        found = child;
        foundDepth = depth + 1;
      }
      queue.push([child, depth + 1]);
    }
  }
  return found;
}

export interface ProcReader {
  pids(): number[];
  parentOf(pid: number): number | undefined;
  cmdline(pid: number): string;
}

const linuxProc: ProcReader = {
  pids: () => readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number),
  parentOf(pid) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      return undefined;
    }
  },
  cmdline(pid) {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      return '';
    }
  },
};
