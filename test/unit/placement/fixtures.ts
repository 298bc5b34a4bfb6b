/**
 * Shared fixtures for the placement tests: a small workspace ("ws") of
 * Clusters and ClusterGroups typed as the API types, plus a foreign
 * namespace whose objects must never take part in targeting.
 */
import type { Bundle, BundleTarget } from '../../../src/api/bundle.ts';
import type { BundleDeployment } from '../../../src/api/bundle-deployment.ts';
import type { Cluster } from '../../../src/api/cluster.ts';
import type { ClusterGroup } from '../../../src/api/cluster-group.ts';
import { API_VERSION, Label } from '../../../src/api/constants.ts';
import type { LabelSelector } from '../../../src/api/label-selector.ts';
export { seededRandom } from '../../support/random.ts';

export const WS = 'ws';

export function cluster(name: string, labels?: Record<string, string>, namespace = WS): Cluster {
  return {
    apiVersion: API_VERSION,
    kind: 'Cluster',
    metadata: labels === undefined ? { name, namespace } : { name, namespace, labels },
  };
}

export function group(
  name: string,
  selector: LabelSelector,
  labels: Record<string, string> = {},
  namespace = WS,
): ClusterGroup {
  return { apiVersion: API_VERSION, kind: 'ClusterGroup', metadata: { name, namespace, labels }, spec: { selector } };
}

export function bundle(targets: BundleTarget[] | undefined, extra: Partial<Bundle['spec']> = {}, name = 'app'): Bundle {
  const spec: Bundle['spec'] = { ...extra };
  if (targets !== undefined) spec.targets = targets;
  return { apiVersion: API_VERSION, kind: 'Bundle', metadata: { name, namespace: WS, generation: 1 }, spec };
}

export const clusters: Cluster[] = [
  cluster('c-prod-eu', { env: 'prod', region: 'eu', tier: 'gold' }),
  cluster('c-prod-us', { env: 'prod', region: 'us' }),
  cluster('c-dev-eu', { env: 'dev', region: 'eu' }),
  cluster('c-nolabels'),
  cluster('c-staging', { env: 'staging', canary: 'true' }),
  // Same labels as c-prod-eu, but in another namespace: never targeted by a "ws" Bundle.
  cluster('c-foreign', { env: 'prod', region: 'eu', tier: 'gold' }, 'other'),
];

export const groups: ClusterGroup[] = [
  group('g-prod', { matchLabels: { env: 'prod' } }, { kind: 'env', critical: 'true' }),
  group('g-eu', { matchLabels: { region: 'eu' } }, { kind: 'region' }),
  group('g-all', {}, { kind: 'all' }),
  group('g-none', { matchExpressions: [{ key: 'env', operator: 'In', values: ['nonexistent'] }] }, { kind: 'env' }),
  // Invalid selector (unsupported operator), as if written before the CRD validated it.
  group('g-bad', { matchExpressions: [{ key: 'env', operator: 'Bogus' as 'In', values: ['x'] }] }, { kind: 'broken' }),
  // Only in another namespace; selects everything there.
  group('g-foreign', {}, { kind: 'region' }, 'other'),
];

/** A BundleDeployment as the agent would leave it, for summary tests. */
export function bd(
  clusterName: string,
  deploymentID: string,
  status: BundleDeployment['status'] | undefined,
  bundleName = 'app',
): BundleDeployment {
  const out: BundleDeployment = {
    apiVersion: API_VERSION,
    kind: 'BundleDeployment',
    metadata: {
      name: bundleName,
      namespace: `flotilla-${WS}-${clusterName}`,
      labels: {
        [Label.BundleName]: bundleName,
        [Label.BundleNamespace]: WS,
        [Label.ClusterName]: clusterName,
        [Label.ClusterNamespace]: WS,
      },
    },
    spec: { contentName: deploymentID.split(':')[0] as string, deploymentID },
  };
  if (status !== undefined) out.status = status;
  return out;
}

