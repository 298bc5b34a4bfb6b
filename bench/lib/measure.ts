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
 *  maxRssBytes   peak resident set (VmHWM) of the process over its life;
 *  controlPlane  what the window cost the shared control plane: kube-apiserver
 *                and etcd CPU seconds (/proc; null if not our processes or
 *                restarted) and the requests the API server counted
 *                (apiserver_request_total, by verb). The metric has no user
 *                label: during a window the benchmark drives nothing else
 *                (its own watches, its trigger writes and the scrape itself
 *                are in the count; non-resource requests like /metrics are
 *                left out).
 */
import { performance } from 'node:perf_hooks';
import { parseMetrics, type Metrics } from '../../test/support/metrics.ts';
import type { SystemProcess } from './launch.ts';
import type { Observer } from './observer.ts';
import { cpuDelta, type CpuSnapshot, type ProcSample } from './proc-stats.ts';
import type { ControlPlaneProbe } from './env.ts';
import type { RequestCounts } from './agents.ts';
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
  controlPlane?: ControlPlaneCost;
  [extra: string]: unknown;
}

/** What one window cost the shared control plane. */
export interface ControlPlaneCost {
  apiServerCpuSeconds: number | null;
  etcdCpuSeconds: number | null;
  /** Resource requests the API server counted in the window (null when its /metrics could not be read). */
  apiServerRequests: number | null;
  /** By the API server's verb (GET, LIST, WATCH, POST, PUT, PATCH, APPLY, DELETE, ...). */
  apiServerRequestsByVerb: Record<string, number>;
}

/** Pure: the control plane's cost between two readings. */
export function controlPlaneCost(cpuBefore: CpuSnapshot, cpuAfter: CpuSnapshot, before: RequestCounts | undefined, after: RequestCounts | undefined): ControlPlaneCost {
  const cpu = cpuDelta(cpuBefore, cpuAfter);
  const byVerb: Record<string, number> = {};
  let total: number | null = null;
  if (before && after) {
    total = 0;
    for (const [key, n] of after) {
      const space = key.indexOf(' ');
      const verb = key.slice(0, space);
      const resource = key.slice(space + 1);
      // Non-resource requests (/metrics, /readyz, /version) have no resource: not the systems' work.
      if (resource === '' || resource === 'undefined') continue;
      const d = n - (before.get(key) ?? 0);
      if (d <= 0) continue;
      byVerb[verb] = (byVerb[verb] ?? 0) + d;
      total += d;
    }
  }
  return {
    apiServerCpuSeconds: cpu['kube-apiserver'] ?? null,
    etcdCpuSeconds: cpu.etcd ?? null,
    apiServerRequests: total,
    apiServerRequestsByVerb: Object.fromEntries(Object.entries(byVerb).sort(([a], [b]) => a.localeCompare(b))),
  };
}

export class Window {
  readonly #system: SystemProcess;
  readonly #spec: SystemSpec;
  readonly #observer: Observer;
  readonly #before: Metrics;
  readonly #sample: ProcSample | undefined;
  readonly #controlPlane: { probe: ControlPlaneProbe; cpu: CpuSnapshot; requests: RequestCounts | undefined } | undefined;
  readonly startedAt: number;
  ownWrites = 0;

  private constructor(
    spec: SystemSpec,
    system: SystemProcess,
    observer: Observer,
    before: Metrics,
    sample: ProcSample | undefined,
    controlPlane: { probe: ControlPlaneProbe; cpu: CpuSnapshot; requests: RequestCounts | undefined } | undefined,
  ) {
    this.#spec = spec;
    this.#system = system;
    this.#observer = observer;
    this.#before = before;
    this.#sample = sample;
    this.#controlPlane = controlPlane;
    this.startedAt = performance.now();
  }

  /**
   * `fromProcessStart`: count from zero (the process was started inside the
   * window). `controlPlane`: also measure the API server's and etcd's cost;
   * with `fromProcessStart`, pass `controlPlaneBefore` read before the start.
   */
  static async open(
    spec: SystemSpec,
    system: SystemProcess,
    observer: Observer,
    options: { fromProcessStart?: boolean; controlPlane?: ControlPlaneProbe; controlPlaneBefore?: { cpu: CpuSnapshot; requests: RequestCounts | undefined } } = {},
  ): Promise<Window> {
    const before = options.fromProcessStart ? parseMetrics('') : await system.metrics();
    const sample = options.fromProcessStart ? { cpuSeconds: 0, maxRssBytes: 0, rssBytes: 0 } : system.sample();
    const probe = options.controlPlane;
    const cp = probe ? { probe, ...(options.controlPlaneBefore ?? (await readControlPlane(probe))) } : undefined;
    // A process started inside the window may already have written: the caller reset the counts before starting it.
    if (!options.fromProcessStart) observer.resetCounts();
    return new Window(spec, system, observer, before, sample, cp);
  }

  elapsedSeconds(): number {
    return (performance.now() - this.startedAt) / 1000;
  }

  /** Figures from the start of the window to now. */
  async close(result: { converged: boolean; seconds: number | null; note?: string }): Promise<SystemFigures> {
    const after = await this.#system.metrics();
    const sample = this.#system.sample();
    const cp = this.#controlPlane;
    const cpAfter = cp ? await readControlPlane(cp.probe, 'end') : undefined;
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
      ...(cp && cpAfter ? { controlPlane: controlPlaneCost(cp.cpu, cpAfter.cpu, cp.requests, cpAfter.requests) } : {}),
      ...this.#spec.extra(b, after),
    };
  }
}

/**
 * Reads the control plane's CPU and request counts. The scrape costs the API
 * server CPU too: at the start of a window it is read before the CPU, at the
 * end after, so the benchmark's own scrapes fall outside the window.
 */
export async function readControlPlane(probe: ControlPlaneProbe, at: 'start' | 'end' = 'start'): Promise<{ cpu: CpuSnapshot; requests: RequestCounts | undefined }> {
  if (at === 'start') {
    const requests = await probe.requests();
    return { cpu: probe.cpu(), requests };
  }
  const cpu = probe.cpu();
  return { cpu, requests: await probe.requests() };
}

export function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
