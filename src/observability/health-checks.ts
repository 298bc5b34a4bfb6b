/**
 * Named health checks, reported like kube-apiserver's `/healthz` and
 * `/readyz`: `[+]name ok` / `[-]name failed: reason`, then
 * `<endpoint> check passed|failed`.
 */
import type { EventLoopMonitor } from './event-loop-monitor.ts';

/** What a check returns: true/undefined = pass, false = fail, or a verdict with a reason. Throwing = fail. */
export type CheckOutcome = boolean | undefined | void | { ok: boolean; reason?: string };
export type HealthCheck = () => CheckOutcome | Promise<CheckOutcome>;

export interface CheckResult {
  name: string;
  ok: boolean;
  reason?: string;
}

export interface CheckReport {
  ok: boolean;
  results: CheckResult[];
}

/** Check names appear in URLs (`/readyz/<name>`) and in text output. */
const CHECK_NAME = /^[A-Za-z0-9][A-Za-z0-9._:/-]*$/;

export class HealthChecks {
  readonly #checks = new Map<string, HealthCheck>();
  readonly #states = new Map<string, { ok: boolean; reason?: string }>();
  readonly #timeoutMs: number;

  /** `timeoutMs`: a check that has not answered by then fails, so a hung check cannot hang the probe. */
  constructor(options: { timeoutMs?: number } = {}) {
    this.#timeoutMs = options.timeoutMs ?? 2_000;
  }

  /** Registers a computed check; returns a function that removes it. */
  add(name: string, check: HealthCheck): () => void {
    if (!CHECK_NAME.test(name)) throw new RangeError(`invalid health check name ${JSON.stringify(name)}`);
    if (this.#checks.has(name)) throw new Error(`health check ${JSON.stringify(name)} is already registered`);
    this.#checks.set(name, check);
    return () => {
      if (this.#checks.get(name) === check) this.remove(name);
    };
  }

  /**
   * Sets a check whose state is pushed rather than computed, e.g.
   * `set('informer-sync:Bundle', false, 'waiting for the initial list')`
   * and later `set('informer-sync:Bundle', true)`. Registers it on first use.
   */
  set(name: string, ok: boolean, reason?: string): void {
    const state = reason === undefined ? { ok } : { ok, reason };
    if (!this.#states.has(name)) {
      this.add(name, () => this.#states.get(name));
    }
    this.#states.set(name, state);
  }

  remove(name: string): boolean {
    this.#states.delete(name);
    return this.#checks.delete(name);
  }

  has(name: string): boolean {
    return this.#checks.has(name);
  }

  names(): string[] {
    return [...this.#checks.keys()];
  }

  async #runOne(name: string, check: HealthCheck): Promise<CheckResult> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${this.#timeoutMs} ms`)), this.#timeoutMs);
      });
      const outcome = await Promise.race([Promise.resolve().then(check), timeout]);
      if (outcome === undefined || outcome === true) return { name, ok: true };
      if (outcome === false) return { name, ok: false };
      return outcome.reason === undefined || outcome.ok ? { name, ok: outcome.ok } : { name, ok: false, reason: outcome.reason };
    } catch (error) {
      return { name, ok: false, reason: error instanceof Error ? error.message : String(error) };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs the checks (concurrently), in registration order; `exclude` skips some (kube's `?exclude=`). */
  async run(options: { only?: string; exclude?: ReadonlySet<string> } = {}): Promise<CheckReport> {
    const selected = [...this.#checks].filter(
      ([name]) => (options.only === undefined || name === options.only) && !options.exclude?.has(name),
    );
    const results = await Promise.all(selected.map(([name, check]) => this.#runOne(name, check)));
    return { ok: results.every((result) => result.ok), results };
  }
}

/** kube-apiserver's text format for a report. */
export function formatReport(endpoint: string, report: CheckReport, verbose: boolean): string {
  if (report.ok && !verbose) return 'ok\n';
  const lines = report.results.map((result) =>
    result.ok ? `[+]${result.name} ok` : `[-]${result.name} failed${result.reason === undefined ? '' : `: ${result.reason}`}`,
  );
  lines.push(`${endpoint} check ${report.ok ? 'passed' : 'failed'}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The liveness checks: `ping` (answering at all) and `event-loop`. Nothing
 * here may depend on the API server or any other dependency: a liveness
 * failure restarts the pod, and restarting cannot fix an unreachable API
 * server — that is how Fission got restart loops.
 */
export function livenessChecks(monitor: EventLoopMonitor, options: { timeoutMs?: number } = {}): HealthChecks {
  const checks = new HealthChecks(options);
  checks.add('ping', () => true);
  checks.add('event-loop', () => monitor.check());
  return checks;
}
