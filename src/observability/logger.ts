import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import { serializeError } from './error-fields.ts';
import { RepeatLimiter, repeatKey } from './repeat-limiter.ts';
import { textDestination } from './text-format.ts';

export type { Logger };

export const LOG_FORMATS = ['json', 'text'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** pino's level numbers, for comparing the level names the lines carry. */
export const LEVEL_VALUES: Readonly<Record<string, number>> = pino.levels.values;

/** Whether a log line's `level` (a name, e.g. "warn") is at least `min`. */
export function levelAtLeast(level: unknown, min: Exclude<LevelWithSilent, 'silent'>): boolean {
  return typeof level === 'string' && (LEVEL_VALUES[level] ?? 0) >= (LEVEL_VALUES[min] ?? 0);
}

export interface LoggerOptions {
  level?: LevelWithSilent;
  name?: string;
  /** `json` (the default: one JSON object per line) or `text` (text-format.ts). */
  format?: LogFormat;
  destination?: DestinationStream;
  /** Repeated warnings: how often one is logged again, with its count (repeat-limiter.ts). */
  repeatIntervalMs?: number;
  now?: () => number;
}

/**
 * Structured logs (pino): one JSON object per line, `level` as a name
 * ("info"), `time` in ISO 8601, errors under `err` in one shape
 * (error-fields.ts). Child loggers carry `component` (componentLogger),
 * `controller`, `key` and `reconcileID` so one reconcile can be followed
 * across lines. The level can change at runtime (`logger.level = …`, config
 * `log.level` is hot-reloadable); children created without their own level
 * follow their parent's. The same failure warned about again within a minute
 * (a warning with an `err`: a retry loop's) is counted rather than printed
 * again (repeat-limiter.ts).
 *
 * Stdout is written synchronously. pino's default asynchronous destination
 * (sonic-boom, minLength 0) can lose or reorder the last lines when the
 * process exits — a write still in flight in the thread pool lands after the
 * exit-time synchronous flush — and the last lines (shutdown steps, the
 * fatal error) are the ones that matter most. A controller logs at a modest
 * rate, and Node writes stdout pipes synchronously for console.log anyway.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const repeats = new RepeatLimiter({ ...(options.repeatIntervalMs !== undefined ? { intervalMs: options.repeatIntervalMs } : {}), ...(options.now ? { now: options.now } : {}) });
  const warn = pino.levels.values.warn;
  const settings = {
    name: options.name ?? 'flotilla',
    level: options.level ?? (process.env.FLOTILLA_LOG_LEVEL as LevelWithSilent | undefined) ?? 'info',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    serializers: { err: serializeError },
    hooks: {
      logMethod(this: Logger, args: unknown[], method: (...a: unknown[]) => void, level: number) {
        if (level !== warn) return method.apply(this, args);
        const [first, second] = args;
        const fields = typeof first === 'object' && first !== null && !(first instanceof Error) ? (first as Record<string, unknown>) : undefined;
        // Only a failure (a warning with an error) is a retry's noise; a warning about an event
        // (a worker replaced, a field that needs a restart) is logged every time.
        if (!(first instanceof Error) && fields?.err === undefined) return method.apply(this, args);
        const message = typeof first === 'string' ? first : typeof second === 'string' ? second : '';
        const bindings = (this as unknown as Record<symbol, string>)[pino.symbols.chindingsSym] ?? '';
        const admitted = repeats.admit(repeatKey(bindings, message, fields));
        if (admitted === false) return;
        if (admitted === 0) return method.apply(this, args);
        const withCount = fields ? { ...fields, repeated: admitted } : first instanceof Error ? { err: first, repeated: admitted } : { repeated: admitted };
        return method.apply(this, fields || first instanceof Error ? [withCount, ...args.slice(1)] : [withCount, ...args]);
      },
    },
  };
  const stdout = pino.destination({ dest: 1, sync: true });
  const destination = options.destination ?? stdout;
  return pino(settings, (options.format ?? 'json') === 'text' ? textDestination(destination) : destination);
}

/**
 * `parent` with `component: name` — unless a component is already bound:
 * pino appends bindings, so binding `component` again would print the key
 * twice in every line. Then `name` is a part of that component and goes
 * under `subcomponent` (or nowhere, if that is bound too: the outer names
 * say where the line comes from).
 */
export function componentLogger(parent: Logger, name: string): Logger {
  const bound = parent.bindings();
  if (bound.component === undefined) return parent.child({ component: name });
  if (bound.component === name || bound.subcomponent !== undefined) return parent;
  return parent.child({ subcomponent: name });
}

/** A logger that drops everything: the default in unit tests and benchmarks. */
export const silentLogger: Logger = pino({ level: 'silent' });
