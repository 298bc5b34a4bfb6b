/**
 * CPU time and memory of a child process from /proc, read by the benchmark
 * (the parent), so every system under test is measured the same way whatever
 * it is written in: utime+stime from /proc/<pid>/stat (clock ticks) and the
 * peak resident set (VmHWM) and current one (VmRSS) from /proc/<pid>/status.
 * All threads are included (the controller's worker pool too).
 */
import { readFileSync } from 'node:fs';

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
