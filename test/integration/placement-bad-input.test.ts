import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as delay } from 'node:timers/promises';
import { Label, Limits } from '../../src/api/constants.ts';
import { MAX_RESOURCES_ENCODED_BYTES } from '../../src/placement/bundle-validation.ts';
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
  listAll,
  reportLoggedProblems,
  startPlacementEnv,
  waitForConvergence,
  type FlotillaProcess,
  type Obj,
  type PlacementEnv,
} from '../support/flotilla.ts';
import { scrapeMetrics } from '../support/metrics.ts';
import { waitFor } from '../../src/util/wait.ts';
import { levelAtLeast } from '../../src/observability/logger.ts';

/**
 * Invalid input the API server cannot catch (it depends on the workspace,
 * on parsing manifests, or on byte sizes) must be reported on the Bundle
 * (condition with a reason and a message that says what to fix) and as a
 * Warning Event, must not make the controller hot-loop, and must not hold up
 * a healthy Bundle next to it.
 */

const ws = 'bad-input';
let env: PlacementEnv;
let flotilla: FlotillaProcess;

const ALL = [{ clusterSelector: {} }];

interface BadCase {
  bundle: string;
  /** Condition type expected False. */
  condition: 'Ready' | 'Targeted';
  reasons: string[];
  /** What the message must mention (the field or the problem). */
  mentions: RegExp;
  make(): Obj;
}

/**
 * Valid YAML ConfigMaps whose text is mostly escaped line breaks (`\n` in a
 * quoted YAML string): within the admission limits, which count the text's
 * bytes, but over the controller's bound on the size as stored, where JSON
 * escapes each backslash again (2 bytes of text, 3 stored).
 */
function oversizedResources(): Array<{ name: string; content: string }> {
  const lineBreaks = Math.ceil((MAX_RESOURCES_ENCODED_BYTES + 64 * 1024) / 2 / 3);
  return ['big-1', 'big-2'].map((name) => ({ name: `${name}.yaml`, content: SAMPLE_CONFIGMAP(name, { blob: '\n'.repeat(lineBreaks) }) }));
}

const badCases: BadCase[] = [
  {
    bundle: 'missing-group',
    condition: 'Targeted',
    reasons: ['ClusterGroupNotFound', 'InvalidTargets'],
    mentions: /no-such-group/,
    make: () => bundleObject(ws, 'missing-group', [{ clusterGroup: 'no-such-group' }]),
  },
  {
    bundle: 'unparsable',
    condition: 'Ready',
    reasons: ['InvalidContent', 'InvalidResources'],
    mentions: /spec\.resources|broken\.yaml|yaml|parse/i,
    make: () => bundleObject(ws, 'unparsable', ALL, [{ name: 'broken.yaml', content: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [unclosed\n' }]),
  },
  {
    bundle: 'collision',
    condition: 'Ready',
    reasons: ['ResourceNameCollision', 'InvalidContent'],
    mentions: /twice|already declared|collid|same/i,
    make: () =>
      bundleObject(ws, 'collision', ALL, [
        { name: 'one.yaml', content: SAMPLE_CONFIGMAP('dup', { from: 'one' }) },
        { name: 'two.yaml', content: SAMPLE_CONFIGMAP('dup', { from: 'two' }) },
      ]),
  },
  {
    bundle: 'too-large',
    condition: 'Ready',
    reasons: ['ContentTooLarge', 'BundleTooLarge'],
    mentions: /bytes|size|large/i,
    make: () => bundleObject(ws, 'too-large', ALL, oversizedResources()),
  },
];

before(async () => {
  env = await startPlacementEnv();
  const { admin } = env;
  await createWorkspace(admin, ws);
  for (const c of ['c1', 'c2', 'c3']) await admin.create(T.Cluster, clusterObject(ws, c, { env: 'prod' }));
  flotilla = await env.startFlotilla();
  await flotilla.waitForReady();
});

after(async () => {
  if (flotilla) reportLoggedProblems(flotilla);
  await env?.stop();
});

test('the oversized case is built between the admission limits (bytes of text) and the controller bound (bytes as stored)', () => {
  const resources = oversizedResources();
  const textBytes = resources.reduce((n, r) => n + Buffer.byteLength(r.content, 'utf8'), 0);
  const stored = Buffer.byteLength(JSON.stringify(resources), 'utf8');
  console.log(`# oversized bundle: ${textBytes} bytes of text, ${stored} bytes as stored (admission limit ${Limits.resourcesMaxTotalSize}, stored bound ${MAX_RESOURCES_ENCODED_BYTES})`);
  assert.ok(textBytes <= Limits.resourcesMaxTotalSize, 'the API server accepts it');
  assert.ok(resources.every((r) => Buffer.byteLength(r.content, 'utf8') <= Limits.resourceContentMaxLength), 'each manifest within its limit');
  assert.ok(stored > MAX_RESOURCES_ENCODED_BYTES, 'the controller must reject it');
  assert.ok(stored < 1_450_000, 'still fits in etcd with room for metadata');
});

interface EventObj extends Obj {
  type?: string;
  reason?: string;
  note?: string;
  regarding?: { name?: string; kind?: string; namespace?: string };
}

test('each bad Bundle gets a False condition with reason and message, and a Warning Event; a healthy Bundle converges', async () => {
  const { admin } = env;
  for (const c of badCases) await admin.create(T.Bundle, c.make());
  await admin.create(T.Bundle, bundleObject(ws, 'healthy', ALL));

  await waitForConvergence(
    async () => {
      const problems: string[] = [];
      const healthy = await admin.get<Obj>(T.Bundle, 'healthy', ws);
      const desired = (healthy.status?.summary as { desiredReady?: number } | undefined)?.desiredReady;
      if (desired !== 3) problems.push(`healthy: desiredReady ${String(desired)}, expected 3`);
      const bds = await listAll(admin, T.BundleDeployment, { labelSelector: `${Label.BundleName}=healthy` });
      if (bds.length !== 3) problems.push(`healthy: ${bds.length} BundleDeployments, expected 3`);
      if (conditionOf(healthy, 'Targeted')?.status !== 'True') problems.push(`healthy: Targeted ${JSON.stringify(conditionOf(healthy, 'Targeted'))}`);
      return problems;
    },
    { timeoutMs: 60_000, description: 'the healthy Bundle to converge' },
  );

  for (const c of badCases) {
    const condition = await waitFor(
      async () => {
        const b = await admin.get<Obj>(T.Bundle, c.bundle, ws);
        const cond = conditionOf(b, c.condition);
        return cond?.status === 'False' && c.reasons.includes(cond.reason ?? '') ? cond : undefined;
      },
      { timeoutMs: 30_000, description: `${c.bundle}: ${c.condition}=False with reason in ${c.reasons.join('|')}` },
    ).catch(async (error: unknown) => {
      const b = await admin.get<Obj>(T.Bundle, c.bundle, ws);
      throw new Error(`${(error as Error).message}; conditions: ${JSON.stringify(b.status?.conditions)}`);
    });
    assert.ok((condition.message ?? '').length > 0, `${c.bundle}: a message`);
    assert.match(condition.message ?? '', c.mentions, `${c.bundle}: the message says what is wrong: ${condition.message}`);
    console.log(`# ${c.bundle}: ${c.condition}=False ${condition.reason}: ${(condition.message ?? '').slice(0, 200)}`);

    const event = await waitFor(
      async () =>
        (await listAll<EventObj>(admin, builtinTypes.event, { namespace: ws })).find((e) => e.regarding?.name === c.bundle && e.type === 'Warning'),
      { timeoutMs: 30_000, description: `a Warning Event about ${c.bundle}` },
    );
    assert.equal(event.regarding?.kind, 'Bundle', `${c.bundle}: the Event is about the Bundle`);
    assert.ok((event.note ?? '').length > 0, `${c.bundle}: the Event has a note`);
    assert.ok(event.reason, `${c.bundle}: the Event has a reason`);
  }

  // Nothing is deployed for content that cannot be deployed.
  for (const name of ['unparsable', 'collision', 'too-large']) {
    const bds = await listAll(admin, T.BundleDeployment, { labelSelector: `${Label.BundleName}=${name}` });
    assert.equal(bds.length, 0, `${name}: no BundleDeployments for invalid content`);
  }
});

test('no hot loop: while nothing changes, the bundle controller reconciles at most a handful of times in 10 s', async () => {
  const m0 = await flotilla.waitForIdle({ description: 'controller idle' });
  const bundleController = (c: string) => /bundle/i.test(c) && !/deployment/i.test(c);
  const controllers = [...new Set(m0.series('controller_runtime_reconcile_total').map((s) => s.labels.controller ?? ''))];
  assert.ok(controllers.some(bundleController), `a bundle controller is exposed: ${controllers.join(', ')}`);
  const reconciles0 = m0.sum('controller_runtime_reconcile_total', { controller: bundleController });
  const writes0 = m0.sum('flotilla_writes_total');
  const events0 = (await listAll(env.admin, builtinTypes.event, { namespace: ws })).length;
  const windowStart = Date.now();
  // Observe for 10 s; fail early if the count runs away.
  let last = m0;
  while (Date.now() - windowStart < 10_000) {
    last = await scrapeMetrics(flotilla.metricsUrl);
    assert.ok(last.sum('controller_runtime_reconcile_total', { controller: bundleController }) - reconciles0 <= 5, 'bundle reconciles stay bounded');
    await delay(500); // sampling interval of the observation window, not a wait for a condition
  }
  const grew = last.sum('controller_runtime_reconcile_total', { controller: bundleController }) - reconciles0;
  console.log(`# bundle reconciles during a quiet 10 s: ${grew}; dead letters: ${JSON.stringify(last.groupBy('flotilla_dead_letter_keys', ['controller']))}`);
  assert.ok(grew <= 5, `at most a handful of reconciles (${grew})`);
  assert.equal(last.sum('flotilla_writes_total') - writes0, 0, 'no writes while nothing changes');
  const events1 = (await listAll(env.admin, builtinTypes.event, { namespace: ws })).length;
  assert.equal(events1, events0, 'no new Events while nothing changes');
  // The operator's view: every bad Bundle is counted as invalid input, by its reason; the healthy one is not.
  const invalid = last.sum('flotilla_invalid_objects', { kind: 'Bundle' });
  console.log(`# flotilla_invalid_objects: ${JSON.stringify(last.groupBy('flotilla_invalid_objects', ['kind', 'reason']))}`);
  assert.equal(invalid, badCases.length, 'flotilla_invalid_objects counts each bad Bundle once');
});

test('fixing the input releases the Bundle: creating the missing group deploys it', async () => {
  const { admin } = env;
  await admin.create(T.ClusterGroup, clusterGroupObject(ws, 'no-such-group', { matchLabels: { env: 'prod' } }));
  await waitForConvergence(
    async () => {
      const b = await admin.get<Obj>(T.Bundle, 'missing-group', ws);
      const problems: string[] = [];
      if (conditionOf(b, 'Targeted')?.status !== 'True') problems.push(`Targeted ${JSON.stringify(conditionOf(b, 'Targeted'))}`);
      const bds = await listAll(admin, T.BundleDeployment, { labelSelector: `${Label.BundleName}=missing-group` });
      if (bds.length !== 3) problems.push(`${bds.length} BundleDeployments, expected 3`);
      return problems;
    },
    { timeoutMs: 30_000, description: 'missing-group to be targeted once the group exists' },
  );
});

test('fixing the content releases the Bundle', async () => {
  const { admin } = env;
  await admin.patch(T.Bundle, 'unparsable', ws, { spec: { resources: [{ name: 'fixed.yaml', content: SAMPLE_CONFIGMAP('fixed') }] } });
  await waitForConvergence(
    async () => {
      const b = await admin.get<Obj>(T.Bundle, 'unparsable', ws);
      const problems: string[] = [];
      const ready = conditionOf(b, 'Ready');
      if (ready && ['InvalidContent', 'InvalidResources'].includes(ready.reason ?? '')) problems.push(`Ready still ${ready.reason}`);
      const bds = await listAll(admin, T.BundleDeployment, { labelSelector: `${Label.BundleName}=unparsable` });
      if (bds.length !== 3) problems.push(`${bds.length} BundleDeployments, expected 3`);
      return problems;
    },
    { timeoutMs: 30_000, description: 'the fixed Bundle to be deployed' },
  );
});

test('a Cluster whose deployment namespace name is taken reports NamespaceConflict on status and one Event, and logs no error', async () => {
  const { admin } = env;
  const taken = deploymentNamespaceFor(ws, 'taken');
  await admin.create(builtinTypes.namespace, { metadata: { name: taken, labels: { team: 'someone-else' } } });
  const logsBefore = flotilla.logs.length;
  await admin.create(T.Cluster, clusterObject(ws, 'taken', { env: 'prod' }));
  const cluster = await waitFor(
    async () => {
      const c = await admin.get<Obj>(T.Cluster, 'taken', ws);
      return conditionOf(c, 'Stalled')?.status === 'True' && conditionOf(c, 'Ready')?.status === 'False' ? c : undefined;
    },
    { timeoutMs: 30_000, description: 'Cluster taken: Stalled=True and Ready=False' },
  );
  for (const type of ['Ready', 'Stalled']) {
    assert.equal(conditionOf(cluster, type)?.reason, 'NamespaceConflict', `${type} reason`);
    assert.match(conditionOf(cluster, type)?.message ?? '', new RegExp(`namespace ${taken} exists but does not belong to Cluster ${ws}/taken`));
  }
  assert.equal(cluster.status?.namespace, undefined, 'the foreign namespace is not announced as the deployment namespace');
  await flotilla.waitForIdle({ description: 'controller idle after the conflict' });
  const events = (await listAll<EventObj>(admin, builtinTypes.event, { namespace: ws })).filter((e) => e.regarding?.name === 'taken');
  assert.deepEqual(events.map((e) => [e.type, e.reason]), [['Warning', 'NamespaceConflict']], 'one Warning Event');
  const logged = flotilla.logs.slice(logsBefore).filter((l) => levelAtLeast(l.level, 'warn'));
  assert.deepEqual(logged.map((l) => String(l.msg)), [], 'a user-fixable conflict is not a controller error');
  const m = await flotilla.metrics();
  assert.equal(m.sum('flotilla_invalid_objects', { kind: 'Cluster', reason: 'NamespaceConflict' }), 1, 'counted as invalid input');
});

test('a problem found while its workspace namespace is being deleted is reported on status; its Event is not attempted noisily', async () => {
  const { admin } = env;
  // No kube-controller-manager here: a deleted namespace stays Terminating
  // with its objects in place, and the API server refuses new objects in it
  // (Events included) while updates still work.
  const closing = 'closing';
  await createWorkspace(admin, closing);
  await admin.create(T.Cluster, clusterObject(closing, 'c1'));
  await admin.create(T.Bundle, bundleObject(closing, 'app', ALL));
  await waitFor(async () => (await listAll(admin, T.BundleDeployment, { labelSelector: `${Label.BundleNamespace}=${closing}` })).length === 1, {
    timeoutMs: 30_000,
    description: `the Bundle of ${closing} deployed`,
  });
  await admin.delete(builtinTypes.namespace, closing);
  await waitFor(async () => Boolean((await admin.get<Obj>(builtinTypes.namespace, closing)).metadata.deletionTimestamp), {
    timeoutMs: 10_000,
    description: `namespace ${closing} Terminating`,
  });
  const attempts = async () => {
    const m = await flotilla.metrics();
    return m.sum('flotilla_events_recorded_total', { reason: 'InvalidResources' });
  };
  const attemptsBefore = await attempts();
  const logsBefore = flotilla.logs.length;
  await admin.patch(T.Bundle, 'app', closing, { spec: { resources: [{ name: 'broken.yaml', content: 'kind: [' }] } });

  await waitFor(async () => conditionOf(await admin.get<Obj>(T.Bundle, 'app', closing), 'Ready')?.reason === 'InvalidResources', {
    timeoutMs: 30_000,
    description: 'the problem reported on the Bundle of the terminating namespace',
  });
  await waitFor(async () => (await attempts()) > attemptsBefore, { timeoutMs: 30_000, description: 'the recorder to have handled the Warning' });
  const m = await flotilla.metrics();
  const results = m.groupBy('flotilla_events_recorded_total', ['result'], { reason: 'InvalidResources' });
  console.log(`# InvalidResources events by result: ${JSON.stringify(results)}`);
  const noisy = flotilla.logs.slice(logsBefore).filter((l) => levelAtLeast(l.level, 'warn'));
  assert.deepEqual(noisy.map((l) => `${String(l.msg)} ${String(l.err ?? '')}`), [], 'no warning for an Event the namespace cannot take any more');
  assert.ok(m.sum('flotilla_events_recorded_total', { reason: 'InvalidResources', result: 'dropped' }) >= 1, 'counted as dropped');
});
