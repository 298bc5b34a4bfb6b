import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Limits } from '../../../src/api/constants.ts';
import type { Condition } from '../../../src/api/condition.ts';
import { clusterProgress, formatCluster, type BundleDeploymentLike, type ClusterLike } from '../../../src/quickstart/cluster-progress.ts';
import { convergedMessage } from '../../../src/quickstart/converged.ts';
import { ProgressDisplay, type Snapshot } from '../../../src/quickstart/progress.ts';

const condition = (type: string, status: 'True' | 'False', message = ''): Condition => ({ type, status, reason: type, message, lastTransitionTime: '2026-01-01T00:00:00Z' });

function cluster(name: string, connected: boolean | undefined): ClusterLike {
  return { metadata: { name, namespace: 'demo' }, status: connected === undefined ? {} : { conditions: [condition('AgentConnected', connected ? 'True' : 'False')] } };
}

function bd(name: string, clusterName: string, status: BundleDeploymentLike['status'], id = 's-1'): BundleDeploymentLike {
  return {
    metadata: { name, namespace: `ns-${clusterName}`, labels: { 'flotilla.dev/cluster-name': clusterName, 'flotilla.dev/cluster-namespace': 'demo' } },
    spec: { deploymentID: id },
    status,
  };
}

const deployment = { kind: 'Deployment', namespace: 'web', name: 'nginx', message: 'InProgress: Deployment has not been observed yet' };

describe('quick start progress', () => {
  it('counts resources per cluster from the Applied message, ready and the non-ready list', () => {
    const [prod, staging] = clusterProgress(
      [cluster('staging-eu-1', false), cluster('prod-eu-1', true)],
      [
        bd('web', 'prod-eu-1', { appliedDeploymentID: 's-1', ready: false, conditions: [condition('Applied', 'True', '4 resources applied')], nonReadyResources: [deployment] }),
        bd('monitoring', 'prod-eu-1', { appliedDeploymentID: 's-1', ready: true, conditions: [condition('Applied', 'True', '5 resources applied')], nonReadyResources: [] }),
        // Not applied yet: counts as a BundleDeployment, not as resources.
        bd('web', 'staging-eu-1', { conditions: [condition('Applied', 'False', 'not applied yet')] }),
        // Applied before, now failing: 1 of 3 failed, listed too, so 2 applied and 2 ready.
        bd('debug', 'staging-eu-1', { appliedDeploymentID: 's-0', ready: false, conditions: [condition('Applied', 'False', '1 of 3 resources failed: x')], nonReadyResources: [{ kind: 'ConfigMap', name: 'x' }] }),
      ],
    );
    assert.deepEqual(
      { ...prod!, nonReady: prod!.nonReady.length },
      { name: 'prod-eu-1', agentConnected: true, agentHeartbeatExpired: false, bundleDeployments: 2, bundleDeploymentsApplied: 2, resourcesApplied: 9, resourcesReady: 8, resourcesFailed: 0, readyIsUpperBound: false, nonReady: 1 },
    );
    assert.equal(formatCluster(prod!), 'prod-eu-1: 8/9 ready, agent connected');
    assert.deepEqual([staging!.bundleDeployments, staging!.bundleDeploymentsApplied, staging!.resourcesApplied, staging!.resourcesReady, staging!.resourcesFailed], [2, 0, 2, 2, 1]);
    assert.equal(formatCluster(staging!), 'staging-eu-1: 2/2 ready, 1 failed, agent disconnected');
  });

  it('a full non-ready list makes the ready count an upper bound', () => {
    const listed = Array.from({ length: Limits.resourceStatusMaxItems }, (_, i) => ({ kind: 'ConfigMap', name: `c${i}` }));
    const [c] = clusterProgress([cluster('a', true)], [bd('x', 'a', { appliedDeploymentID: 's-1', ready: false, conditions: [condition('Applied', 'True', '25 resources applied')], nonReadyResources: listed })]);
    assert.equal(formatCluster(c!), 'a: ≤15/25 ready, agent connected');
    const [waiting] = clusterProgress([cluster('b', undefined)], []);
    assert.equal(formatCluster(waiting!), 'b: 0/0 ready, agent not connected yet');
  });

  it('converges when every BundleDeployment is applied and every agent connected; a not-ready Deployment is explained', () => {
    const clusters = clusterProgress(
      [cluster('prod-eu-1', true), cluster('staging-eu-1', true)],
      ['prod-eu-1', 'staging-eu-1'].map((c) => bd('web', c, { appliedDeploymentID: 's-1', ready: false, conditions: [condition('Applied', 'True', '4 resources applied')], nonReadyResources: [deployment] })),
    );
    const s: Snapshot = { bundles: 1, bundlesObserved: 1, bundleDeployments: 2, desired: 2, bundleDeploymentsApplied: 2, clusters, reconcilesPerSecond: 0 };
    assert.equal(ProgressDisplay.isConverged(s), true);
    assert.equal(ProgressDisplay.format(s), 'prod-eu-1: 3/4 ready, agent connected · staging-eu-1: 3/4 ready, agent connected · BundleDeployments 2/2 applied · 0.0 reconciles/s');
    assert.equal(ProgressDisplay.isConverged({ ...s, bundleDeploymentsApplied: 1 }), false);
    assert.equal(ProgressDisplay.isConverged({ ...s, clusters: [clusters[0]!, { ...clusters[1]!, agentConnected: false, agentHeartbeatExpired: true }] }), false);
    assert.equal(ProgressDisplay.isConverged({ ...s, desired: 3 }), false);

    const message = convergedMessage(s, 12_345, {
      managementKubeconfig: '/q/admin.kubeconfig',
      downstreamKubeconfigs: new Map([['prod-eu-1', '/q/downstream-prod-eu-1/admin.kubeconfig'], ['staging-eu-1', '/q/downstream-staging-eu-1/admin.kubeconfig']]),
      workspace: 'demo',
      logs: { controller: '/q/flotilla.log', agents: ['/q/agent-prod-eu-1.log', '/q/agent-staging-eu-1.log'] },
    });
    const lines = message.split('\n');
    assert.equal(lines[0], 'Converged in 12.3 s: 2/2 BundleDeployments applied by the agents of 2 Clusters (prod-eu-1: 3/4 resources ready, staging-eu-1: 3/4 resources ready).');
    assert.match(lines[1]!, /^Deployment web\/nginx stays not ready on prod-eu-1 and staging-eu-1 \(the agent reports "InProgress: Deployment has not been observed yet"\): the local downstream clusters have no nodes/);
    assert.ok(lines.includes('  export KUBECONFIG=/q/downstream-staging-eu-1/admin.kubeconfig; kubectl get configmaps,services,deployments -A -l applyset.kubernetes.io/part-of'));
    assert.ok(lines.includes('  export KUBECONFIG=/q/admin.kubeconfig'));
    assert.ok(lines.includes('  kubectl get bundles,clusters,clustergroups -n demo'));
    assert.ok(lines.includes('  npx flotilla apply hello config/samples/apply/hello -n demo'), 'the next step: a Bundle from a directory');
    assert.ok(lines.includes('  kubectl get bundledeployments -A'));
  });
});
