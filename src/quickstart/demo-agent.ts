/**
 * The quick start's stand-in for the agents that would run on downstream
 * clusters. The demo has no downstream clusters, so nothing would ever
 * report a BundleDeployment as applied and every Bundle would stay "0/N
 * ready"; this writes, with the admin credentials, what an agent writes to
 * a BundleDeployment's `/status` once it has applied the deployment and its
 * resources are ready. Nothing is applied anywhere, and the progress
 * display says so.
 *
 * It reads the controller's in-process BundleDeployment cache rather than
 * polling the API server. Like a real agent it leaves a paused
 * BundleDeployment at what it already applied.
 */
import type { Logger } from '../observability/logger.ts';
import type { Store } from '../runtime/informer/store.ts';
import { KindResources } from '../api/kinds.ts';
import type { KubeClient } from '../runtime/kube/client.ts';
import type { BundleDeploymentObject } from '../controllers/placement-context.ts';

const INTERVAL_MS = 500;

export class DemoAgent {
  readonly #client: KubeClient;
  readonly #store: Store<BundleDeploymentObject>;
  readonly #log: Logger;
  /** deploymentID reported per key, so a report is not repeated while the cache catches up. */
  readonly #reported = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  #pass: Promise<void> = Promise.resolve();
  reports = 0;

  constructor(opts: { client: KubeClient; store: Store<BundleDeploymentObject>; logger: Logger }) {
    this.#client = opts.client;
    this.#store = opts.store;
    this.#log = opts.logger;
  }

  start(): void {
    this.#timer = setInterval(() => {
      this.#pass = this.#pass.then(() => this.#reportPending());
    }, INTERVAL_MS);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#pass;
  }

  async #reportPending(): Promise<void> {
    const pending = this.#store.list().filter((bd) => {
      const id = bd.spec?.deploymentID;
      if (!id || bd.metadata.deletionTimestamp) return false;
      const status = bd.status as { appliedDeploymentID?: string; ready?: boolean } | undefined;
      if (status?.appliedDeploymentID === id && status.ready === true) return false;
      if (bd.spec?.paused === true && status?.appliedDeploymentID) return false;
      return this.#reported.get(`${bd.metadata.namespace}/${bd.metadata.name}`) !== id;
    });
    await Promise.all(pending.map((bd) => this.#report(bd)));
  }

  async #report(bd: BundleDeploymentObject): Promise<void> {
    const { namespace, name } = bd.metadata;
    const id = bd.spec.deploymentID;
    const time = `${new Date().toISOString().slice(0, 19)}Z`;
    const condition = (type: string, reason: string, message: string) => ({ type, status: 'True', reason, message, lastTransitionTime: time });
    const status = {
      appliedDeploymentID: id,
      ready: true,
      nonModified: true,
      conditions: [condition('Applied', 'Applied', 'applied by the quick start demo agent'), condition('Ready', 'Ready', 'all resources ready (demo)')],
      nonReadyResources: [],
      modifiedResources: [],
    };
    try {
      await this.#client.patch(KindResources.BundleDeployment, name!, namespace, { status }, { subresource: 'status' });
      this.#reported.set(`${namespace}/${name}`, id);
      this.reports++;
    } catch (err) {
      // Deleted meanwhile, or the API is busy: the next pass tries again.
      this.#log.debug({ err, bundleDeployment: `${namespace}/${name}` }, 'demo agent: status report failed');
    }
  }
}
