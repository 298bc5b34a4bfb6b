import assert from 'node:assert/strict';
import { deploymentNamespaceFor } from '../../src/placement/deployment-namespace.ts';
import { waitFor } from '../../src/util/wait.ts';
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
  type ConfigOverrides,
  type FlotillaProcess,
  type PlacementEnv,
} from './flotilla.ts';
import type { Metrics } from './metrics.ts';
import { scrapeMetrics } from './metrics.ts';
import { describeDiff, desiredPlacements, diffPlacements, isEmptyDiff, type PlacementDiff } from './oracle.ts';

/**
 * Shared set-up and checks for the fault scenarios that run a fan-out and
 * compare the result with the independent oracle (test/support/oracle.ts):
 * a workspace of Clusters whose deployment namespaces already exist, many
 * Bundles, and "does the world equal the oracle" as a list of problems.
 */

export interface ClusterSpec {
  name: string;
  labels: Record<string, string>;
}

/**
 * Creates the workspace and its Clusters, then gives every Cluster its
 * deployment namespace (see `createDeploymentNamespaces`). The fan-out the
 * scenario then measures is BundleDeployment work only.
 */
export async function prepareWorkspace(env: PlacementEnv, ws: string, clusters: readonly ClusterSpec[], config: ConfigOverrides = {}): Promise<void> {
  const { admin } = env;
  await createWorkspace(admin, ws);
  await mapConcurrent(clusters, 8, (c) => admin.create(T.Cluster, clusterObject(ws, c.name, c.labels)));
  await createDeploymentNamespaces(env, ws, config);
}

/**
 * Runs a short-lived controller until every Cluster of `ws` has its
 * deployment namespace, and stops it (exit 0).
 */
export async function createDeploymentNamespaces(env: PlacementEnv, ws: string, config: ConfigOverrides = {}): Promise<void> {
  const setup = await env.startFlotilla({ name: `flotilla-setup-${ws}`, config });
  try {
    await waitForConvergence(
      async () =>
        (await listAll(env.admin, T.Cluster, { namespace: ws }))
          .filter((c) => c.status?.namespace !== deploymentNamespaceFor(ws, c.metadata.name ?? ''))
          .map((c) => `${c.metadata.name}: status.namespace ${String(c.status?.namespace)}`),
      { timeoutMs: 120_000, description: `every Cluster of ${ws} has its deployment namespace` },
    );
  } finally {
    assert.equal(await setup.stop(), 0, 'the set-up controller exits 0');
  }
}

/** Creates `count` Bundles named by `name(i)` with `targets(i)`, 16 at a time. */
export async function createBundles(
  admin: KubeClient,
  ws: string,
  count: number,
  name: (i: number) => string,
  targets: (i: number) => unknown[],
): Promise<void> {
  await mapConcurrent(
    Array.from({ length: count }, (_, i) => i),
    16,
    (i) => admin.create(T.Bundle, bundleObject(ws, name(i), targets(i))),
  );
}

export interface OracleCheck {
  desired: number;
  existing: number;
  diff: PlacementDiff;
}

/** The oracle's desired set for the world as it is now, against every BundleDeployment that exists. */
export async function checkOracle(admin: KubeClient): Promise<OracleCheck> {
  const world = await readWorld(admin);
  const desired = desiredPlacements(world);
  const bds = await listAll(admin, T.BundleDeployment);
  return { desired: desired.length, existing: bds.length, diff: diffPlacements(desired, bds, deploymentNamespaceFor) };
}

/**
 * Polls until the BundleDeployments equal the oracle's desired set exactly
 * (no missing, extra, duplicate or malformed ones, and nothing terminating
 * left over); returns the desired count. Failure lists what still differs.
 */
export async function waitForOracle(admin: KubeClient, options: { timeoutMs?: number; intervalMs?: number; description?: string } = {}): Promise<number> {
  let desired = 0;
  await waitForConvergence(
    async () => {
      const check = await checkOracle(admin);
      desired = check.desired;
      if (!isEmptyDiff(check.diff)) return [describeDiff(check.diff), ...(await explainBundles(admin, check.diff))];
      if (check.existing !== check.desired) return [`${check.existing} BundleDeployments exist (some terminating), ${check.desired} desired`];
      return [];
    },
    {
      timeoutMs: options.timeoutMs ?? 180_000,
      intervalMs: options.intervalMs ?? 250,
      description: options.description ?? 'BundleDeployments to equal the oracle',
    },
  );
  return desired;
}

/** For a failure message: the state of (up to 3 of) the Bundles a diff involves, and of their workspace. */
async function explainBundles(admin: KubeClient, diff: PlacementDiff): Promise<string[]> {
  const keys = [...new Set([...diff.missing, ...diff.unexpected, ...diff.duplicates].map((k) => k.slice(0, k.indexOf('@'))))].slice(0, 3);
  const out: string[] = [];
  for (const key of keys) {
    const [namespace, name] = key.split('/') as [string, string];
    const bundle = (await listAll(admin, T.Bundle, { namespace })).find((b) => b.metadata.name === name);
    out.push(
      bundle === undefined
        ? `Bundle ${key} does not exist`
        : `Bundle ${key}: deletionTimestamp ${String(bundle.metadata.deletionTimestamp)}, finalizers ${JSON.stringify(bundle.metadata.finalizers)}, generation ${bundle.metadata.generation}, targets ${JSON.stringify(bundle.spec?.targets)}, status ${JSON.stringify({ observedGeneration: bundle.status?.observedGeneration, conditions: bundle.status?.conditions })}`,
    );
    if (out.length === 1) {
      const clusters = await listAll(admin, T.Cluster, { namespace });
      const groups = await listAll(admin, T.ClusterGroup, { namespace });
      out.push(`Clusters of ${namespace}: ${clusters.map((c) => `${c.metadata.name}${JSON.stringify(c.metadata.labels ?? {})}`).join(' ')}`);
      out.push(`ClusterGroups of ${namespace}: ${groups.map((g) => `${g.metadata.name}${JSON.stringify(g.metadata.labels ?? {})}=${JSON.stringify(g.spec?.selector)}`).join(' ')}`);
    }
  }
  return out;
}

/** BundleDeployment writes the controller has sent (flotilla_writes_total counts each before it is sent). */
export function bundleDeploymentWrites(m: Metrics): number {
  return m.sum('flotilla_writes_total', { kind: 'BundleDeployment', verb: ['create', 'apply'] });
}

/** BundleDeployment writes the API server answered with 2xx (the client's own count). */
export function completedBundleDeploymentWrites(m: Metrics): number {
  return m.sum('flotilla_api_requests_total', { verb: ['create', 'apply'], resource: 'bundledeployments.flotilla.dev', code: /2\d\d/ });
}

/**
 * Polls the controller's metrics until at least `n` BundleDeployment writes
 * have completed; returns the last scrape. A fine-grained "mid fan-out"
 * signal: a local scrape costs far less than listing the objects.
 */
export async function waitForCompletedWrites(proc: FlotillaProcess, n: number, timeoutMs = 120_000): Promise<Metrics> {
  return waitFor(
    async () => {
      if (!proc.isRunning()) throw new Error(`${proc.name} exited:\n${proc.logTail(30)}`);
      const m = await scrapeMetrics(proc.metricsUrl, { timeoutMs: 2000 });
      return completedBundleDeploymentWrites(m) >= n ? m : undefined;
    },
    { timeoutMs, intervalMs: 20, description: `${proc.name}: ${n} BundleDeployment writes completed` },
  );
}
