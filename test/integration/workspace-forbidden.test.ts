import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Label } from '../../src/api/constants.ts';
import { deploymentNamespaceFor } from '../../src/placement/deployment-namespace.ts';
import { ApiError } from '../../src/runtime/errors.ts';
import { builtinTypes, type KubeObject, type ResourceType } from '../../src/runtime/kube/resource.ts';
import {
  T,
  bundleObject,
  clusterObject,
  createWorkspace,
  listAll,
  startPlacementEnv,
  type FlotillaProcess,
  type PlacementEnv,
} from '../support/flotilla.ts';
import { scrapeMetrics } from '../support/metrics.ts';
import { waitFor } from '../../src/util/wait.ts';

/**
 * A workspace that matches but cannot be managed must be reported, not
 * silently skipped. The denial is real: a ValidatingAdmissionPolicy with
 * `reason: Forbidden` makes the API server answer 403 to every
 * BundleDeployment write for workspace "locked", exactly as a missing
 * permission would, while workspace "open" next to it converges.
 */

const policyType: ResourceType = {
  group: 'admissionregistration.k8s.io',
  version: 'v1',
  kind: 'ValidatingAdmissionPolicy',
  plural: 'validatingadmissionpolicies',
  namespaced: false,
};
const bindingType: ResourceType = { ...policyType, kind: 'ValidatingAdmissionPolicyBinding', plural: 'validatingadmissionpolicybindings' };

let env: PlacementEnv;
let flotilla: FlotillaProcess;

before(async () => {
  env = await startPlacementEnv();
  const admin = env.admin;
  await admin.create(policyType, {
    metadata: { name: 'lock-workspace' },
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: {
        resourceRules: [{ apiGroups: ['flotilla.dev'], apiVersions: ['*'], operations: ['CREATE', 'UPDATE'], resources: ['bundledeployments'] }],
      },
      validations: [
        {
          expression: `!has(object.metadata.labels) || !('${Label.BundleNamespace}' in object.metadata.labels) || object.metadata.labels['${Label.BundleNamespace}'] != 'locked'`,
          message: 'workspace "locked" is closed to deployments',
          reason: 'Forbidden',
        },
      ],
    },
  } as KubeObject);
  await admin.create(bindingType, { metadata: { name: 'lock-workspace' }, spec: { policyName: 'lock-workspace', validationActions: ['Deny'] } } as KubeObject);
  for (const ws of ['locked', 'open']) {
    await createWorkspace(admin, ws);
    await admin.create(T.Cluster, clusterObject(ws, 'c1', { env: 'prod' }));
    await admin.create(T.Bundle, bundleObject(ws, 'app', [{ clusterSelector: {} }]));
  }
  // The policy takes effect once the API server's policy informer has it:
  // wait until a write it covers is really refused.
  const probeNs = deploymentNamespaceFor('locked', 'probe');
  await admin.create(builtinTypes.namespace, { metadata: { name: probeNs } });
  await waitFor(
    async () => {
      try {
        await admin.create(
          T.BundleDeployment,
          {
            metadata: { name: 'probe', namespace: probeNs, labels: { [Label.BundleNamespace]: 'locked' } },
            spec: { contentName: 's-' + '0'.repeat(64), deploymentID: 's-' + '0'.repeat(64) + ':00000000' },
          } as KubeObject,
          { dryRun: true },
        );
        return false;
      } catch (err) {
        return err instanceof ApiError && err.statusCode === 403;
      }
    },
    { timeoutMs: 30_000, description: 'the admission policy denies BundleDeployments of workspace "locked" with 403' },
  );
  flotilla = await env.startFlotilla();
});

after(async () => {
  await env?.stop();
});

test('a forbidden workspace is reported by Event, log and metric; its neighbour converges; granting access recovers it', async () => {
  const admin = env.admin;
  await waitFor(async () => (await listAll(admin, T.BundleDeployment, { namespace: deploymentNamespaceFor('open', 'c1') })).length === 1, {
    timeoutMs: 30_000,
    description: 'workspace "open" converges',
  });
  const event = await waitFor(
    async () => {
      const events = await listAll<KubeObject & { reason?: string; note?: string; type?: string; regarding?: { name?: string } }>(admin, builtinTypes.event, {
        namespace: 'locked',
      });
      return events.find((e) => e.reason === 'Forbidden' && e.regarding?.name === 'app');
    },
    { timeoutMs: 30_000, description: 'a Forbidden Warning Event on the locked Bundle' },
  );
  assert.equal(event.type, 'Warning');
  assert.match(event.note ?? '', /closed to deployments/);
  assert.match(event.note ?? '', /Grant the controller/);
  await waitFor(async () => (await scrapeMetrics(flotilla.metricsUrl)).sum('flotilla_workspace_forbidden', { namespace: 'locked' }) === 1, {
    timeoutMs: 10_000,
    description: 'flotilla_workspace_forbidden{namespace="locked"} = 1',
  });
  assert.ok(flotilla.logs.some((l) => l.msg === 'workspace cannot be managed: forbidden' && l.workspace === 'locked'), 'an error log line names the workspace');
  assert.equal((await scrapeMetrics(flotilla.metricsUrl)).sum('flotilla_workspace_forbidden', { namespace: 'open' }), 0);

  // Access granted: the retried reconcile succeeds and the report clears.
  await admin.delete(bindingType, 'lock-workspace');
  await waitFor(async () => (await listAll(admin, T.BundleDeployment, { namespace: deploymentNamespaceFor('locked', 'c1') })).length === 1, {
    timeoutMs: 90_000,
    description: 'workspace "locked" converges once allowed',
  });
  await waitFor(async () => (await scrapeMetrics(flotilla.metricsUrl)).sum('flotilla_workspace_forbidden', { namespace: 'locked' }) === 0, {
    timeoutMs: 10_000,
    description: 'flotilla_workspace_forbidden{namespace="locked"} back to 0',
  });
});
