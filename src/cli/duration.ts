/** `--timeout DUR`: Go-style durations ("90s", "2m", "1m30s", "500ms", "1h"); a bare number is seconds. */
import { UsageError } from './args.ts';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(text: string, flag: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (trimmed === '' || parts.map((p) => p[0]).join('') !== trimmed) {
    throw new UsageError(`${flag} must be a duration such as 90s, 2m or 1m30s, not "${text}".`);
  }
  const ms = Math.round(parts.reduce((sum, p) => sum + Number(p[1]) * (UNIT_MS[p[2] ?? 's'] ?? 0), 0));
  if (ms <= 0) throw new UsageError(`${flag} must be longer than zero.`);
  return ms;
}
