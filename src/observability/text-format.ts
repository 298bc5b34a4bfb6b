/**
 * `log.format: text`: one readable line per entry for people running
 * Flotilla in a terminal —
 *
 *   2026-12-05T21:40:02.118Z INFO  leader-election  acquired lease lease=flotilla-system/flotilla identity=host_1a2b
 *
 * time, level, component, message, then the other fields as key=value
 * (strings quoted when they contain spaces or quotes, objects as JSON; an
 * error as its type and message, without the stack). The JSON line pino
 * produced is re-read here, in-process: no transport worker thread, and
 * the same synchronous write as the JSON output (see logger.ts).
 */
import type { DestinationStream } from 'pino';

/** Fields every line has, or that say nothing to a person at a terminal (which process it is, they know). */
const HEAD = new Set(['time', 'level', 'msg', 'component', 'pid', 'hostname', 'name']);

export function formatTextLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const level = String(entry.level ?? '').toUpperCase().padEnd(5);
  const parts = [String(entry.time ?? ''), level];
  if (typeof entry.component === 'string') parts.push(entry.component);
  parts.push(String(entry.msg ?? ''));
  for (const [key, value] of Object.entries(entry)) {
    if (HEAD.has(key) || value === undefined) continue;
    parts.push(`${key}=${formatValue(key, value)}`);
  }
  return `${parts.join(' ')}\n`;
}

function formatValue(key: string, value: unknown): string {
  if (key === 'err' && typeof value === 'object' && value !== null) {
    const err = value as { type?: unknown; message?: unknown; status?: unknown; reason?: unknown; code?: unknown };
    const extra = [err.status !== undefined ? `status ${String(err.status)}` : '', typeof err.reason === 'string' ? err.reason : '', err.status === undefined && err.code !== undefined ? String(err.code) : '']
      .filter((s) => s !== '')
      .join(', ');
    return quote(`${String(err.type ?? 'Error')}: ${String(err.message ?? '')}${extra ? ` (${extra})` : ''}`);
  }
  if (typeof value === 'string') return quote(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return JSON.stringify(value);
}

function quote(text: string): string {
  return text === '' || /[\s"=\\]/.test(text) ? JSON.stringify(text) : text;
}

/** Wraps a destination so it receives text lines instead of pino's JSON. */
export function textDestination(inner: DestinationStream & { flushSync?(): void }): DestinationStream & { flushSync(): void } {
  return {
    write(line: string) {
      inner.write(formatTextLine(line));
    },
    flushSync() {
      inner.flushSync?.();
    },
  };
}
