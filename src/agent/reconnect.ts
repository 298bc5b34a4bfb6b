/**
 * Catching up as soon as an API server is back. A BundleDeployment whose
 * reconcile failed because a server was unreachable is retried with the
 * runtime's per-key exponential backoff, which after a 30 s outage is
 * already waiting tens of seconds (client-go's curve, capped at 1000 s).
 * While such keys wait, this probes both servers' `/version` every second
 * (two small GETs, only during an outage) and re-enqueues the waiting keys
 * the moment both answer, so recovery takes about a second whatever the
 * outage's length.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../observability/logger.ts';
import type { RequestSpec } from '../runtime/kube/api-types.ts';
import { Emitter, type EventSource } from '../runtime/watches.ts';

export interface ReadinessTarget {
  readonly server: string;
  request<T>(spec: RequestSpec): Promise<T>;
}

/** The keys to retry now. */
export interface Reachable {
  readonly keys: readonly string[];
}

export class ReconnectProbe {
  readonly #targets: readonly ReadinessTarget[];
  readonly #intervalMs: number;
  readonly #log: Logger;
  readonly #waiting = new Set<string>();
  readonly #events = new Emitter<Reachable>();
  #probing = false;
  readonly #stop = new AbortController();

  constructor(opts: { targets: readonly ReadinessTarget[]; intervalMs?: number; logger: Logger }) {
    this.#targets = opts.targets;
    this.#intervalMs = opts.intervalMs ?? 1000;
    this.#log = opts.logger;
  }

  get events(): EventSource<Reachable> {
    return this.#events;
  }

  /** `key` failed because a server was unavailable: retry it once both answer again. */
  waitFor(key: string): void {
    this.#waiting.add(key);
    if (!this.#probing) void this.#probe();
  }

  stop(): void {
    this.#stop.abort();
  }

  async #probe(): Promise<void> {
    this.#probing = true;
    const signal = this.#stop.signal;
    try {
      while (this.#waiting.size > 0 && !signal.aborted) {
        await delay(this.#intervalMs, undefined, { signal }).catch(() => undefined);
        if (signal.aborted) return;
        const answers = await Promise.all(this.#targets.map((t) => this.#ready(t, signal)));
        if (!answers.every(Boolean)) continue;
        const keys = [...this.#waiting];
        this.#waiting.clear();
        this.#log.info({ keys: keys.length }, 'API servers reachable again: retrying the waiting BundleDeployments now');
        this.#events.emit({ keys });
      }
    } finally {
      this.#probing = false;
    }
  }

  async #ready(target: ReadinessTarget, signal: AbortSignal): Promise<boolean> {
    try {
      // /version: JSON, readable by every authenticated identity (system:public-info-viewer).
      await target.request({ verb: 'get', method: 'GET', path: '/version', resource: 'version', timeoutMs: 5000, signal });
      return true;
    } catch {
      return false;
    }
  }
}
