import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/**
 * Structured JSON logs (pino). Child loggers carry `controller`, `key` and
 * `reconcileID` so one reconcile can be followed across lines. The level can
 * change at runtime (`logger.level = …`, config `log.level` is hot-reloadable);
 * children created without their own level follow their parent's.
 *
 * Stdout is written synchronously. pino's default asynchronous destination
 * (sonic-boom, minLength 0) can lose or reorder the last lines when the
 * process exits — a write still in flight in the thread pool lands after the
 * exit-time synchronous flush — and the last lines (shutdown steps, the
 * fatal error) are the ones that matter most. A controller logs at a modest
 * rate, and Node writes stdout pipes synchronously for console.log anyway.
 */
export function createLogger(
  options: { level?: LevelWithSilent; name?: string; destination?: DestinationStream } = {},
): Logger {
  const settings = {
    name: options.name ?? 'flotilla',
    level: options.level ?? (process.env.FLOTILLA_LOG_LEVEL as LevelWithSilent | undefined) ?? 'info',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return pino(settings, options.destination ?? pino.destination({ dest: 1, sync: true }));
}

/** A logger that drops everything: the default in unit tests and benchmarks. */
export const silentLogger: Logger = pino({ level: 'silent' });
