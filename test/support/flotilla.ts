import { mkdtempSync, openSync, readSync, closeSync, fstatSync, readFileSync, writeFileSync, renameSync, rmSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { registerScratchDir, startProcess, unregisterScratchDir, type ExitStatus, type ManagedProcess } from '../../src/controlplane/processes.ts';
import { scrapeMetrics, type Metrics } from './metrics.ts';
import { waitFor } from '../../src/util/wait.ts';
import type { FlotillaConfig } from '../../src/config/schema.ts';
import { KindResources } from '../../src/api/kinds.ts';
import { Label, WORKSPACE_LABEL_VALUE } from '../../src/api/constants.ts';
import { createRegistry } from '../../src/observability/metrics.ts';
import { ApiError } from '../../src/runtime/errors.ts';
import { KubeClient } from '../../src/runtime/kube/client.ts';
import { builtinTypes, type KubeObject, type ObjectList, type ResourceType } from '../../src/runtime/kube/resource.ts';
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from '../../src/controlplane/harness.ts';
import { controllerKubeconfig } from '../../src/controlplane/rbac.ts';
import { applyManifests, loadKubeConfig } from './kube.ts';
import { readKustomization } from '../../src/quickstart/manifests.ts';
import type { OracleWorld } from './oracle.ts';
import { levelAtLeast } from '../../src/observability/logger.ts';

/**
 * Runs the real controller (`node src/main.ts`) as a child process for
 * integration tests, the way it runs in production: its own kubeconfig,
 * a config file (the shipped `config/flotilla.yaml` with test overrides),
 * JSON logs on stdout, metrics and health on ports of its own.
 *
 *   const flotilla = await startFlotilla({ kubeconfig: await controllerKubeconfig(cp) });
 *   await flotilla.waitForReady();
 *   const m = await flotilla.metrics();
 *   await flotilla.stop();                 // SIGTERM, resolves with the exit code
 *
 * Ports: `metrics.bindAddress` and `health.bindAddress` default to
 * `127.0.0.1:0` here, and the URLs are read from the `serving` log lines.
 * Leader election is off unless the overrides turn it on.
 *
 * The child is started through the control-plane harness's process manager,
 * so it is killed when the test process exits in any way (SIGKILL included:
 * the harness's reaper notices). Its stdout and stderr go to a log file that
 * is read on demand: `logs` always holds every complete JSON line written so
 * far (non-JSON lines land in `otherLines`).
 */

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MAIN = join(REPO_ROOT, 'src/main.ts');
const CLI_MAIN = join(REPO_ROOT, 'src/cli/main.ts');
const SHIPPED_CONFIG = join(REPO_ROOT, 'config/flotilla.yaml');

type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/** Overrides of the config file; nested objects merge, arrays and scalars replace. */
export type ConfigOverrides = DeepPartial<FlotillaConfig>;

export type LogLine = Record<string, unknown>;

export interface StartFlotillaOptions {
  kubeconfig: string;
  config?: ConfigOverrides;
  /** Extra environment (merged over this process's). */
  env?: NodeJS.ProcessEnv;
  /** Extra command-line arguments. */
  args?: string[];
  /** `run` (the controller, default) or `agent`, whose `--kubeconfig` is its downstream cluster. */
  command?: 'run' | 'agent';
  /** For messages and the log file name. Default `flotilla`. */
  name?: string;
  /** How long until both HTTP servers must be serving. Default 60 s. */
  startTimeoutMs?: number;
}

export interface FlotillaProcess {
  readonly pid: number;
  readonly name: string;
  /** Full URL of the Prometheus endpoint, e.g. `http://127.0.0.1:41234/metrics`. */
  readonly metricsUrl: string;
  /** Base URL of the health server: `${healthUrl}/healthz`, `${healthUrl}/readyz`. */
  readonly healthUrl: string;
  readonly configPath: string;
  readonly logFile: string;
  /** Every JSON log line so far (pino objects), in order. */
  readonly logs: LogLine[];
  /** Every non-JSON line so far (stderr, the process manager's header). */
  readonly otherLines: string[];
  /** Resolves when the process has exited. Never rejects. */
  readonly exited: Promise<ExitStatus>;
  isRunning(): boolean;
  /** Polls the logs until a line satisfies `pred`; returns it. */
  waitForLog(pred: (line: LogLine) => boolean, options?: { timeoutMs?: number; description?: string }): Promise<LogLine>;
  /** Polls `/readyz` until it answers 200 (caches synced; a synced standby is ready too: leadership shows in the Lease and `leader_election_master_status`). */
  waitForReady(options?: { timeoutMs?: number }): Promise<void>;
  /** Scrapes `/metrics`. */
  metrics(): Promise<Metrics>;
  /**
   * Waits until the controllers are idle: every work queue empty, no reconcile
   * running, and `controller_runtime_reconcile_total` unchanged for `stableMs`
   * (and, if given, at least `minReconciles` in total). Returns the last scrape.
   */
  waitForIdle(options?: { timeoutMs?: number; stableMs?: number; minReconciles?: number; description?: string }): Promise<Metrics>;
  /** Sends a signal (e.g. `SIGKILL` for a crash). */
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after `graceMs` (default 30 s); resolves with the exit code (null if killed by a signal). */
  stop(options?: { graceMs?: number }): Promise<number | null>;
  /** The last `lines` lines of output, for failure messages. */
  logTail(lines?: number): string;
  /**
   * Rewrites the running controller's config file (hot reload): the shipped
   * config, the start overrides, then `overrides` merged over them. The new
   * file replaces the old one atomically (write + rename), as an editor or
   * the kubelet would, so the watcher never reads half a file. Overrides
   * accumulate across calls. Wait for the effect, e.g. the
   * `configuration reloaded` log line.
   */
  writeConfig(overrides: ConfigOverrides): void;
}

export async function startFlotilla(options: StartFlotillaOptions): Promise<FlotillaProcess> {
  const name = options.name ?? 'flotilla';
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  if (process.env.FLOTILLA_KEEP_CONTROLPLANE !== '1') registerScratchDir(dir);
  const configPath = join(dir, 'flotilla.yaml');
  writeFileSync(configPath, stringifyYaml(testConfig(options.config)));
  const logFile = join(dir, `${name}.log`);

  const child = await startProcess({
    name,
    binary: process.execPath,
    args: [
      ...(options.command === 'agent' ? [CLI_MAIN, 'agent'] : [MAIN]),
      '--kubeconfig', options.kubeconfig, '--config', configPath, ...(options.args ?? []),
    ],
    logFile,
    env: { ...process.env, ...options.env },
  });
  const tail = new LogTail(logFile);
  const handle = makeHandle({ name, child, tail, dir, configPath, logFile, config: options.config ?? {} });

  let servers: { metrics: string; health: string };
  try {
    servers = await waitFor(
      () => {
        const serving = tail.read().json.filter((l) => l.msg === 'serving' && typeof l.url === 'string');
        const metrics = serving.find((l) => pathsOf(l).includes('/metrics'));
        const health = serving.find((l) => pathsOf(l).some((p) => p === '/readyz' || p === '/healthz'));
        if (metrics && health) return { metrics: `${String(metrics.url)}/metrics`, health: String(health.url) };
        if (!child.isRunning()) throw new Error(`${name} exited before serving`);
        return undefined;
      },
      { timeoutMs: options.startTimeoutMs ?? 60_000, intervalMs: 50, description: `${name} to serve /metrics and /readyz` },
    );
  } catch (error) {
    await child.stop({ signal: 'SIGKILL', graceMs: 1000 });
    throw new Error(`${(error as Error).message}\n--- ${name} output ---\n${handle.logTail(60)}`, { cause: error });
  }
  Object.assign(handle, { metricsUrl: servers.metrics, healthUrl: servers.health });
  return handle;
}

function pathsOf(line: LogLine): string[] {
  return Array.isArray(line.paths) ? line.paths.map(String) : [];
}

/** The shipped config file with the overrides merged in, plus test defaults (loopback ports, no election). */
export function testConfig(overrides: ConfigOverrides = {}): Record<string, unknown> {
  const shipped = parseYaml(readFileSync(SHIPPED_CONFIG, 'utf8')) as Record<string, unknown>;
  const testDefaults: ConfigOverrides = {
    leaderElection: { enabled: false },
    // Loopback plain HTTP: tests scrape without a token (README: Metrics).
    metrics: { bindAddress: '127.0.0.1:0', secure: false },
    health: { bindAddress: '127.0.0.1:0' },
  };
  return deepMerge(deepMerge(shipped, testDefaults as Record<string, unknown>), overrides as Record<string, unknown>);
}

/** `over` laid over `base`: objects merge key by key, anything else (arrays included) replaces. */
export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const current = out[key];
    out[key] =
      isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : structuredClone(value as unknown);
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads a growing log file incrementally, splitting complete lines into JSON objects and others. */
class LogTail {
  readonly json: LogLine[] = [];
  readonly other: string[] = [];
  readonly #file: string;
  #offset = 0;
  #partial = '';

  constructor(file: string) {
    this.#file = file;
  }

  read(): this {
    let fd: number;
    try {
      fd = openSync(this.#file, 'r');
    } catch {
      return this;
    }
    try {
      const size = fstatSync(fd).size;
      if (size <= this.#offset) return this;
      const buffer = Buffer.allocUnsafe(size - this.#offset);
      let got = 0;
      while (got < buffer.length) {
        const n = readSync(fd, buffer, got, buffer.length - got, this.#offset + got);
        if (n === 0) break;
        got += n;
      }
      this.#offset += got;
      // A multi-byte character split at the end stays in #partial as a
      // replacement char only if the writer stopped mid-character, which
      // pino (line-at-a-time writes) does not do.
      const text = this.#partial + buffer.subarray(0, got).toString('utf8');
      const lines = text.split('\n');
      this.#partial = lines.pop() ?? '';
      for (const line of lines) this.#add(line);
    } finally {
      closeSync(fd);
    }
    return this;
  }

  #add(line: string): void {
    const trimmed = line.trim();
    if (trimmed === '') return;
    if (trimmed.startsWith('{')) {
      try {
        this.json.push(JSON.parse(trimmed) as LogLine);
        return;
      } catch {
        // Not JSON after all: keep it as text.
      }
    }
    this.other.push(line);
  }
}

function makeHandle(parts: {
  name: string;
  child: ManagedProcess;
  tail: LogTail;
  dir: string;
  configPath: string;
  logFile: string;
  config?: ConfigOverrides;
}): FlotillaProcess {
  const { name, child, tail } = parts;
  let currentOverrides = (parts.config ?? {}) as Record<string, unknown>;
  const handle: FlotillaProcess = {
    pid: child.pid,
    name,
    metricsUrl: '',
    healthUrl: '',
    configPath: parts.configPath,
    logFile: parts.logFile,
    get logs() {
      return tail.read().json;
    },
    get otherLines() {
      return tail.read().other;
    },
    exited: child.exited,
    isRunning: () => child.isRunning(),
    async waitForLog(pred, options = {}) {
      let seen = 0;
      return waitFor(
        () => {
          const lines = tail.read().json;
          for (; seen < lines.length; seen++) {
            const line = lines[seen] as LogLine;
            if (pred(line)) return line;
          }
          return undefined;
        },
        { timeoutMs: options.timeoutMs ?? 30_000, intervalMs: 50, description: options.description ?? `a matching log line from ${name}` },
      );
    },
    async waitForReady(options = {}) {
      await waitFor(
        async () => {
          if (!child.isRunning()) throw new Error(`${name} exited`);
          const response = await fetch(`${handle.healthUrl}/readyz`, { signal: AbortSignal.timeout(5000) });
          await response.text();
          return response.status === 200;
        },
        { timeoutMs: options.timeoutMs ?? 60_000, intervalMs: 100, description: `${name} /readyz to answer 200` },
      );
    },
    metrics() {
      return scrapeMetrics(handle.metricsUrl);
    },
    async waitForIdle(options = {}) {
      const stableMs = options.stableMs ?? 1500;
      let last: { total: number; since: number } | undefined;
      let lastMetrics: Metrics | undefined;
      await waitFor(
        async () => {
          const m = await scrapeMetrics(handle.metricsUrl);
          lastMetrics = m;
          const total = m.sum('controller_runtime_reconcile_total');
          const busy = m.sum('workqueue_depth') > 0 || m.sum('controller_runtime_active_workers') > 0;
          const now = Date.now();
          if (busy || last === undefined || last.total !== total) {
            last = { total, since: now };
            return false;
          }
          return now - last.since >= stableMs && total >= (options.minReconciles ?? 0);
        },
        {
          timeoutMs: options.timeoutMs ?? 120_000,
          intervalMs: 250,
          description: options.description ?? `${name} to be idle (queues empty, reconcile count stable for ${stableMs} ms)`,
        },
      );
      return lastMetrics as Metrics;
    },
    kill(signal) {
      child.signal(signal);
    },
    async stop(options = {}) {
      const status = await child.stop({ signal: 'SIGTERM', graceMs: options.graceMs ?? 30_000 });
      if (process.env.FLOTILLA_KEEP_CONTROLPLANE !== '1' && status.code === 0) {
        rmSync(parts.dir, { recursive: true, force: true });
        unregisterScratchDir(parts.dir);
      }
      return status.code;
    },
    logTail(lines = 40) {
      tail.read();
      const text = (() => {
        try {
          return readFileSync(parts.logFile, 'utf8');
        } catch {
          return '(no log)';
        }
      })();
      return text.trimEnd().split('\n').slice(-lines).join('\n');
    },
    writeConfig(overrides) {
      currentOverrides = deepMerge(currentOverrides, overrides as Record<string, unknown>);
      const tmp = join(parts.dir, `.flotilla.yaml.${process.pid}.tmp`);
      writeFileSync(tmp, stringifyYaml(testConfig(currentOverrides as ConfigOverrides)));
      renameSync(tmp, parts.configPath);
    },
  };
  return handle;
}

// ---------------------------------------------------------------------------
// A placement test environment: control plane, CRDs, clients, object helpers.

/**
 * What every placement integration test needs: a control plane with the
 * Flotilla CRDs installed, an admin client (system:masters, for the test's
 * own reads and writes), and the controller's RBAC-bound kubeconfig.
 */
export interface PlacementEnv {
  cp: ControlPlane;
  /** Admin client (bypasses RBAC); its writes are the test's, not the controller's. */
  admin: KubeClient;
  adminKubeConfig: KubeConfig;
  /** Kubeconfig path of the controller's user, bound to config/rbac. */
  controllerKubeconfig: string;
  /** Starts the controller as that user. */
  startFlotilla(options?: Omit<StartFlotillaOptions, 'kubeconfig'>): Promise<FlotillaProcess>;
  /** Stops every controller started here that still runs, then the control plane. */
  stop(): Promise<void>;
}

export async function startPlacementEnv(options: Omit<ControlPlaneOptions, 'detached'> = {}): Promise<PlacementEnv> {
  // Fault tests pass e.g. requestTimeout or extraApiServerFlags through.
  const cp = await startControlPlane({ ...options, controllerManager: options.controllerManager ?? false });
  const kc = loadKubeConfig(cp.adminKubeconfig);
  // What a user installs: the CRDs and the admission policy next to them.
  await applyManifests(kc, await readKustomization(join(REPO_ROOT, 'config/crd')));
  const controllerKc = await controllerKubeconfig(cp);
  const admin = new KubeClient({ kubeConfig: kc, registry: createRegistry({ defaultMetrics: false }), userAgent: 'flotilla-test' });
  const started: FlotillaProcess[] = [];
  return {
    cp,
    admin,
    adminKubeConfig: kc,
    controllerKubeconfig: controllerKc,
    async startFlotilla(opts = {}) {
      const proc = await startFlotilla({ ...opts, kubeconfig: controllerKc });
      started.push(proc);
      return proc;
    },
    async stop() {
      for (const proc of started) if (proc.isRunning()) await proc.stop({ graceMs: 10_000 }).catch(() => undefined);
      await admin.close();
      await cp.stop();
    },
  };
}

export const T = KindResources;

export const SAMPLE_CONFIGMAP = (name: string, data: Record<string, string> = { key: 'value' }): string =>
  `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n${Object.entries(data)
    .map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`)
    .join('\n')}\n`;

export interface Obj extends KubeObject {
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

/** Creates a namespace labelled as a workspace (`flotilla.dev/workspace=true`). */
export async function createWorkspace(admin: KubeClient, name: string, labels: Record<string, string> = {}): Promise<void> {
  await admin.create(builtinTypes.namespace, { metadata: { name, labels: { [Label.Workspace]: WORKSPACE_LABEL_VALUE, ...labels } } });
}

export function clusterObject(namespace: string, name: string, labels: Record<string, string> = {}): Obj {
  return { metadata: { name, namespace, labels }, spec: {} };
}

export function clusterGroupObject(namespace: string, name: string, selector: unknown, labels: Record<string, string> = {}): Obj {
  return { metadata: { name, namespace, labels }, spec: { selector } };
}

export function bundleObject(
  namespace: string,
  name: string,
  targets: unknown[] | undefined,
  resources: Array<{ name: string; content: string }> = [{ name: 'cm.yaml', content: SAMPLE_CONFIGMAP(`${name}-cm`) }],
  extraSpec: Record<string, unknown> = {},
): Obj {
  return { metadata: { name, namespace }, spec: { resources, ...(targets === undefined ? {} : { targets }), ...extraSpec } };
}

/** Runs `fn` over `items` with at most `concurrency` at once; results in input order. */
export async function mapConcurrent<T, R>(items: readonly T[], concurrency: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

/** Every object of a type (all namespaces, or one), following `continue` tokens. */
export async function listAll<O extends KubeObject = Obj>(
  client: KubeClient,
  type: ResourceType,
  options: { namespace?: string; labelSelector?: string } = {},
): Promise<O[]> {
  const items: O[] = [];
  let token: string | undefined;
  do {
    const page: ObjectList<O> = await client.list<O>(type, { ...options, limit: 500, continue: token });
    items.push(...page.items);
    token = page.metadata.continue || undefined;
  } while (token !== undefined);
  return items;
}

/** How many objects a list would return, from one `limit=1` request (`remainingItemCount`). */
export async function countObjects(client: KubeClient, type: ResourceType, options: { namespace?: string; labelSelector?: string } = {}): Promise<number> {
  const page = await client.list(type, { ...options, limit: 1 });
  return page.items.length + (page.metadata.remainingItemCount ?? 0);
}

/** A condition of an object's status, by type. */
export function conditionOf(obj: Obj | undefined, type: string): { type: string; status: string; reason?: string; message?: string; observedGeneration?: number } | undefined {
  const conditions = (obj?.status?.conditions ?? []) as Array<{ type: string; status: string; reason?: string; message?: string }>;
  return conditions.find((c) => c.type === type);
}

/** Whether a 404 came back (the object is gone). */
export async function isGone(client: KubeClient, type: ResourceType, name: string, namespace?: string): Promise<boolean> {
  try {
    await client.get(type, name, namespace);
    return false;
  } catch (error) {
    if (error instanceof ApiError && error.statusCode === 404) return true;
    throw error;
  }
}

/**
 * Polls `check` (which returns the list of what is still wrong) until it
 * returns an empty list; on timeout the error lists the last problems, so a
 * failure says exactly which object differs and how.
 */
export async function waitForConvergence(
  check: () => Promise<string[]> | string[],
  options: { timeoutMs?: number; intervalMs?: number; description: string },
): Promise<void> {
  let last: string[] = ['(not checked yet)'];
  try {
    await waitFor(
      async () => {
        last = await check();
        return last.length === 0;
      },
      { timeoutMs: options.timeoutMs ?? 60_000, intervalMs: options.intervalMs ?? 500, description: options.description },
    );
  } catch (error) {
    const shown = last.slice(0, 25).map((p) => `  - ${p}`).join('\n');
    throw new Error(`${(error as Error).message}\nstill wrong (${last.length}):\n${shown}${last.length > 25 ? '\n  ...' : ''}`, { cause: error });
  }
}

/** Reads what the oracle needs from the API: Clusters, ClusterGroups, Bundles and which namespaces are workspaces. */
export async function readWorld(client: KubeClient): Promise<OracleWorld & { namespaces: Obj[] }> {
  const [namespaces, clusters, clusterGroups, bundles] = await Promise.all([
    listAll(client, builtinTypes.namespace),
    listAll(client, T.Cluster),
    listAll(client, T.ClusterGroup),
    listAll(client, T.Bundle),
  ]);
  const workspaces = new Set(
    namespaces
      .filter((ns) => ns.metadata.labels?.[Label.Workspace] === WORKSPACE_LABEL_VALUE && ns.metadata.labels?.[Label.ManagedBy] !== 'flotilla')
      .map((ns) => ns.metadata.name ?? ''),
  );
  return {
    namespaces,
    clusters: clusters as OracleWorld['clusters'],
    clusterGroups: clusterGroups as OracleWorld['clusterGroups'],
    bundles: bundles as OracleWorld['bundles'],
    isWorkspace: (ns) => workspaces.has(ns),
  };
}

/** Warnings and errors the controller logged, for `# ` diagnostics in test output. */
export function reportLoggedProblems(proc: FlotillaProcess, max = 15): void {
  const problems = proc.logs.filter((l) => levelAtLeast(l.level, 'warn'));
  console.log(`# ${proc.name} (pid ${proc.pid}) logged ${problems.length} warning/error lines`);
  for (const line of problems.slice(0, max)) {
    const { level, msg, err, controller, key, reason } = line as Record<string, unknown>;
    const errText = typeof err === 'object' && err !== null ? (err as { message?: unknown }).message : err;
    console.log(`#   [${level}] ${String(msg)}${controller ? ` controller=${String(controller)}` : ''}${key ? ` key=${String(key)}` : ''}${reason ? ` reason=${String(reason)}` : ''}${errText ? ` err=${String(errText).slice(0, 300)}` : ''}`);
  }
}
