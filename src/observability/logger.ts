import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/**
 * Structured JSON logs (pino). Child loggers carry `controller`, `key` and
 * `reconcileID` so one reconcile can be followed across lines.
 */
export function createLogger(options: { level?: LevelWithSilent; name?: string } = {}): Logger {
  return pino({
    name: options.name ?? 'flotilla',
    level: options.level ?? (process.env.FLOTILLA_LOG_LEVEL as LevelWithSilent | undefined) ?? 'info',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

/** A logger that drops everything: the default in unit tests and benchmarks. */
export const silentLogger: Logger = pino({ level: 'silent' });
