/**
 * The process lifecycle: the one module that owns signals, process-level
 * error events and `process.exit`.
 *
 * Shutdown (SIGTERM, SIGINT, or `shutdown()` called by the runtime):
 * 1. `stopping` aborts at once — intake stops (reflectors stop dispatching,
 *    readiness turns false) before anything slow happens;
 * 2. the registered steps run **in registration order**, one at a time, each
 *    logged with its duration — typically: stop reconciling and drain
 *    in-flight reconciles, release the lease, close the pool, close the HTTP
 *    servers, flush logs;
 * 3. the process exits with an `ExitCode`.
 *
 * The whole sequence is bounded by `timeoutMs` (config
 * `shutdown.timeoutSeconds`). A step gets the smaller of its own timeout and
 * what is left of the overall budget; a step that overruns is abandoned (its
 * AbortSignal fires) and the next step runs; a step that throws is logged
 * and the next step runs. Once the overall budget is spent, the remaining
 * steps are skipped and listed in the log. A second signal during shutdown
 * exits at once: the operator (or the kubelet's escalation) has decided.
 *
 * Errors that reach the process (`uncaughtException`, `unhandledRejection`):
 * - raised on behalf of a reconcile (inside `runIsolated`, see
 *   isolation.ts): logged with the reconcile's controller/key/reconcileID
 *   and counted; the process carries on. Safe because reconciles are
 *   level-triggered and own no shared state: they read caches through the
 *   runtime and write through the API, so the unwound stack can only have
 *   abandoned that one reconcile's local work, and the next event for the
 *   key reconciles again from the cache. Crashing instead would turn one
 *   bad object into a restart loop of the whole controller (every cache
 *   relisted, every key reconciled again) without fixing anything.
 * - anywhere else (reflectors, queues, lease, servers): the runtime's own
 *   invariants may be broken — a loop may have died, leaving caches silently
 *   stale — so the error is logged and the process shuts down gracefully
 *   with `ExitCode.InternalError`, releasing its lease so a standby takes
 *   over at once; the restart rebuilds state from the API server. (What Go
 *   controllers do with a panic outside the reconciler, minus the abrupt
 *   exit.) During shutdown such errors are only logged.
 */
import type { Registry } from 'prom-client';
import { componentLogger, silentLogger, type Logger } from '../observability/logger.ts';
import { registeredCounter } from '../observability/metrics.ts';
import { currentIsolation, type IsolationTags } from './isolation.ts';

export const ExitCode = {
  /** Every shutdown step finished within its time. */
  Clean: 0,
  /** Shutdown finished, but a step failed, timed out, or was skipped when the budget ran out. */
  Incomplete: 1,
  /** An error escaped outside reconcile isolation; the process shut down gracefully (EX_SOFTWARE). */
  InternalError: 70,
  /** A second signal arrived during shutdown; the process exited at once (128 + SIGINT, as shells report it). */
  Forced: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A shutdown step: gets a signal that aborts when its time is up. May return a promise. */
export type ShutdownStep = (signal: AbortSignal) => unknown;

export interface StepReport {
  name: string;
  outcome: 'ok' | 'failed' | 'timed-out' | 'skipped';
  durationMs: number;
  error?: string;
}

export interface ShutdownReport {
  reason: string;
  exitCode: number;
  durationMs: number;
  steps: StepReport[];
}

/** The slice of `process` the lifecycle listens on; injectable so tests need not send real signals. */
export interface ProcessEventSource {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
}

export interface LifecycleOptions {
  /** Overall shutdown budget in ms (config `shutdown.timeoutSeconds` × 1000). */
  timeoutMs: number;
  logger?: Logger;
  /** Ends the process (default `process.exit`). Called exactly once. */
  exit?: (code: number) => void;
  /** Where signals and process error events come from (default `process`). */
  processEvents?: ProcessEventSource;
  /** Signals that start a graceful shutdown (default SIGTERM and SIGINT). */
  signals?: readonly NodeJS.Signals[];
  /** Registers `flotilla_unhandled_errors_total`. */
  registry?: Registry;
  /** How to tell a reconcile's error from the runtime's (default: `currentIsolation` from isolation.ts). */
  isolation?: () => IsolationTags | undefined;
}

interface RegisteredStep {
  name: string;
  run: ShutdownStep;
  timeoutMs: number | undefined;
}

const TIMED_OUT = Symbol('timed out');

/** How long the final log flush may take before the process exits anyway. */
const FLUSH_TIMEOUT_MS = 1_000;

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class Lifecycle {
  readonly #timeoutMs: number;
  readonly #logger: Logger;
  readonly #exit: (code: number) => void;
  readonly #events: ProcessEventSource;
  readonly #signals: readonly NodeJS.Signals[];
  readonly #isolation: () => IsolationTags | undefined;
  readonly #steps: RegisteredStep[] = [];
  readonly #stopping = new AbortController();
  readonly #unhandled;
  #shutdown: Promise<ShutdownReport> | undefined;
  #exited = false;
  #installed = false;
  /** Raised when an error escapes isolation during shutdown. */
  #exitFloor: number = ExitCode.Clean;

  constructor(options: LifecycleOptions) {
    if (!(options.timeoutMs > 0)) throw new RangeError(`timeoutMs must be > 0, got ${options.timeoutMs}`);
    this.#timeoutMs = options.timeoutMs;
    this.#logger = componentLogger(options.logger ?? silentLogger, 'lifecycle');
    this.#exit = options.exit ?? ((code) => process.exit(code));
    this.#events = options.processEvents ?? process;
    this.#signals = options.signals ?? ['SIGTERM', 'SIGINT'];
    this.#isolation = options.isolation ?? currentIsolation;
    this.#unhandled =
      options.registry === undefined
        ? undefined
        : registeredCounter<'kind' | 'isolated'>(options.registry, {
            name: 'flotilla_unhandled_errors_total',
            help: 'Errors that reached the process (uncaught exceptions, unhandled rejections), by kind and whether they came from an isolated reconcile.',
            labelNames: ['kind', 'isolated'],
          });
  }

  /**
   * Aborts when shutdown begins, before the first step: stop taking new work
   * (reflectors stop dispatching, readiness turns false). Listeners must be quick.
   */
  get stopping(): AbortSignal {
    return this.#stopping.signal;
  }

  get shuttingDown(): boolean {
    return this.#shutdown !== undefined;
  }

  /** Appends a shutdown step; steps run in the order they were added. */
  addStep(name: string, run: ShutdownStep, options: { timeoutMs?: number } = {}): this {
    if (this.#shutdown !== undefined) throw new Error(`cannot add shutdown step "${name}": shutdown already started`);
    this.#steps.push({ name, run, timeoutMs: options.timeoutMs });
    return this;
  }

  /** Starts listening for signals and process-level errors. */
  install(): this {
    if (this.#installed) return this;
    this.#installed = true;
    for (const signal of this.#signals) this.#events.on(signal, this.#onSignal);
    this.#events.on('uncaughtException', this.#onUncaughtException);
    this.#events.on('unhandledRejection', this.#onUnhandledRejection);
    return this;
  }

  uninstall(): void {
    if (!this.#installed) return;
    this.#installed = false;
    for (const signal of this.#signals) this.#events.off(signal, this.#onSignal);
    this.#events.off('uncaughtException', this.#onUncaughtException);
    this.#events.off('unhandledRejection', this.#onUnhandledRejection);
  }

  /**
   * Shuts down and exits. Idempotent: later calls return the first call's
   * report. `exitCode` asks for a non-zero code (e.g. after a fatal error);
   * otherwise the code says whether shutdown was clean.
   */
  shutdown(reason: string, options: { exitCode?: number } = {}): Promise<ShutdownReport> {
    this.#shutdown ??= this.#run(reason, options.exitCode ?? ExitCode.Clean).catch((error: unknown) => {
      // Steps are isolated in #runStep; this is a bug in the lifecycle itself. Still end the process.
      this.#logger.fatal({ err: error }, 'shutdown failed unexpectedly');
      this.#finish(ExitCode.InternalError);
      return { reason, exitCode: ExitCode.InternalError, durationMs: 0, steps: [] };
    });
    return this.#shutdown;
  }

  readonly #onSignal = (received: unknown): void => {
    const signal = String(received);
    if (this.#shutdown === undefined) {
      this.#logger.info({ signal }, `received ${signal}: shutting down gracefully`);
      void this.shutdown(signal);
      return;
    }
    this.#logger.warn({ signal, exitCode: ExitCode.Forced }, `received ${signal} again during shutdown: exiting immediately`);
    this.#finish(ExitCode.Forced);
  };

  readonly #onUncaughtException = (error: unknown): void => {
    this.#onProcessError('exception', error);
  };

  readonly #onUnhandledRejection = (reason: unknown): void => {
    this.#onProcessError('rejection', reason);
  };

  #onProcessError(kind: 'exception' | 'rejection', error: unknown): void {
    const tags = this.#isolation();
    this.#unhandled?.inc({ kind, isolated: tags === undefined ? 'false' : 'true' });
    const what = kind === 'exception' ? 'uncaught exception' : 'unhandled promise rejection';
    if (tags !== undefined) {
      this.#logger.error({ ...tags, err: error, kind }, `${what} in a reconcile: the reconcile failed, the controller carries on`);
      return;
    }
    if (this.#shutdown !== undefined) {
      this.#exitFloor = Math.max(this.#exitFloor, ExitCode.InternalError);
      this.#logger.error({ err: error, kind }, `${what} during shutdown`);
      return;
    }
    this.#logger.fatal({ err: error, kind }, `${what} outside any reconcile: shutting down`);
    void this.shutdown(what, { exitCode: ExitCode.InternalError });
  }

  async #run(reason: string, requestedCode: number): Promise<ShutdownReport> {
    const started = performance.now();
    const deadline = started + this.#timeoutMs;
    this.#logger.info({ reason, timeoutMs: this.#timeoutMs, steps: this.#steps.map((s) => s.name) }, 'shutdown started');
    // Listeners run synchronously here; one that throws is reported by Node as an
    // uncaught exception, which during shutdown is logged (and raises the exit code).
    this.#stopping.abort(new Error(`shutting down: ${reason}`));

    const reports: StepReport[] = [];
    let budgetExhausted = false;
    for (const step of this.#steps) {
      const remaining = deadline - performance.now();
      // Timers may fire a fraction of a millisecond early: under 1 ms left counts as spent.
      if (budgetExhausted || remaining < 1) {
        budgetExhausted = true;
        reports.push({ name: step.name, outcome: 'skipped', durationMs: 0 });
        continue;
      }
      const limitedByDeadline = step.timeoutMs === undefined || remaining <= step.timeoutMs;
      const report = await this.#runStep(step, limitedByDeadline ? remaining : (step.timeoutMs ?? remaining));
      // A step cut off by the overall deadline has used up the budget, whatever the clock says.
      if (report.outcome === 'timed-out' && limitedByDeadline) budgetExhausted = true;
      reports.push(report);
    }
    const skipped = reports.filter((r) => r.outcome === 'skipped').map((r) => r.name);
    if (skipped.length > 0) {
      this.#logger.error({ skipped, timeoutMs: this.#timeoutMs }, `shutdown budget exhausted: skipped ${skipped.join(', ')}`);
    }

    const incomplete = reports.some((r) => r.outcome !== 'ok');
    const exitCode = Math.max(requestedCode, this.#exitFloor) || (incomplete ? ExitCode.Incomplete : ExitCode.Clean);
    const report: ShutdownReport = { reason, exitCode, durationMs: Math.round(performance.now() - started), steps: reports };
    this.#logger.info({ exitCode, durationMs: report.durationMs, incomplete }, 'shutdown complete');
    await this.#flushLogs();
    this.#finish(exitCode);
    return report;
  }

  async #runStep(step: RegisteredStep, budgetMs: number): Promise<StepReport> {
    const started = performance.now();
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const elapsed = () => Math.round(performance.now() - started);
    this.#logger.debug({ step: step.name, budgetMs: Math.round(budgetMs) }, 'shutdown step started');
    try {
      // Ref'd on purpose: the pending timer keeps the process alive until the step ends or times out.
      const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
        timer = setTimeout(() => resolve(TIMED_OUT), budgetMs);
      });
      const result = await Promise.race([Promise.resolve().then(() => step.run(abort.signal)), timeout]);
      if (result === TIMED_OUT) {
        abort.abort(new Error(`shutdown step "${step.name}" timed out`));
        this.#logger.warn({ step: step.name, durationMs: elapsed() }, `shutdown step "${step.name}" timed out; moving on`);
        return { name: step.name, outcome: 'timed-out', durationMs: elapsed() };
      }
      this.#logger.info({ step: step.name, durationMs: elapsed() }, `shutdown step "${step.name}" done`);
      return { name: step.name, outcome: 'ok', durationMs: elapsed() };
    } catch (error) {
      this.#logger.error({ step: step.name, durationMs: elapsed(), err: error }, `shutdown step "${step.name}" failed; continuing`);
      return { name: step.name, outcome: 'failed', durationMs: elapsed(), error: errorMessage(error) };
    } finally {
      clearTimeout(timer);
    }
  }

  #flushLogs(): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, FLUSH_TIMEOUT_MS);
      try {
        this.#logger.flush(() => {
          clearTimeout(timer);
          resolve();
        });
      } catch {
        clearTimeout(timer);
        resolve();
      }
    });
  }

  #finish(code: number): void {
    if (this.#exited) return;
    this.#exited = true;
    this.#exit(code);
  }
}
