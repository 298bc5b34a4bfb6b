import { KindResources } from '../../src/api/kinds.ts';
import type { KubeClient } from '../../src/runtime/kube/client.ts';
import type { KubeObject } from '../../src/runtime/kube/resource.ts';

/**
 * Test tooling, not product code: plays the agent that applies
 * BundleDeployments on a downstream cluster, by writing what an agent would
 * write to a BundleDeployment's `/status` subresource: `appliedDeploymentID`,
 * `ready`, `nonModified`, the `Ready` and `Applied` conditions, and the
 * not-ready / modified resource lists. Nothing is applied anywhere.
 *
 *   const agent = new AgentSimulator(adminClient);
 *   await agent.report(bd, 'ready');
 *   await agent.reportAll({ namespace, labelSelector: 'flotilla.dev/bundle-name=web' }, 'notReady');
 *
 * Writes use a JSON merge patch on `/status` with the object's current
 * `spec.deploymentID` read fresh, so a report describes the BundleDeployment
 * as it is now (an agent acknowledges the deployment ID it applied).
 */

export type AgentState =
  /** Applied the current deploymentID; everything ready. */
  | 'ready'
  /** Applied the current deploymentID; some resource not ready. */
  | 'notReady'
  /** Applied the current deploymentID, ready, but a resource drifted. */
  | 'modified'
  /** Tried to apply the current deploymentID and failed. */
  | 'errApplied'
  /** Still running an older deploymentID (reported as ready). */
  | 'waitApplied'
  /** Nothing reported yet (status cleared). */
  | 'pending';

export interface BundleDeploymentLike extends KubeObject {
  spec?: { deploymentID?: string; contentName?: string };
  status?: Record<string, unknown>;
}

const bdType = KindResources.BundleDeployment;

export class AgentSimulator {
  readonly #client: KubeClient;
  /** Count of status writes made, for tests that account for writes. */
  writes = 0;

  constructor(client: KubeClient) {
    this.#client = client;
  }

  /** The status an agent in `state` would report for a BundleDeployment whose spec has `deploymentID`. */
  static statusFor(state: AgentState, deploymentID: string, now = new Date()): Record<string, unknown> | null {
    if (state === 'pending') return null;
    const time = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
    const condition = (type: string, status: boolean, reason: string, message: string) => ({
      type,
      status: status ? 'True' : 'False',
      reason,
      message,
      lastTransitionTime: time,
    });
    const resource = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'default', name: 'app' };
    switch (state) {
      case 'ready':
        return {
          appliedDeploymentID: deploymentID,
          ready: true,
          nonModified: true,
          conditions: [condition('Applied', true, 'Applied', 'applied'), condition('Ready', true, 'Ready', 'all resources ready')],
          nonReadyResources: [],
          modifiedResources: [],
        };
      case 'notReady':
        return {
          appliedDeploymentID: deploymentID,
          ready: false,
          nonModified: true,
          conditions: [condition('Applied', true, 'Applied', 'applied'), condition('Ready', false, 'NotReady', 'Deployment default/app: 0/1 replicas available')],
          nonReadyResources: [{ ...resource, message: '0/1 replicas available' }],
          modifiedResources: [],
        };
      case 'modified':
        return {
          appliedDeploymentID: deploymentID,
          ready: true,
          nonModified: false,
          conditions: [condition('Applied', true, 'Applied', 'applied'), condition('Ready', true, 'Ready', 'all resources ready')],
          nonReadyResources: [],
          modifiedResources: [{ ...resource, message: 'spec.replicas changed' }],
        };
      case 'errApplied':
        return {
          appliedDeploymentID: deploymentID,
          ready: false,
          nonModified: true,
          conditions: [condition('Applied', false, 'ApplyFailed', 'admission webhook denied the request'), condition('Ready', false, 'NotReady', 'apply failed')],
          nonReadyResources: [],
          modifiedResources: [],
        };
      case 'waitApplied': {
        const contentName = deploymentID.split(':')[0] ?? 's-0';
        return {
          appliedDeploymentID: `${contentName}:00000000`,
          ready: true,
          nonModified: true,
          conditions: [condition('Applied', true, 'Applied', 'applied an older deployment'), condition('Ready', true, 'Ready', 'all resources ready')],
          nonReadyResources: [],
          modifiedResources: [],
        };
      }
    }
  }

  /** Reports `state` for one BundleDeployment (given as an object or `{namespace, name}`); returns the stored object. */
  async report(bd: { metadata: { namespace?: string; name?: string } }, state: AgentState): Promise<BundleDeploymentLike> {
    const namespace = bd.metadata.namespace;
    const name = bd.metadata.name;
    if (!namespace || !name) throw new Error('report: the BundleDeployment needs metadata.namespace and metadata.name');
    const current = await this.#client.get<BundleDeploymentLike>(bdType, name, namespace);
    const deploymentID = current.spec?.deploymentID;
    if (!deploymentID) throw new Error(`report: ${namespace}/${name} has no spec.deploymentID`);
    const status = AgentSimulator.statusFor(state, deploymentID);
    // Merge patch: `status: null` clears it; otherwise the lists are replaced whole.
    const stored = await this.#client.patch<BundleDeploymentLike>(bdType, name, namespace, { status }, { subresource: 'status' });
    this.writes++;
    return stored;
  }

  /** Reports `state` for every BundleDeployment the list options select; returns how many. */
  async reportAll(
    select: { namespace?: string; labelSelector?: string },
    state: AgentState | ((bd: BundleDeploymentLike) => AgentState | undefined),
    options: { concurrency?: number } = {},
  ): Promise<number> {
    const list = await this.#client.list<BundleDeploymentLike>(bdType, { namespace: select.namespace, labelSelector: select.labelSelector });
    const work = list.items
      .map((bd) => ({ bd, s: typeof state === 'function' ? state(bd) : state }))
      .filter((w): w is { bd: BundleDeploymentLike; s: AgentState } => w.s !== undefined);
    const concurrency = options.concurrency ?? 16;
    let next = 0;
    const worker = async () => {
      while (next < work.length) {
        const item = work[next++] as { bd: BundleDeploymentLike; s: AgentState };
        await this.report(item.bd, item.s);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, work.length) }, worker));
    return work.length;
  }
}
