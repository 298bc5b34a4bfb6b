import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Finalizer, Label } from '../../src/api/constants.ts';
import { deploymentNamespaceFor } from '../../src/placement/deployment-namespace.ts';
import { builtinTypes } from '../../src/runtime/kube/resource.ts';
import { waitFor } from '../../src/util/wait.ts';
import {
  T,
  bundleObject,
  clusterObject,
  conditionOf,
  countObjects,
  createWorkspace,
  isGone,
  reportLoggedProblems,
  startPlacementEnv,
  type FlotillaProcess,
  type Obj,
  type PlacementEnv,
} from '../support/flotilla.ts';

/**
 * Tenancy at its edges, on the real control plane (with
 * kube-controller-manager, so namespace deletion completes):
 * - a namespace that squats on a Cluster's deployment-namespace name never
 *   receives that Cluster's BundleDeployments, and its removal lets the
 *   Cluster recover without anyone editing it;
 * - a workspace onboarded again sweeps the BundleDeployments of Bundles
 *   deleted while it was offboarded.
 */

let env: PlacementEnv;
let flotilla: FlotillaProcess;

before(async () => {
  env = await startPlacementEnv({ controllerManager: true });
  flotilla = await env.startFlotilla({ config: { workspaces: { offboard: 'retain' } } });
});

after(async () => {
  if (flotilla) reportLoggedProblems(flotilla);
  await env?.stop();
});

const ALL = [{ clusterSelector: {} }];

test('a squatted deployment namespace receives no BundleDeployments; the Cluster recovers once it is gone', async () => {
  const { admin } = env;
  const ws = 'squat';
  const squatted = deploymentNamespaceFor(ws, 'c9');
  const squatter = await admin.create<Obj>(builtinTypes.namespace, { metadata: { name: squatted, labels: { owner: 'someone-else' } } });
  await createWorkspace(admin, ws);
  await admin.create(T.Cluster, clusterObject(ws, 'c9'));
  await admin.create(T.Bundle, bundleObject(ws, 'app', ALL));

  await waitFor(
    async () => {
      const c = await admin.get<Obj>(T.Cluster, 'c9', ws);
      return (c.status?.conditions as Array<{ reason?: string }> | undefined)?.some((x) => x.reason === 'NamespaceConflict') ? c : undefined;
    },
    { timeoutMs: 30_000, description: 'the Cluster to report NamespaceConflict' },
  );
  // The Bundle has been reconciled with the Cluster in view: whatever it
  // would write for this generation, it has written.
  await waitFor(
    async () => {
      const b = await admin.get<Obj>(T.Bundle, 'app', ws);
      const targeted = conditionOf(b, 'Targeted');
      return targeted?.status === 'True' && targeted.observedGeneration === b.metadata.generation ? b : undefined;
    },
    { timeoutMs: 30_000, description: 'the Bundle to target c9' },
  );
  await flotilla.waitForIdle({ description: 'controller idle with the conflict in place' });
  assert.equal(await countObjects(admin, T.BundleDeployment, { namespace: squatted }), 0, 'no BundleDeployment in a namespace the Cluster does not own');

  await admin.delete(builtinTypes.namespace, squatted);
  // The Cluster may recreate the name at once, so "gone" is: not the squatter's uid any more.
  await waitFor(
    async () => {
      const ns = await admin.get<Obj>(builtinTypes.namespace, squatted).catch(() => undefined);
      return ns?.metadata.uid !== squatter.metadata.uid ? true : undefined;
    },
    { timeoutMs: 60_000, description: 'the squatting namespace to be deleted' },
  );
  const recovered = await waitFor(
    async () => {
      const c = await admin.get<Obj>(T.Cluster, 'c9', ws);
      const ns = await admin.get<Obj>(builtinTypes.namespace, squatted).catch(() => undefined);
      return ns?.metadata.labels?.[Label.ClusterName] === 'c9' && c.status?.namespace === squatted ? c : undefined;
    },
    { timeoutMs: 60_000, description: 'the Cluster to create and own its deployment namespace without being edited' },
  );
  assert.ok(!(recovered.status?.conditions as Array<{ reason?: string }>).some((x) => x.reason === 'NamespaceConflict'), 'the conflict is cleared');
  await waitFor(async () => ((await countObjects(admin, T.BundleDeployment, { namespace: squatted })) === 1 ? true : undefined), {
    timeoutMs: 30_000,
    description: 'the BundleDeployment in the Cluster’s own namespace',
  });
});

test('onboarding a workspace again sweeps the BundleDeployments of Bundles deleted while it was offboarded', async () => {
  const { admin } = env;
  const ws = 'reonboard';
  await createWorkspace(admin, ws);
  await admin.create(T.Cluster, clusterObject(ws, 'c1'));
  await admin.create(T.Bundle, bundleObject(ws, 'gone', ALL));
  await admin.create(T.Bundle, bundleObject(ws, 'kept', ALL));
  const deploymentNs = deploymentNamespaceFor(ws, 'c1');
  await waitFor(async () => ((await countObjects(admin, T.BundleDeployment, { namespace: deploymentNs })) === 2 ? true : undefined), {
    timeoutMs: 30_000,
    description: 'both BundleDeployments',
  });

  await admin.patch(builtinTypes.namespace, ws, undefined, { metadata: { labels: { [Label.Workspace]: null } } });
  await waitFor(
    async () => {
      const b = await admin.get<Obj>(T.Bundle, 'gone', ws);
      return (b.metadata.finalizers ?? []).includes(Finalizer.BundleCleanup) ? undefined : true;
    },
    { timeoutMs: 30_000, description: 'offboarding (retain) to release the Bundle finalizer' },
  );
  await admin.delete(T.Bundle, 'gone', ws);
  await waitFor(() => isGone(admin, T.Bundle, 'gone', ws), { timeoutMs: 30_000, description: 'the offboarded Bundle to go at once' });
  assert.equal(await countObjects(admin, T.BundleDeployment, { namespace: deploymentNs }), 2, 'retain keeps what was deployed while offboarded');

  await admin.patch(builtinTypes.namespace, ws, undefined, { metadata: { labels: { [Label.Workspace]: 'true' } } });
  await waitFor(
    async () => {
      const left = await countObjects(admin, T.BundleDeployment, { namespace: deploymentNs, labelSelector: `${Label.BundleName}=gone` });
      return left === 0 ? true : undefined;
    },
    { timeoutMs: 30_000, description: 'the orphaned BundleDeployment of the deleted Bundle to be swept on onboarding' },
  );
  assert.equal(
    await countObjects(admin, T.BundleDeployment, { namespace: deploymentNs, labelSelector: `${Label.BundleName}=kept` }),
    1,
    'the BundleDeployment of the Bundle that still exists stays',
  );
});
