/**
 * Catching up as soon as an API server is back. After an outage, the
 * runtime's backoffs are long: a BundleDeployment whose reconcile failed
 * retries on client-go's per-key curve (tens of seconds after a 30 s outage,
 * up to 1000 s), and a reflector whose watch failed waits up to its cap
 * (30 s) before it sees the BundleDeployments created meanwhile.
 *
 * While anything waits like that, this probes both servers' `/version`
 * once a second (two small GETs, only during an outage; otherwise a tick
 * costs an in-memory check) and, the moment both answer, re-enqueues the
 * waiting keys and ends the reflectors' retry waits: recovery takes about a
 * second whatever the outage's length.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../observability/logger.ts';
import type { RequestSpec } from '../runtime/kube/api-types.ts';
import { Emitter, type EventSource } from '../runtime/watches.ts';

export interface ReadinessTarget {
  readonly server: string;
  request<T>(spec: RequestSpec): Promise<T>;
}

/** Reflectors that may be waiting out a backoff (an InformerFactory). */
export interface RetryingWatches {
  retrying(): boolean;
  retryNow(): void;
}

/** The keys to retry now. */
export interface Reachable {
  readonly keys: readonly string[];
}

export class ReconnectProbe {
  readonly #targets: readonly ReadinessTarget[];
  readonly #watches: readonly RetryingWatches[];
  readonly #intervalMs: number;
  readonly #log: Logger;
  readonly #waiting = new Set<string>();
  readonly #events = new Emitter<Reachable>();
  readonly #stop = new AbortController();
  #loop: Promise<void> | undefined;

  constructor(opts: { targets: readonly ReadinessTarget[]; watches?: readonly RetryingWatches[]; intervalMs?: number; logger: Logger }) {
    this.#targets = opts.targets;
    this.#watches = opts.watches ?? [];
    this.#intervalMs = opts.intervalMs ?? 1000;
    this.#log = opts.logger;
  }

  get events(): EventSource<Reachable> {
    return this.#events;
  }

  /** `key` failed because a server was unavailable: retry it once both answer again. */
  waitFor(key: string): void {
    this.#waiting.add(key);
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      await delay(this.#intervalMs, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) return;
      const retrying = this.#watches.filter((w) => w.retrying());
      if (this.#waiting.size === 0 && retrying.length === 0) continue;
      const answers = await Promise.all(this.#targets.map((t) => this.#answers(t, signal)));
      if (!answers.every(Boolean)) continue;
      for (const w of retrying) w.retryNow();
      const keys = [...this.#waiting];
      this.#waiting.clear();
      this.#log.info({ keys: keys.length, watches: retrying.length }, 'API servers answer again: retrying now');
      if (keys.length > 0) this.#events.emit({ keys });
    }
  }

  async #answers(target: ReadinessTarget, signal: AbortSignal): Promise<boolean> {
    try {
      // /version: JSON, readable by every authenticated identity (system:public-info-viewer).
      await target.request({ verb: 'get', method: 'GET', path: '/version', resource: 'version', timeoutMs: 5000, signal });
      return true;
    } catch {
      return false;
    }
  }
}
