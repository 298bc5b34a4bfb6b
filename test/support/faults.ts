import { appendFileSync } from 'node:fs';
import { contentNameFor } from '../../src/api/content-name.ts';
import { deploymentIDFor } from '../../src/api/deployment-id.ts';
import { deploymentNamespaceFor } from '../../src/placement/deployment-namespace.ts';
import type { KubeClient } from '../../src/runtime/kube/client.ts';
import {
  T,
  bundleObject,
  clusterObject,
  createWorkspace,
  listAll,
  mapConcurrent,
  readWorld,
  waitForConvergence,
  type FlotillaProcess,
  type Obj,
  type PlacementEnv,
} from './flotilla.ts';
import type { Metrics } from './metrics.ts';
import { describeDiff, desiredPlacements, diffPlacements, expectedSummary, isEmptyDiff } from './oracle.ts';

/**
 * Shared pieces of the fault-injection suite (test/integration/faults/):
 * the one-line recovery report every scenario prints, so the numbers can be
 * collected from test output (or from the JSON file named by
 * `FLOTILLA_FAULT_REPORT`) into the README's "Failure behaviour" table;
 * health probing during a fault; object identity snapshots (nothing
 * deleted or recreated); and the convergence check against the oracle.
 */

export interface RecoveryReport {
  /** Scenario number from the issue (1–12). */
  scenario: number;
  /** Short name, e.g. `etcd stall, steady state`. */
  name: string;
  /** From the end of the fault (e.g. SIGCONT) to the guarantee holding. */
  recoverySeconds: number;
  /** Key counts and measurements, written to the JSON report as they are. */
  details: Record<string, unknown>;
  /** What was measured, for the parenthesised part of the line: `0 deleted, 500/500 converged`. */
  summary: string;
}

/** The stdout line: `[fault] 2. etcd stall, steady state: recovered in 4.8 s (...)`. */
export function formatRecovery(r: RecoveryReport): string {
  return `[fault] ${r.scenario}. ${r.name}: recovered in ${formatSeconds(r.recoverySeconds)} s (${r.summary})`;
}

/**
 * Prints the summary line and, when `FLOTILLA_FAULT_REPORT` names a file,
 * appends one JSON object (`{scenario, name, recoverySeconds, ...details}`)
 * to it. Appending one line at a time keeps concurrent test files from
 * interleaving partial records (O_APPEND writes of one small buffer).
 */
export function reportRecovery(r: RecoveryReport): void {
  console.log(formatRecovery(r));
  const file = process.env.FLOTILLA_FAULT_REPORT;
  if (file !== undefined && file !== '') {
    const record = { scenario: r.scenario, name: r.name, recoverySeconds: round(r.recoverySeconds), ...r.details };
    appendFileSync(file, `${JSON.stringify(record)}\n`);
  }
}

/** Seconds elapsed since `startMs`, a `Date.now()` mark. */
export function secondsSince(startMs: number, nowMs = Date.now()): number {
  return (nowMs - startMs) / 1000;
}

function formatSeconds(seconds: number): string {
  return seconds.toFixed(1);
}

function round(seconds: number): number {
  return Math.round(seconds * 100) / 100;
}

// ---------------------------------------------------------------------------
// Probing a running controller during a fault.

export interface ProbeCounts {
  /** Probes that answered 200. */
  ok: number;
  /** Probes that answered something else (status code → count). */
  failed: Record<string, number>;
  /** Probes with no HTTP answer at all (connection refused, timeout). */
  unreachable: number;
}

/**
 * Polls `/healthz` and `/readyz` of a controller in the background (every
 * `intervalMs`) and counts the answers per phase, so a test can assert e.g.
 * "liveness never failed while etcd was stopped" and "not ready until the
 * caches synced". `phase(name)` starts a new phase; probes land in the
 * phase current when they were sent.
 */
/** As the kubelet would probe the shipped Deployment. */
export const PROBE_TIMEOUT_MS = 5000;

export class HealthProber {
  readonly #baseUrl: string;
  readonly #intervalMs: number;
  readonly phases = new Map<string, { healthz: ProbeCounts; readyz: ProbeCounts }>();
  #phase = 'start';
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> = Promise.resolve();

  constructor(baseUrl: string, options: { intervalMs?: number } = {}) {
    this.#baseUrl = baseUrl;
    this.#intervalMs = options.intervalMs ?? 250;
  }

  start(phase = 'start'): this {
    this.phase(phase);
    const tick = () => {
      this.#inFlight = this.#probeOnce().finally(() => {
        // Unref'd: a test that fails before stop() must still be able to end.
        if (this.#timer !== undefined) this.#timer = setTimeout(tick, this.#intervalMs).unref();
      });
    };
    this.#timer = setTimeout(tick, 0).unref();
    return this;
  }

  phase(name: string): void {
    this.#phase = name;
    if (!this.phases.has(name)) this.phases.set(name, { healthz: emptyCounts(), readyz: emptyCounts() });
  }

  counts(phase: string): { healthz: ProbeCounts; readyz: ProbeCounts } {
    return this.phases.get(phase) ?? { healthz: emptyCounts(), readyz: emptyCounts() };
  }

  async stop(): Promise<void> {
    const timer = this.#timer;
    this.#timer = undefined;
    if (timer !== undefined) clearTimeout(timer);
    await this.#inFlight;
  }

  async #probeOnce(): Promise<void> {
    const phase = this.#phase;
    const [healthz, readyz] = await Promise.all([probe(`${this.#baseUrl}/healthz`), probe(`${this.#baseUrl}/readyz`)]);
    const counts = this.counts(phase);
    this.phases.set(phase, counts);
    record(counts.healthz, healthz);
    record(counts.readyz, readyz);
  }
}

function emptyCounts(): ProbeCounts {
  return { ok: 0, failed: {}, unreachable: 0 };
}

function record(counts: ProbeCounts, status: number | undefined): void {
  if (status === undefined) counts.unreachable++;
  else if (status === 200) counts.ok++;
  else counts.failed[String(status)] = (counts.failed[String(status)] ?? 0) + 1;
}

/**
 * The HTTP status of a GET, or undefined when nothing answered within the
 * kubelet's timeout for the shipped probes (`timeoutSeconds: 5` in
 * config/manager/deployment.yaml): a slower answer is a failed probe there,
 * a faster one is not, however loaded the machine.
 */
export async function probe(url: string): Promise<number | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await response.text();
    return response.status;
  } catch {
    return undefined;
  }
}

/** `{ok: 3, failed: {503: 2}, unreachable: 0}` → `3 ok, 2×503`. */
export function describeCounts(c: ProbeCounts): string {
  const parts = [`${c.ok} ok`, ...Object.entries(c.failed).map(([code, n]) => `${n}×${code}`)];
  if (c.unreachable > 0) parts.push(`${c.unreachable} unreachable`);
  return parts.join(', ');
}

// ---------------------------------------------------------------------------
// Identity of objects across a fault.

export interface Identity {
  uid: string;
  creationTimestamp: string;
}

interface IdentifiedObject {
  metadata: { name?: string; namespace?: string; uid?: string; creationTimestamp?: string; deletionTimestamp?: string | null };
}

/** `namespace/name` → uid and creationTimestamp, to prove later that nothing was deleted or recreated. */
export function identities(objects: readonly IdentifiedObject[]): Map<string, Identity> {
  const out = new Map<string, Identity>();
  for (const o of objects) {
    out.set(`${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`, {
      uid: o.metadata.uid ?? '',
      creationTimestamp: o.metadata.creationTimestamp ?? '',
    });
  }
  return out;
}

export interface IdentityDiff {
  /** Keys present before and gone now. */
  deleted: string[];
  /** Keys present before and now, with a different uid (deleted and created again). */
  recreated: string[];
  /** Keys present before that are being deleted now. */
  terminating: string[];
}

/** Compares a snapshot from before a fault with the objects after it. */
export function compareIdentities(before: ReadonlyMap<string, Identity>, after: readonly IdentifiedObject[]): IdentityDiff {
  const now = new Map<string, IdentifiedObject>();
  for (const o of after) now.set(`${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`, o);
  const diff: IdentityDiff = { deleted: [], recreated: [], terminating: [] };
  for (const [key, id] of before) {
    const o = now.get(key);
    if (o === undefined) diff.deleted.push(key);
    else if (o.metadata.uid !== id.uid) diff.recreated.push(key);
    else if (o.metadata.deletionTimestamp) diff.terminating.push(key);
  }
  return diff;
}

// ---------------------------------------------------------------------------
// Convergence: the whole placement state against the independent oracle.

export interface ConvergenceReport {
  /** What is still wrong; empty when converged. */
  problems: string[];
  /** BundleDeployments the oracle wants. */
  desired: number;
  /** BundleDeployments that exist (terminating ones included). */
  existing: number;
}

/**
 * Starts the controller over a seeded world and waits until it has
 * converged (every BundleDeployment and summary as the oracle says) and gone
 * idle: the steady state a fault is then injected into. Returns the process
 * and the idle scrape, the baseline for write counts.
 */
export async function startConverged(env: PlacementEnv, name: string): Promise<{ proc: FlotillaProcess; idle: Metrics }> {
  const proc = await env.startFlotilla({ name });
  await proc.waitForReady();
  await waitForConvergence(async () => (await placementConvergence(env.admin, { summaries: true })).problems, {
    timeoutMs: 120_000,
    description: 'initial convergence',
  });
  return { proc, idle: await proc.waitForIdle({ timeoutMs: 60_000 }) };
}

/**
 * Everything that differs from the desired state computed by the oracle
 * (test/support/oracle.ts) from the objects as they are now: the exact set
 * of BundleDeployments (none missing, none extra, no duplicates, each in its
 * Cluster's deployment namespace, none left terminating), each one's
 * `spec.contentName`, and, with `summaries`, every Bundle's summary counts
 * and observedGeneration.
 */
export async function placementConvergence(admin: KubeClient, options: { summaries?: boolean } = {}): Promise<ConvergenceReport> {
  const world = await readWorld(admin);
  const desired = desiredPlacements(world);
  const bds = await listAll(admin, T.BundleDeployment);
  const problems: string[] = [];
  const diff = diffPlacements(desired, bds, deploymentNamespaceFor);
  if (!isEmptyDiff(diff)) problems.push(describeDiff(diff).trimEnd());
  const terminating = bds.filter((bd) => bd.metadata.deletionTimestamp);
  if (terminating.length > 0) problems.push(`${terminating.length} BundleDeployments still terminating`);
  const bundles = new Map((world.bundles as Obj[]).map((b) => [`${b.metadata.namespace}/${b.metadata.name}`, b]));
  let wrongContent = 0;
  for (const bd of bds) {
    const bundle = bundles.get(`${bd.metadata.labels?.['flotilla.dev/bundle-namespace']}/${bd.metadata.labels?.['flotilla.dev/bundle-name']}`);
    if (!bundle || bd.metadata.deletionTimestamp) continue;
    const want = contentNameFor((bundle.spec?.resources ?? []) as Array<{ name: string; content: string }>);
    if (bd.spec?.contentName !== want) {
      if (wrongContent++ < 5) problems.push(`${bd.metadata.namespace}/${bd.metadata.name}: spec.contentName ${String(bd.spec?.contentName)}, expected ${want}`);
    }
  }
  if (wrongContent > 5) problems.push(`... ${wrongContent} BundleDeployments with the wrong contentName in all`);
  if (options.summaries) {
    let wrong = 0;
    for (const b of bundles.values()) {
      if (b.metadata.deletionTimestamp) continue;
      const want = expectedSummary(b, world, bds);
      const summary = (b.status?.summary ?? {}) as { desiredReady?: number; ready?: number };
      const display = (b.status?.display ?? {}) as { readyClusters?: string };
      const mismatch =
        summary.desiredReady !== want.desiredReady ||
        summary.ready !== want.ready ||
        display.readyClusters !== want.readyClusters ||
        b.status?.observedGeneration !== b.metadata.generation;
      if (mismatch && wrong++ < 5) {
        problems.push(
          `${b.metadata.namespace}/${b.metadata.name}: summary ${String(summary.desiredReady)}/${String(summary.ready)} display ${String(display.readyClusters)} observedGeneration ${String(b.status?.observedGeneration)}, expected ${want.desiredReady}/${want.ready} ${want.readyClusters} generation ${b.metadata.generation}`,
        );
      }
    }
    if (wrong > 5) problems.push(`... ${wrong} Bundles with a wrong summary in all`);
  }
  return { problems, desired: desired.length, existing: bds.length };
}

// ---------------------------------------------------------------------------
// A placement world to fault.

export interface SeedOptions {
  workspace: string;
  clusters: number;
  bundles: number;
  /** Labels of Cluster `i`. Default: env dev/prod, region eu/us. */
  clusterLabels?: (i: number) => Record<string, string>;
  /** Targets of Bundle `i`. Default: mostly every Cluster, every fifth only `env=prod`. */
  bundleTargets?: (i: number) => unknown[];
  /** How many creates in flight. Default 16. */
  concurrency?: number;
}

export const seedClusterName = (i: number): string => `c${String(i).padStart(2, '0')}`;
export const seedBundleName = (i: number): string => `b${String(i).padStart(4, '0')}`;
export const defaultClusterLabels = (i: number): Record<string, string> => ({ env: i % 3 === 0 ? 'dev' : 'prod', region: i % 2 === 0 ? 'eu' : 'us' });
export const defaultBundleTargets = (i: number): unknown[] =>
  i % 5 === 4 ? [{ clusterSelector: { matchLabels: { env: 'prod' } } }] : [{ clusterSelector: {} }];
/** A ConfigMap per Bundle, a few distinct contents (shared Content objects). */
export const seedResources = (i: number, variant = 'v1'): Array<{ name: string; content: string }> => [
  { name: 'cm.yaml', content: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-${i % 4}\ndata:\n  variant: "${variant}-${i % 4}"\n` },
];

/** Creates a workspace with Clusters `c00…` and Bundles `b0000…` (as the admin). */
export async function seedWorld(admin: KubeClient, o: SeedOptions): Promise<void> {
  await createWorkspace(admin, o.workspace);
  const labels = o.clusterLabels ?? defaultClusterLabels;
  const targets = o.bundleTargets ?? defaultBundleTargets;
  const concurrency = o.concurrency ?? 16;
  await mapConcurrent(Array.from({ length: o.clusters }, (_, i) => i), concurrency, (i) =>
    admin.create(T.Cluster, clusterObject(o.workspace, seedClusterName(i), labels(i))),
  );
  await mapConcurrent(Array.from({ length: o.bundles }, (_, i) => i), concurrency, (i) =>
    admin.create(T.Bundle, bundleObject(o.workspace, seedBundleName(i), targets(i), seedResources(i))),
  );
}

/**
 * Keeps a fault in place for `durationMs` (the scenario's parameter, e.g. a
 * 30 s etcd stall), checking `invariant` every `intervalMs` meanwhile: it
 * throws at the first violation instead of discovering it afterwards.
 */
export async function holdFault(durationMs: number, invariant: () => void | Promise<void>, intervalMs = 250): Promise<void> {
  const until = Date.now() + durationMs;
  for (;;) {
    await invariant();
    const left = until - Date.now();
    if (left <= 0) return;
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, left)));
  }
}

// ---------------------------------------------------------------------------
// Seeing transient states: a watch of our own next to the controller's.

export interface RecordedEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  key: string;
  object: Obj;
  at: number;
}

/**
 * Records every watch event of one type from `resourceVersion` on, so that a
 * test can see states that came and went during a fault (an object deleted
 * and recreated, a status wiped and rewritten) rather than only the end
 * state. Resumes after the stream ends; 410 is a test failure (recorded in
 * `errors`) since events would have been missed.
 */
export class WatchRecorder {
  readonly events: RecordedEvent[] = [];
  readonly errors: string[] = [];
  readonly #abort = new AbortController();
  #rv: string;
  #loop: Promise<void>;

  constructor(client: KubeClient, type: ResourceTypeLike, resourceVersion: string) {
    this.#rv = resourceVersion;
    this.#loop = this.#run(client, type);
  }

  async #run(client: KubeClient, type: ResourceTypeLike): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      try {
        await client.watch<Obj>(type, { resourceVersion: this.#rv, timeoutSeconds: 600, allowWatchBookmarks: true, signal }, (e) => {
          if (e.object.metadata.resourceVersion) this.#rv = e.object.metadata.resourceVersion;
          if (e.type === 'BOOKMARK') return;
          this.events.push({ type: e.type, key: `${e.object.metadata.namespace ?? ''}/${e.object.metadata.name ?? ''}`, object: e.object, at: Date.now() });
        });
      } catch (error) {
        if (signal.aborted) return;
        const message = (error as Error).message;
        if ((error as { statusCode?: number }).statusCode === 410) {
          this.errors.push(`watch expired at ${this.#rv}: ${message}`);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 500).unref());
      }
    }
  }

  of(type: RecordedEvent['type']): RecordedEvent[] {
    return this.events.filter((e) => e.type === type);
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
  }
}

type ResourceTypeLike = Parameters<KubeClient['watch']>[0];

/** The list's resourceVersion: where a WatchRecorder should start to see everything after it. */
export async function currentResourceVersion(client: KubeClient, type: ResourceTypeLike): Promise<string> {
  const page = await client.list(type, { limit: 1 });
  return page.metadata.resourceVersion ?? '';
}

// ---------------------------------------------------------------------------
// Writing while the API server is down.

/**
 * Changes a custom resource straight in etcd, as another kube-apiserver of
 * an HA control plane would while ours is down: read the stored JSON at
 * `/registry/<group>/<resource>/<namespace>/<name>`, change it, and write it
 * back only if nobody else did meanwhile (a transaction on mod_revision).
 * Custom resources are stored as JSON, so this is exactly what the API
 * server would have stored for the same change (less its managedFields
 * update). Returns the new etcd revision (the object's resourceVersion).
 */
export async function patchStoredObject(
  etcdClientUrl: string,
  path: { group: string; resource: string; namespace: string; name: string },
  mutate: (obj: Record<string, unknown> & { metadata: Record<string, unknown> }) => void,
): Promise<number> {
  const key = Buffer.from(`/registry/${path.group}/${path.resource}/${path.namespace}/${path.name}`).toString('base64');
  const range = await etcdGateway<{ kvs?: Array<{ value: string; mod_revision: string }> }>(etcdClientUrl, '/v3/kv/range', { key });
  const kv = range.kvs?.[0];
  if (!kv) throw new Error(`etcd has no ${path.resource} ${path.namespace}/${path.name}`);
  const obj = JSON.parse(Buffer.from(kv.value, 'base64').toString('utf8')) as Record<string, unknown> & { metadata: Record<string, unknown> };
  mutate(obj);
  const txn = await etcdGateway<{ succeeded?: boolean; header?: { revision?: string } }>(etcdClientUrl, '/v3/kv/txn', {
    compare: [{ key, target: 'MOD', result: 'EQUAL', mod_revision: kv.mod_revision }],
    success: [{ request_put: { key, value: Buffer.from(JSON.stringify(obj)).toString('base64') } }],
  });
  if (!txn.succeeded) throw new Error(`${path.namespace}/${path.name} changed in etcd while being patched`);
  return Number(txn.header?.revision);
}

async function etcdGateway<R>(clientUrl: string, path: string, body: unknown): Promise<R> {
  const response = await fetch(`${clientUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`etcd ${path}: HTTP ${response.status}: ${text.trim()}`);
  return JSON.parse(text) as R;
}

/**
 * A valid but wrong BundleDeployment spec, as another writer might set it:
 * content and deployment ID of resources the Bundle does not have (`seed`
 * picks which), passing the CRD's validation.
 */
export function foreignSpec(seed: string): { contentName: string; deploymentID: string } {
  const contentName = contentNameFor([{ name: 'foreign.yaml', content: `# written by someone else: ${seed}\n` }]);
  return { contentName, deploymentID: deploymentIDFor(contentName, { foreign: seed } as Record<string, unknown>) };
}
