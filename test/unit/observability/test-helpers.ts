/** Helpers shared by the config, observability and lifecycle unit tests. */
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../../src/observability/logger.ts';

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A real pino logger whose JSON lines are collected in memory. */
export function captureLogger(level: 'trace' | 'debug' | 'info' = 'debug'): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const text of chunk.toString('utf8').split('\n')) if (text.trim() !== '') lines.push(JSON.parse(text) as LogLine);
      callback();
    },
  });
  return { logger: createLogger({ level, destination }), lines };
}

/** Polls `condition` until it holds or the deadline passes (then throws, naming what was awaited). */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 5_000, intervalMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
