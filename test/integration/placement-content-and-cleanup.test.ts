import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Finalizer, Label } from '../../src/api/constants.ts';
import { contentNameFor } from '../../src/api/content-name.ts';
import { builtinTypes } from '../../src/runtime/kube/resource.ts';
import { deploymentNamespaceFor } from '../../src/placement/deployment-namespace.ts';
import {
  SAMPLE_CONFIGMAP,
  T,
  bundleObject,
  clusterGroupObject,
  clusterObject,
  conditionOf,
  createWorkspace,
  isGone,
  listAll,
  reportLoggedProblems,
  startPlacementEnv,
  waitForConvergence,
  type FlotillaProcess,
  type Obj,
  type PlacementEnv,
} from '../support/flotilla.ts';
import { waitFor } from '../../src/util/wait.ts';
import { AgentSimulator } from '../support/agent-simulator.ts';
import { levelAtLeast } from '../../src/observability/logger.ts';

/**
 * Content sharing and every cleanup path: Contents are shared by identical
 * resources and removed once unreferenced; deploymentIDs change exactly when
 * resources or options change; deleting a Bundle, a Cluster, a ClusterGroup
 * and finally the whole workspace namespace leaves nothing behind.
 * kube-controller-manager runs, so namespace deletion really completes.
 */

const ws = 'content';
const bystander = 'bystander';
let env: PlacementEnv;
let flotilla: FlotillaProcess;

type Resources = Array<{ name: string; content: string }>;
const R1: Resources = [{ name: 'cm.yaml', content: SAMPLE_CONFIGMAP('shared', { version: '1' }) }];
const R2: Resources = [{ name: 'cm.yaml', content: SAMPLE_CONFIGMAP('shared', { version: '2' }) }];
const R3: Resources = [{ name: 'cm.yaml', content: SAMPLE_CONFIGMAP('shared', { version: '3' }) }];
const RD: Resources = [{ name: 'group.yaml', content: SAMPLE_CONFIGMAP('group-only') }];
const RB: Resources = [{ name: 'bystander.yaml', content: SAMPLE_CONFIGMAP('bystander') }];
const [C1, C2, C3, CD, CB, C0] = [R1, R2, R3, RD, RB, []].map(contentNameFor) as [string, string, string, string, string, string];
const PROD_TARGETS = [{ clusterSelector: { matchLabels: { env: 'prod' } } }];

before(async () => {
  env = await startPlacementEnv({ controllerManager: true });
  const { admin } = env;
  await createWorkspace(admin, ws);
  await createWorkspace(admin, bystander);
  for (const c of ['c1', 'c2']) await admin.create(T.Cluster, clusterObject(ws, c, { env: 'prod' }));
  await admin.create(T.ClusterGroup, clusterGroupObject(ws, 'g', { matchLabels: { env: 'prod' } }));
  await admin.create(T.Bundle, bundleObject(ws, 'a', PROD_TARGETS, R1));
  await admin.create(T.Bundle, bundleObject(ws, 'b', PROD_TARGETS, R1));
  await admin.create(T.Bundle, bundleObject(ws, 'd', [{ clusterGroup: 'g' }], RD));
  // Another workspace sharing R3 (used later by ws/b) and holding its own content.
  await admin.create(T.Cluster, clusterObject(bystander, 'c1', { env: 'prod' }));
  await admin.create(T.Bundle, bundleObject(bystander, 'shares-r3', PROD_TARGETS, R3));
  await admin.create(T.Bundle, bundleObject(bystander, 'own', PROD_TARGETS, RB));
  flotilla = await env.startFlotilla();
  await flotilla.waitForReady();
});

after(async () => {
  if (flotilla) reportLoggedProblems(flotilla);
  await env?.stop();
});

async function bdsOf(bundle: string, namespace = ws): Promise<Obj[]> {
  return (await listAll(env.admin, T.BundleDeployment, { labelSelector: `${Label.BundleName}=${bundle},${Label.BundleNamespace}=${namespace}` })).filter(
    (bd) => !bd.metadata.deletionTimestamp,
  );
}

async function contentNames(): Promise<Set<string>> {
  return new Set((await listAll(env.admin, T.Content)).map((c) => c.metadata.name ?? ''));
}

/** Problems with `bundle`'s BundleDeployments: on exactly `clusters`, all with `contentName`. */
async function bdProblems(bundle: string, clusters: string[], contentName: string): Promise<string[]> {
  const bds = await bdsOf(bundle);
  const problems: string[] = [];
  const on = bds.map((bd) => bd.metadata.labels?.[Label.ClusterName] ?? '?').sort();
  if (JSON.stringify(on) !== JSON.stringify(clusters)) problems.push(`${bundle}: on [${on.join(', ')}], expected [${clusters.join(', ')}]`);
  for (const bd of bds) {
    if (bd.spec?.contentName !== contentName) problems.push(`${bundle}@${bd.metadata.labels?.[Label.ClusterName]}: contentName ${String(bd.spec?.contentName)}, expected ${contentName}`);
    if (!String(bd.spec?.deploymentID).startsWith(`${contentName}:`)) problems.push(`${bundle}@${bd.metadata.labels?.[Label.ClusterName]}: deploymentID ${String(bd.spec?.deploymentID)}`);
  }
  return problems;
}

async function processed(bundle: string): Promise<boolean> {
  const b = await env.admin.get<Obj>(T.Bundle, bundle, ws);
  return b.status?.observedGeneration === b.metadata.generation;
}

const deploymentIDs = async (bundle: string) => (await bdsOf(bundle)).map((bd) => String(bd.spec?.deploymentID)).sort();

test('Bundles with identical resources share one Content', async () => {
  await waitForConvergence(
    async () => {
      const problems = [...(await bdProblems('a', ['c1', 'c2'], C1)), ...(await bdProblems('b', ['c1', 'c2'], C1)), ...(await bdProblems('d', ['c1', 'c2'], CD))];
      const have = await contentNames();
      for (const c of [C1, CD, C3, CB]) if (!have.has(c)) problems.push(`Content ${c} missing`);
      return problems;
    },
    { timeoutMs: 60_000, description: 'initial placement and Contents' },
  );
  const have = await contentNames();
  assert.equal(have.size, 4, `exactly one Content per distinct resources: ${[...have].join(', ')}`);
  const content = await env.admin.get<Obj>(T.Content, C1);
  assert.deepEqual((content.spec as { resources?: unknown }).resources, R1, 'the Content holds the resources');
  for (const name of ['a', 'b', 'd']) {
    const b = await env.admin.get<Obj>(T.Bundle, name, ws);
    assert.ok(b.metadata.finalizers?.includes(Finalizer.BundleCleanup), `${name} has the ${Finalizer.BundleCleanup} finalizer`);
  }
  assert.deepEqual(await deploymentIDs('a'), await deploymentIDs('b'), 'same resources and options → same deploymentID');
  // a and b were reconciled together, both before C1 reached the cache: one create between them, not one each (and a 409).
  const metrics = await flotilla.metrics();
  assert.equal(metrics.sum('flotilla_writes_total', { kind: 'Content', verb: 'create' }), 4, 'one Content create per distinct resources');
  assert.equal(metrics.sum('flotilla_api_requests_total', { resource: 'contents.flotilla.dev', code: '409' }), 0, 'no Content create answered 409');
});

test('a Bundle without spec.resources deploys the Content of no resources, as resources: [] does', async () => {
  const { admin } = env;
  await admin.create(T.Bundle, { metadata: { name: 'no-resources', namespace: ws }, spec: { targets: [{ clusterSelector: {} }] } });
  await waitForConvergence(
    async () => {
      const problems = await bdProblems('no-resources', ['c1', 'c2'], C0);
      const b = await admin.get<Obj>(T.Bundle, 'no-resources', ws);
      if (b.status?.contentName !== C0) problems.push(`status.contentName ${String(b.status?.contentName)}, expected ${C0}`);
      if (!(await contentNames()).has(C0)) problems.push(`Content ${C0} missing`);
      return problems;
    },
    { timeoutMs: 30_000, description: 'the Bundle without resources to be deployed' },
  );
  const content = await admin.get<Obj>(T.Content, C0);
  assert.deepEqual((content.spec as { resources?: unknown }).resources, [], 'the Content holds no resources');
  // What was stuck before: every Cluster Pending with no BundleDeployment, and no Content at all.
  const agent = new AgentSimulator(admin);
  await agent.reportAll({ labelSelector: `${Label.BundleName}=no-resources,${Label.BundleNamespace}=${ws}` }, 'ready');
  const ready = await waitFor(
    async () => {
      const c = conditionOf(await admin.get<Obj>(T.Bundle, 'no-resources', ws), 'Ready');
      return c?.status === 'True' ? c : undefined;
    },
    { timeoutMs: 30_000, description: 'the Bundle without resources to be Ready once its BundleDeployments are' },
  );
  assert.match(ready.message ?? '', /2\/2 clusters ready/);
});

test('changing one Bundle’s resources: new Content and deploymentID for it, the other keeps the shared one untouched', async () => {
  const { admin } = env;
  const bBefore = await bdsOf('b');
  await admin.patch(T.Bundle, 'a', ws, { spec: { resources: R2 } });
  await waitForConvergence(async () => [...(await bdProblems('a', ['c1', 'c2'], C2)), ...((await contentNames()).has(C2) ? [] : [`Content ${C2} missing`])], {
    timeoutMs: 30_000,
    description: 'a moved to the new Content',
  });
  await waitFor(() => processed('a'), { timeoutMs: 30_000, description: 'a processed' });
  assert.ok((await contentNames()).has(C1), 'the shared Content stays while b references it');
  const bAfter = await bdsOf('b');
  assert.deepEqual(
    bAfter.map((bd) => [bd.metadata.name, bd.metadata.namespace, bd.spec?.deploymentID, bd.metadata.resourceVersion]).sort(),
    bBefore.map((bd) => [bd.metadata.name, bd.metadata.namespace, bd.spec?.deploymentID, bd.metadata.resourceVersion]).sort(),
    "b's BundleDeployments were not rewritten",
  );
});

test('when the last Bundle leaves a Content, it is deleted', async () => {
  await env.admin.patch(T.Bundle, 'b', ws, { spec: { resources: R3 } });
  await waitForConvergence(() => bdProblems('b', ['c1', 'c2'], C3), { timeoutMs: 30_000, description: 'b moved to R3' });
  await waitFor(async () => !(await contentNames()).has(C1), { timeoutMs: 30_000, description: `unreferenced Content ${C1} to be deleted` });
  const have = await contentNames();
  assert.ok(have.has(C2) && have.has(C3) && have.has(CD) && have.has(CB), `referenced Contents stay: ${[...have].join(', ')}`);
});

test('deploymentID changes with spec.options, and not with other spec changes', async () => {
  const { admin } = env;
  const original = await deploymentIDs('a');
  await admin.patch(T.Bundle, 'a', ws, { spec: { options: { defaultNamespace: 'apps' } } });
  let withOptions: string[] = [];
  await waitFor(
    async () => {
      withOptions = await deploymentIDs('a');
      return withOptions.length === 2 && withOptions.every((id) => !original.includes(id));
    },
    { timeoutMs: 30_000, description: 'deploymentID to change with options' },
  );
  assert.ok(withOptions.every((id) => id.startsWith(`${C2}:`)), 'same content, new options hash');
  assert.equal(new Set(withOptions).size, 1, 'one deploymentID for all clusters of the bundle');
  const bdBefore = await bdsOf('a');
  const optionsOnBd = bdBefore[0]?.spec?.options as { defaultNamespace?: string } | undefined;
  assert.equal(optionsOnBd?.defaultNamespace, 'apps', 'options are copied to the BundleDeployment');

  // Equivalent targets, new generation: placement and deploymentID stay.
  await admin.patch(T.Bundle, 'a', ws, {
    metadata: { labels: { touched: 'yes' } },
    spec: { targets: [{ clusterSelector: { matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }] } }] },
  });
  await waitFor(() => processed('a'), { timeoutMs: 30_000, description: 'a processed after the targets change' });
  assert.deepEqual(await deploymentIDs('a'), withOptions, 'a targets-only change keeps the deploymentID');
  const bdAfter = await bdsOf('a');
  assert.deepEqual(
    bdAfter.map((bd) => bd.metadata.resourceVersion).sort(),
    bdBefore.map((bd) => bd.metadata.resourceVersion).sort(),
    'and does not rewrite the BundleDeployments',
  );
});

test('deleting a Bundle removes its BundleDeployments, then the Bundle, then its Content', async () => {
  const { admin } = env;
  await admin.delete(T.Bundle, 'a', ws);
  await waitFor(async () => (await listAll(admin, T.BundleDeployment, { labelSelector: `${Label.BundleName}=a,${Label.BundleNamespace}=${ws}` })).length === 0, {
    timeoutMs: 30_000,
    description: "a's BundleDeployments to be deleted",
  });
  await waitFor(() => isGone(admin, T.Bundle, 'a', ws), { timeoutMs: 30_000, description: 'Bundle a to disappear (finalizer removed)' });
  await waitFor(async () => !(await contentNames()).has(C2), { timeoutMs: 30_000, description: `Content ${C2} to be deleted` });
  assert.deepEqual(await bdProblems('b', ['c1', 'c2'], C3), [], 'b is untouched');
});

test('deleting a Cluster removes its deployment namespace and BundleDeployments, then the Cluster', async () => {
  const { admin } = env;
  const ns = deploymentNamespaceFor(ws, 'c2');
  const cluster = await admin.get<Obj>(T.Cluster, 'c2', ws);
  assert.ok(cluster.metadata.finalizers?.includes(Finalizer.ClusterCleanup), 'the Cluster has the cleanup finalizer');
  assert.equal(cluster.status?.namespace, ns);
  await admin.delete(T.Cluster, 'c2', ws);
  await waitFor(() => isGone(admin, builtinTypes.namespace, ns), { timeoutMs: 90_000, intervalMs: 500, description: `deployment namespace ${ns} to disappear` });
  await waitFor(() => isGone(admin, T.Cluster, 'c2', ws), { timeoutMs: 30_000, description: 'Cluster c2 to disappear' });
  assert.deepEqual(
    (await listAll(admin, T.BundleDeployment, { labelSelector: `${Label.ClusterName}=c2,${Label.ClusterNamespace}=${ws}` })).map((bd) => bd.metadata.name),
    [],
  );
  await waitForConvergence(
    async () => {
      const b = await admin.get<Obj>(T.Bundle, 'b', ws);
      const desired = (b.status?.summary as { desiredReady?: number } | undefined)?.desiredReady;
      return [...(await bdProblems('b', ['c1'], C3)), ...(desired === 1 ? [] : [`b: desiredReady ${String(desired)}, expected 1`])];
    },
    { timeoutMs: 30_000, description: 'b to target only c1' },
  );
});

test('deleting a ClusterGroup makes Bundles using it report the missing group', async () => {
  const { admin } = env;
  await admin.delete(T.ClusterGroup, 'g', ws);
  const condition = await waitFor(
    async () => {
      const d = await admin.get<Obj>(T.Bundle, 'd', ws);
      const c = conditionOf(d, 'Targeted');
      return c?.status === 'False' ? c : undefined;
    },
    { timeoutMs: 30_000, description: 'Bundle d Targeted=False' },
  );
  assert.ok(['ClusterGroupNotFound', 'InvalidTargets'].includes(condition.reason ?? ''), `reason ${condition.reason}`);
  assert.match(condition.message ?? '', /\bg\b/, `the message names the group: ${condition.message}`);
  assert.match(condition.message ?? '', /clusterGroup|ClusterGroup|not found|does not exist/i);
  await waitFor(async () => (await bdsOf('d')).length === 0, { timeoutMs: 30_000, description: "d's BundleDeployments removed (a missing group has no members)" });
});

test('deleting the workspace namespace leaves nothing of it behind', async () => {
  const { admin } = env;
  const started = Date.now();
  await admin.delete(builtinTypes.namespace, ws);
  await waitFor(() => isGone(admin, builtinTypes.namespace, ws), { timeoutMs: 180_000, intervalMs: 1000, description: `namespace ${ws} to disappear` });
  console.log(`# workspace namespace deletion completed in ${Date.now() - started} ms`);
  await waitForConvergence(
    async () => {
      const problems: string[] = [];
      const bds = await listAll(admin, T.BundleDeployment, { labelSelector: `${Label.BundleNamespace}=${ws}` });
      if (bds.length > 0) problems.push(`${bds.length} BundleDeployments of ${ws} remain`);
      const nss = await listAll(admin, builtinTypes.namespace, { labelSelector: `${Label.ClusterNamespace}=${ws}` });
      if (nss.length > 0) problems.push(`deployment namespaces remain: ${nss.map((n) => n.metadata.name).join(', ')}`);
      const have = await contentNames();
      for (const c of [C1, C2, CD, C0]) if (have.has(c)) problems.push(`Content ${c} of ${ws} remains`);
      return problems;
    },
    { timeoutMs: 60_000, description: `nothing of ${ws} left` },
  );
  const have = await contentNames();
  assert.ok(have.has(C3), 'a Content also used by another workspace stays');
  assert.ok(have.has(CB), "the other workspace's own Content stays");
  assert.equal((await bdsOf('shares-r3', bystander)).length, 1, 'the other workspace is untouched');
  assert.equal((await bdsOf('own', bystander)).length, 1);
});

test('a ClusterGroup deleted while its status is being written is done, not a failed reconcile', async () => {
  const { admin } = env;
  const notFoundStatusWrites = async () =>
    (await flotilla.metrics()).sum('flotilla_api_requests_total', { resource: 'clustergroups.flotilla.dev/status', code: '404' });
  const logsBefore = flotilla.logs.length;
  // Deleting each group right after creating it races the status write its
  // creation triggers; rounds continue until that race was lost at least once.
  let round = 0;
  await waitFor(
    async () => {
      const names = Array.from({ length: 10 }, (_, i) => `fleeting-${round}-${i}`);
      round++;
      await Promise.all(
        names.map(async (name) => {
          await admin.create(T.ClusterGroup, clusterGroupObject(bystander, name, { matchLabels: { env: 'prod' } }));
          await admin.delete(T.ClusterGroup, name, bystander);
        }),
      );
      await flotilla.waitForIdle({ stableMs: 500, description: 'controller idle after a round of fleeting groups' });
      return (await notFoundStatusWrites()) > 0;
    },
    { timeoutMs: 120_000, intervalMs: 0, description: 'a ClusterGroup status write to find its group already deleted' },
  );
  const failures = flotilla.logs.slice(logsBefore).filter((l) => levelAtLeast(l.level, 'warn'));
  console.log(`# ${round} round(s) of fleeting groups, ${await notFoundStatusWrites()} status write(s) answered 404, ${failures.length} warning/error lines`);
  assert.deepEqual(failures.map((l) => `${String(l.msg)} ${JSON.stringify(l.err ?? '').slice(0, 200)}`), [], 'a vanished object is not a failure');
});

test('deleting a workspace with invalid Bundles is quiet: no failed Event writes, no warnings', async () => {
  const { admin } = env;
  const doomed = 'doomed';
  await createWorkspace(admin, doomed);
  for (const c of ['c1', 'c2', 'c3']) await admin.create(T.Cluster, clusterObject(doomed, c, { env: 'prod' }));
  await admin.create(T.ClusterGroup, clusterGroupObject(doomed, 'g', { matchLabels: { env: 'prod' } }));
  const broken: Resources = [{ name: 'broken.yaml', content: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [unclosed\n' }];
  const bundles = Array.from({ length: 20 }, (_, i) => `invalid-${i}`);
  for (const name of bundles) await admin.create(T.Bundle, bundleObject(doomed, name, [{ clusterSelector: {} }], broken));
  for (let i = 0; i < 20; i++) await admin.create(T.Bundle, bundleObject(doomed, `grouped-${i}`, [{ clusterGroup: 'g' }], RD));
  await waitForConvergence(
    async () => {
      const problems: string[] = [];
      for (const b of await listAll(admin, T.Bundle, { namespace: doomed })) {
        const ready = conditionOf(b, 'Ready');
        const expectedDesired = 3;
        const desired = (b.status?.summary as { desiredReady?: number } | undefined)?.desiredReady;
        if (desired !== expectedDesired) problems.push(`${b.metadata.name}: desiredReady ${String(desired)}`);
        if (b.metadata.name?.startsWith('invalid-') && ready?.reason !== 'InvalidResources') problems.push(`${b.metadata.name}: Ready ${JSON.stringify(ready)}`);
      }
      return problems;
    },
    { timeoutMs: 60_000, description: `the Bundles of ${doomed} to report their state` },
  );
  const logsBefore = flotilla.logs.length;
  await admin.delete(builtinTypes.namespace, doomed);
  await waitFor(() => isGone(admin, builtinTypes.namespace, doomed), { timeoutMs: 180_000, intervalMs: 1000, description: `namespace ${doomed} to disappear` });
  await flotilla.waitForIdle({ description: 'controller idle after the workspace deletion' });
  const during = flotilla.logs.slice(logsBefore);
  const eventFailures = during.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('could not record event'));
  const failures = during.filter((l) => levelAtLeast(l.level, 'warn'));
  console.log(`# deleting ${doomed}: ${eventFailures.length} failed Event writes, ${failures.length} warning/error lines`);
  for (const l of failures.slice(0, 5)) console.log(`#   ${JSON.stringify(l).slice(0, 300)}`);
  assert.equal(eventFailures.length, 0, 'no failed Event write into the namespace being deleted');
  assert.deepEqual(failures.map((l) => String(l.msg)), [], 'nothing at warning level or above');
});
