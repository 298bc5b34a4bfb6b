/** Helpers shared by the config, observability and lifecycle unit tests. */
import { Writable } from 'node:stream';
import { createLogger, type Logger, type LoggerOptions } from '../../../src/observability/logger.ts';

export interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

/**
 * A real logger (createLogger's) whose JSON lines are collected in memory.
 * A line with a key twice (a child logger binding a key its parent bound)
 * fails the write: JSON.parse would silently keep only the last value.
 */
export function captureLogger(level: 'trace' | 'debug' | 'info' = 'debug', options: Omit<LoggerOptions, 'level' | 'destination'> = {}): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const text of chunk.toString('utf8').split('\n')) {
        if (text.trim() === '') continue;
        const duplicates = duplicateKeys(text);
        if (duplicates.length > 0) return callback(new Error(`log line with duplicate keys ${duplicates.join(', ')}: ${text}`));
        lines.push(JSON.parse(text) as LogLine);
      }
      callback();
    },
  });
  return { logger: createLogger({ ...options, level, destination }), lines };
}

/** The top-level keys that occur more than once in a JSON object's text. */
export function duplicateKeys(json: string): string[] {
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  let depth = 0;
  // Walk the text: strings at depth 1 followed by ':' are top-level keys.
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === '"') {
      let j = i + 1;
      while (j < json.length && json[j] !== '"') j += json[j] === '\\' ? 2 : 1;
      const token = json.slice(i, j + 1);
      if (depth === 1 && json[j + 1] === ':') {
        const key = JSON.parse(token) as string;
        if (seen.has(key)) duplicates.add(key);
        seen.add(key);
      }
      i = j;
    }
  }
  return [...duplicates];
}

/** Polls `condition` until it holds or the deadline passes (then throws, naming what was awaited). */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 5_000, intervalMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
