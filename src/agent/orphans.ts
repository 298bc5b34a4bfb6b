/**
 * At start, the ApplySets this agent left on its cluster are adopted: each
 * is enqueued under its BundleDeployment's key, so one whose
 * BundleDeployment was deleted while no agent ran is removed (its parent
 * records keepResources), and the others are re-checked. The ApplySet
 * parents are the durable inventory; nothing needs a finalizer on the
 * management cluster, where the agent may only write status.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../observability/logger.ts';
import type { KeyQueue } from '../runtime/watches.ts';
import { Lane } from '../runtime/watches.ts';
import type { Applier } from './apply/applier.ts';
import type { Deployer } from './deployer.ts';

export interface AdoptOptions {
  applier: Pick<Applier, 'listApplySets'>;
  deployer: Pick<Deployer, 'adopt'>;
  scheduler: KeyQueue;
  namespace: string;
  active: () => boolean;
  stopping: AbortSignal;
  logger: Logger;
}

const POLL_MS = 200;
const MAX_BACKOFF_MS = 30_000;

export function adoptApplySets(opts: AdoptOptions): Promise<void> {
  return (async () => {
    let backoffMs = 1000;
    while (!opts.stopping.aborted) {
      if (!opts.active()) {
        await delay(POLL_MS, undefined, { signal: opts.stopping }).catch(() => undefined);
        continue;
      }
      try {
        const sets = await opts.applier.listApplySets();
        for (const set of sets) {
          opts.deployer.adopt(set.name);
          opts.scheduler.enqueue(`${opts.namespace}/${set.name}`, Lane.initial);
        }
        opts.logger.info({ applySets: sets.length }, 'adopted the ApplySets found on the downstream cluster');
        return;
      } catch (err) {
        opts.logger.warn({ err, retryInMs: backoffMs }, 'cannot list the ApplySets on the downstream cluster; retrying');
        await delay(backoffMs, undefined, { signal: opts.stopping }).catch(() => undefined);
        backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
      }
    }
  })();
}
