/**
 * The TypeScript types are derived from the schemas (Static<...>): these
 * fully populated objects must both type-check against the derived types
 * (checked by tsc) and pass the runtime schemas (checked here), so the two
 * cannot disagree.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Value } from 'typebox/value';
import {
  API_VERSION,
  ConditionReason,
  ConditionStatus,
  ConditionType,
  DeploymentState,
  Kind,
  Label,
  KindSchema,
  contentDigest,
  contentNameFor,
  deploymentIDFor,
} from '../../../src/api/index.ts';
import type {
  Bundle,
  BundleDeployment,
  Cluster,
  ClusterGroup,
  Condition,
  Content,
  DeploymentState as DeploymentStateType,
  FlotillaObject,
  LabelSelectorOperator,
  ObjectOfKind,
} from '../../../src/api/index.ts';

const resources = [{ name: 'app/deployment.yaml', content: 'kind: Deployment\n' }];
const contentName = contentNameFor(resources);
const options = { defaultNamespace: 'web', serviceAccount: 'deployer', keepResources: false };
const ready: Condition = {
  type: ConditionType.Ready,
  status: ConditionStatus.True,
  observedGeneration: 3,
  lastTransitionTime: '2025-06-01T12:00:00Z',
  reason: ConditionReason.Ready,
  message: 'all 2 clusters ready',
};
const counts = { desiredReady: 2, ready: 2, notReady: 0, pending: 0, modified: 0, errApplied: 0, waitApplied: 0, outOfSync: 0 };
const operator: LabelSelectorOperator = 'NotIn';
const state: DeploymentStateType = DeploymentState.Ready;

const cluster: Cluster = {
  apiVersion: API_VERSION,
  kind: Kind.Cluster,
  metadata: { name: 'prod-eu-1', namespace: 'demo', labels: { env: 'prod' }, finalizers: ['flotilla.dev/cluster-cleanup'] },
  spec: { paused: false },
  status: {
    observedGeneration: 1,
    namespace: 'cluster-demo-prod-eu-1-1a2b3c',
    conditions: [ready],
    summary: counts,
    display: { readyBundles: '2/2', state },
  },
};

const group: ClusterGroup = {
  apiVersion: API_VERSION,
  kind: Kind.ClusterGroup,
  metadata: { name: 'production', namespace: 'demo' },
  spec: { selector: { matchLabels: { env: 'prod' }, matchExpressions: [{ key: 'region', operator, values: ['us'] }] } },
  status: { observedGeneration: 1, clusterCount: 1, conditions: [ready], display: { readyClusters: '1/1', state } },
};

const bundle: Bundle = {
  apiVersion: API_VERSION,
  kind: Kind.Bundle,
  metadata: { name: 'nginx', namespace: 'demo', generation: 3 },
  spec: {
    resources,
    targets: [
      { name: 'skip-us', clusterSelector: { matchLabels: { region: 'us' } }, doNotDeploy: true },
      { clusterGroup: 'production' },
      { clusterGroupSelector: { matchExpressions: [{ key: 'tier', operator: 'Exists' }] } },
      { clusterName: 'dev-eu-1' },
    ],
    paused: false,
    options,
  },
  status: {
    observedGeneration: 3,
    conditions: [ready, { ...ready, type: ConditionType.Targeted, reason: ConditionReason.TargetsMatched }],
    summary: { ...counts, nonReadyClusters: [] },
    display: { readyClusters: '2/2', state },
    contentName,
  },
};

const deployment: BundleDeployment = {
  apiVersion: API_VERSION,
  kind: Kind.BundleDeployment,
  metadata: {
    name: 'nginx',
    namespace: 'cluster-demo-prod-eu-1-1a2b3c',
    labels: {
      [Label.BundleName]: 'nginx',
      [Label.BundleNamespace]: 'demo',
      [Label.ClusterName]: 'prod-eu-1',
      [Label.ClusterNamespace]: 'demo',
    },
  },
  spec: { contentName, deploymentID: deploymentIDFor(contentName, options), options, paused: false },
  status: {
    appliedDeploymentID: deploymentIDFor(contentName, options),
    ready: false,
    nonModified: true,
    conditions: [{ ...ready, status: ConditionStatus.False, reason: ConditionReason.NotReady }],
    nonReadyResources: [{ kind: 'Deployment', apiVersion: 'apps/v1', namespace: 'web', name: 'nginx', message: '1/2 replicas available' }],
    modifiedResources: [],
    display: { state: DeploymentState.NotReady },
  },
};

const content: Content = {
  apiVersion: API_VERSION,
  kind: Kind.Content,
  metadata: { name: contentName },
  spec: { sha256: contentDigest(resources), resources },
};

const objects: FlotillaObject[] = [cluster, group, bundle, deployment, content];

function check<K extends Kind>(kind: K, object: ObjectOfKind<K>): string[] {
  return [...Value.Errors(KindSchema[kind], object)].map((e) => `${e.instancePath} ${e.message}`);
}

describe('derived types', () => {
  it('fully populated objects of every kind pass their runtime schema', () => {
    assert.equal(objects.length, Object.keys(Kind).length);
    assert.deepEqual(check(Kind.Cluster, cluster), []);
    assert.deepEqual(check(Kind.ClusterGroup, group), []);
    assert.deepEqual(check(Kind.Bundle, bundle), []);
    assert.deepEqual(check(Kind.BundleDeployment, deployment), []);
    assert.deepEqual(check(Kind.Content, content), []);
  });

  it('a state that is not a DeploymentState fails the runtime schema', () => {
    const broken = structuredClone(bundle);
    (broken.status!.display as { state: string }).state = 'Fine';
    assert.notDeepEqual(check(Kind.Bundle, broken), []);
  });
});
