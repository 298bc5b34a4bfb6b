/**
 * One measured window of one system: from just before the benchmark's trigger
 * (label flip, controller start, first relabel) until the system is idle
 * again after converging. Everything is a difference between the start and
 * the end of the window, so setup work (informer sync, earlier phases) is
 * not counted.
 *
 * Definitions (also in bench/README.md):
 *  writes        write requests the system sent (flotilla_api_requests_total,
 *                verbs create/update/patch/apply/delete), by verb, any code;
 *                Events excluded: they are no object the benchmark watches,
 *                and would otherwise read as no-op writes;
 *  eventWrites   the Event writes (events.k8s.io and core), by verb: what the
 *                system spent on telling operators, apart from its work;
 *  failedWrites  those answered with a non-2xx code (409 AlreadyExists, 429...);
 *  effectiveWrites  watch events the benchmark's observer saw in the window,
 *                minus the benchmark's own writes (each write that changes an
 *                object bumps its resourceVersion: exactly one event);
 *  noopWrites    successful writes − effective writes: writes whose result
 *                equalled the object before (the API server did not store them);
 *  apiRequests   every request the system sent (reads and watches included);
 *  cpuSeconds    user+sys CPU of the system's process (all threads) in the window;
 *  maxRssBytes   peak resident set (VmHWM) of the process over its life.
 */
import { performance } from 'node:perf_hooks';
import { parseMetrics, type Metrics } from '../../test/support/metrics.ts';
import type { SystemProcess } from './launch.ts';
import type { Observer } from './observer.ts';
import type { ProcSample } from './proc-stats.ts';
import type { SystemSpec } from '../systems/index.ts';

export const WRITE_VERBS = ['create', 'update', 'patch', 'apply', 'delete'] as const;

/** flotilla_api_requests_total's `resource` of Events (`resourceLabel`: plural, then `.group`). */
export const EVENT_RESOURCE = /events(\.events\.k8s\.io)?/;
const notEvent = (resource: string) => !new RegExp(`^(?:${EVENT_RESOURCE.source})$`).test(resource);

export interface SystemFigures {
  system: string;
  settings: Record<string, number | string>;
  converged: boolean;
  /** Wall time from the trigger to converged; null when it did not converge in time. */
  seconds: number | null;
  note?: string;
  writes: Record<string, number>;
  writesTotal: number;
  /** Event writes by verb, not in `writes`. */
  eventWrites: Record<string, number>;
  failedWrites: number;
  effectiveWrites: number;
  effectiveWritesByKind: Record<string, number>;
  noopWrites: number;
  apiRequests: number;
  apiRequestsByVerb: Record<string, number>;
  cpuSeconds: number;
  maxRssBytes: number;
  [extra: string]: unknown;
}

export class Window {
  readonly #system: SystemProcess;
  readonly #spec: SystemSpec;
  readonly #observer: Observer;
  readonly #before: Metrics;
  readonly #sample: ProcSample | undefined;
  readonly startedAt: number;
  ownWrites = 0;

  private constructor(spec: SystemSpec, system: SystemProcess, observer: Observer, before: Metrics, sample: ProcSample | undefined) {
    this.#spec = spec;
    this.#system = system;
    this.#observer = observer;
    this.#before = before;
    this.#sample = sample;
    this.startedAt = performance.now();
  }

  /** `fromProcessStart`: count from zero (the process was started inside the window). */
  static async open(spec: SystemSpec, system: SystemProcess, observer: Observer, options: { fromProcessStart?: boolean } = {}): Promise<Window> {
    const before = options.fromProcessStart ? parseMetrics('') : await system.metrics();
    const sample = options.fromProcessStart ? { cpuSeconds: 0, maxRssBytes: 0, rssBytes: 0 } : system.sample();
    // A process started inside the window may already have written: the caller reset the counts before starting it.
    if (!options.fromProcessStart) observer.resetCounts();
    return new Window(spec, system, observer, before, sample);
  }

  elapsedSeconds(): number {
    return (performance.now() - this.startedAt) / 1000;
  }

  /** Figures from the start of the window to now. */
  async close(result: { converged: boolean; seconds: number | null; note?: string }): Promise<SystemFigures> {
    const after = await this.#system.metrics();
    const sample = this.#system.sample();
    const events = this.#observer.counts();
    const b = this.#before;
    const writes: Record<string, number> = {};
    const eventWrites: Record<string, number> = {};
    let writesTotal = 0;
    let ok = 0;
    for (const verb of WRITE_VERBS) {
      const n = after.sum('flotilla_api_requests_total', { verb, resource: notEvent }) - b.sum('flotilla_api_requests_total', { verb, resource: notEvent });
      if (n > 0) writes[verb] = n;
      writesTotal += n;
      const okFilter = { verb, resource: notEvent, code: /2\d\d/ };
      ok += after.sum('flotilla_api_requests_total', okFilter) - b.sum('flotilla_api_requests_total', okFilter);
      const events = after.sum('flotilla_api_requests_total', { verb, resource: EVENT_RESOURCE }) - b.sum('flotilla_api_requests_total', { verb, resource: EVENT_RESOURCE });
      if (events > 0) eventWrites[verb] = events;
    }
    const byVerbAfter = after.groupBy('flotilla_api_requests_total', ['verb']);
    const byVerbBefore = b.groupBy('flotilla_api_requests_total', ['verb']);
    const apiRequestsByVerb: Record<string, number> = {};
    for (const [verb, n] of Object.entries(byVerbAfter)) {
      const dn = n - (byVerbBefore[verb] ?? 0);
      if (dn > 0) apiRequestsByVerb[verb] = dn;
    }
    const effective = Math.max(0, events.total - this.ownWrites);
    const byKind = Object.fromEntries(Object.entries(events.byKind).filter(([k]) => !k.includes(',')));
    return {
      system: this.#spec.name,
      settings: this.#spec.settings,
      converged: result.converged,
      seconds: result.seconds === null ? null : round3(result.seconds),
      ...(result.note ? { note: result.note } : {}),
      writes,
      writesTotal,
      eventWrites,
      failedWrites: writesTotal - ok,
      effectiveWrites: effective,
      effectiveWritesByKind: byKind,
      noopWrites: Math.max(0, ok - effective),
      apiRequests: Object.values(apiRequestsByVerb).reduce((s, n) => s + n, 0),
      apiRequestsByVerb,
      cpuSeconds: round3((sample?.cpuSeconds ?? Number.NaN) - (this.#sample?.cpuSeconds ?? Number.NaN)),
      maxRssBytes: sample?.maxRssBytes ?? Number.NaN,
      ...this.#spec.extra(b, after),
    };
  }
}

export function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/** Flotilla's memory against what it caches (the observer caches the same objects, managedFields stripped). */
export async function memoryFigures(system: SystemProcess, observer: Observer): Promise<Record<string, number | string | null>> {
  const m = await system.metrics();
  const cache = observer.cachedJson();
  const heap = m.sum('nodejs_heap_size_used_bytes');
  return {
    cachedObjects: cache.objects,
    cachedJsonBytes: cache.bytes,
    jsonBytesPerObject: Math.round(cache.bytes / cache.objects),
    heapUsedBytes: heap,
    heapBytesPerObject: Math.round(heap / cache.objects),
    rssBytes: system.sample()?.rssBytes ?? null,
    note: 'heap and RSS include the process baseline (V8, libraries, worker pool): an upper bound on the per-object cost',
  };
}
