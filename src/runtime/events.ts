import { randomBytes } from 'node:crypto';
import type { Counter, Registry } from 'prom-client';
import { registeredCounter } from '../observability/metrics.ts';
import type { ObjectWriter } from './kube/interfaces.ts';
import { builtinTypes, microTime, type KubeObject } from './kube/resource.ts';
import { silentLogger, type Logger } from '../observability/logger.ts';
import { isNamespaceTerminating } from './errors.ts';
import { EventBudget } from './event-budget.ts';
import { outsideIsolation } from './isolation.ts';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  client: ObjectWriter;
  registry: Registry;
  /** `reportingController`, e.g. `flotilla.dev/bundle-controller`. */
  controller: string;
  /** `reportingInstance`: this replica's identity. */
  instance: string;
  logger?: Logger;
  /** Repeats of the same event within this window update one Event's series instead of creating new ones. */
  seriesWindowMs?: number;
  /** At most one series update per event per this interval: a hot loop must not become a write storm. */
  minSeriesUpdateIntervalMs?: number;
  /** Bound on remembered events (oldest forgotten first). */
  maxTracked?: number;
  /** The budget of `recordBestEffort` (default: `EventBudget`'s defaults, never under pressure). */
  budget?: EventBudget;
  now?: () => number;
}

interface Tracked {
  name: string;
  namespace: string;
  count: number;
  firstAt: number;
  lastWrittenAt: number;
  pendingWrite: boolean;
}

const NOTE_LIMIT = 1024;


/**
 * Records events.k8s.io/v1 Events about objects, the way client-go's new
 * events library does: a repeat of the same (object, type, reason, note)
 * within the series window bumps `series.count` on the existing Event rather
 * than creating another, and series updates are themselves rate limited.
 * Recording never throws and never blocks a reconcile on the API: it is
 * fire-and-forget, with failures logged and counted.
 *
 * An Event into a namespace that is being deleted is dropped quietly (debug
 * log, result `dropped`): the API server refuses it, and it would be deleted
 * with the namespace anyway. Deleting a workspace makes its objects report
 * problems in bulk just then, and each refusal logged as a warning buried
 * real warnings. The server's refusal is the test, not the namespace cache:
 * it is authoritative, needs no cache that may lag the deletion, and keeps
 * the recorder independent of what a controller watches.
 */
export class EventRecorder {
  readonly #o: Required<Omit<EventRecorderOptions, 'logger' | 'budget'>> & { logger: Logger };
  readonly #tracked = new Map<string, Tracked>();
  readonly #written: Counter<'type' | 'reason' | 'result'>;
  readonly #dropped: Counter<'type' | 'reason' | 'cause'>;
  readonly #budget: EventBudget;

  constructor(opts: EventRecorderOptions) {
    this.#o = {
      seriesWindowMs: 6 * 60_000,
      minSeriesUpdateIntervalMs: 30_000,
      maxTracked: 4096,
      now: Date.now,
      logger: silentLogger,
      ...opts,
    };
    this.#budget = opts.budget ?? new EventBudget();
    this.#written = registeredCounter(opts.registry, {
      name: 'flotilla_events_recorded_total',
      help: 'Kubernetes Events recorded, by type, reason and result (created, series, suppressed, dropped: its namespace is being deleted, error).',
      labelNames: ['type', 'reason', 'result'],
    });
    this.#dropped = registeredCounter(opts.registry, {
      name: 'flotilla_events_dropped_total',
      help: 'Best-effort Kubernetes Events (Normal transitions) not recorded to keep them from competing with real writes, by type, reason and cause (object_rate, rate, in_flight, api_pressure).',
      labelNames: ['type', 'reason', 'cause'],
    });
  }

  /**
   * Records an event about `regarding`; resolves when written (callers need
   * not await). For the events that report a problem to fix (Warnings):
   * they are not budgeted, only aggregated into series.
   */
  record(regarding: KubeObject, type: EventType, reason: string, note: string, action = reason): Promise<void> {
    // Not part of the reconcile that reports it: its request is not held to
    // the limit on reconciles' requests, and never delays theirs.
    return outsideIsolation(() => this.#record(regarding, type, reason, note, action));
  }

  /**
   * Records an event if the best-effort budget allows (event-budget.ts):
   * for Normal events announcing transitions, which must never delay the
   * controller's real writes. Over budget it is dropped and counted in
   * `flotilla_events_dropped_total{cause}`.
   */
  recordBestEffort(regarding: KubeObject, type: EventType, reason: string, note: string, action = reason): Promise<void> {
    const meta = regarding.metadata;
    const admitted = this.#budget.admit(meta.uid ?? `${meta.namespace}/${meta.name}`);
    if ('dropped' in admitted) {
      this.#dropped.labels(type, reason, admitted.dropped).inc();
      this.#o.logger.debug({ reason, cause: admitted.dropped, object: `${meta.namespace}/${meta.name}` }, 'event dropped: over the best-effort budget');
      return Promise.resolve();
    }
    return this.record(regarding, type, reason, note, action).finally(admitted.release);
  }

  #record(regarding: KubeObject, type: EventType, reason: string, note: string, action: string): Promise<void> {
    const meta = regarding.metadata;
    const trimmed = note.length > NOTE_LIMIT ? `${note.slice(0, NOTE_LIMIT - 3)}...` : note;
    const id = `${meta.uid ?? `${meta.namespace}/${meta.name}`}\u0000${type}\u0000${reason}\u0000${trimmed}`;
    const now = this.#o.now();
    const tracked = this.#tracked.get(id);
    if (tracked && now - tracked.firstAt < this.#o.seriesWindowMs) {
      tracked.count++;
      if (tracked.pendingWrite || now - tracked.lastWrittenAt < this.#o.minSeriesUpdateIntervalMs) {
        this.#written.labels(type, reason, 'suppressed').inc();
        return Promise.resolve();
      }
      return this.#updateSeries(tracked, type, reason, now);
    }
    return this.#create(id, regarding, type, reason, trimmed, action, now);
  }

  async #create(id: string, regarding: KubeObject, type: EventType, reason: string, note: string, action: string, now: number): Promise<void> {
    const meta = regarding.metadata;
    const namespace = meta.namespace || 'default';
    const name = `${meta.name ?? 'object'}.${randomBytes(8).toString('hex')}`;
    const tracked: Tracked = { name, namespace, count: 1, firstAt: now, lastWrittenAt: now, pendingWrite: true };
    this.#remember(id, tracked);
    try {
      await this.#o.client.create(builtinTypes.event, {
        metadata: { name, namespace },
        eventTime: microTime(now),
        reportingController: this.#o.controller,
        reportingInstance: this.#o.instance,
        action: action.slice(0, 128),
        reason: reason.slice(0, 128),
        note,
        type,
        regarding: {
          apiVersion: regarding.apiVersion,
          kind: regarding.kind,
          name: meta.name,
          namespace: meta.namespace,
          uid: meta.uid,
          resourceVersion: meta.resourceVersion,
        },
      });
      this.#written.labels(type, reason, 'created').inc();
    } catch (err) {
      this.#tracked.delete(id);
      if (isNamespaceTerminating(err)) {
        this.#written.labels(type, reason, 'dropped').inc();
        this.#o.logger.debug({ reason, object: `${meta.namespace}/${meta.name}` }, 'event dropped: its namespace is being deleted');
        return;
      }
      this.#written.labels(type, reason, 'error').inc();
      this.#o.logger.warn({ err, reason, object: `${meta.namespace}/${meta.name}` }, 'could not record event');
    } finally {
      tracked.pendingWrite = false;
    }
  }

  async #updateSeries(tracked: Tracked, type: EventType, reason: string, now: number): Promise<void> {
    tracked.pendingWrite = true;
    tracked.lastWrittenAt = now;
    try {
      await this.#o.client.patch(builtinTypes.event, tracked.name, tracked.namespace, {
        series: { count: tracked.count, lastObservedTime: microTime(now) },
      });
      this.#written.labels(type, reason, 'series').inc();
    } catch (err) {
      this.#written.labels(type, reason, 'error').inc();
      this.#o.logger.warn({ err, reason, event: tracked.name }, 'could not update event series');
    } finally {
      tracked.pendingWrite = false;
    }
  }

  #remember(id: string, tracked: Tracked): void {
    this.#tracked.set(id, tracked);
    if (this.#tracked.size > this.#o.maxTracked) {
      const oldest = this.#tracked.keys().next().value;
      if (oldest !== undefined) this.#tracked.delete(oldest);
    }
  }
}
