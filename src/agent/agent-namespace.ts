/**
 * The agent's namespace on its cluster holds its leader-election Lease and
 * the ApplySet parents. An installed agent finds it created by
 * `flotilla cluster add`; one run locally creates it. Retried with backoff
 * until it exists: the downstream API may be unreachable at start, and an
 * agent never exits for that.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../observability/logger.ts';
import { ignoreAlreadyExists } from '../runtime/errors.ts';
import type { ObjectReader, ObjectWriter } from '../runtime/kube/interfaces.ts';
import { builtinTypes } from '../runtime/kube/resource.ts';
import { isNotFound } from '../runtime/errors.ts';

const MAX_BACKOFF_MS = 30_000;

export async function ensureAgentNamespace(
  client: ObjectReader & Pick<ObjectWriter, 'create'>,
  namespace: string,
  opts: { signal: AbortSignal; logger: Logger },
): Promise<void> {
  let backoffMs = 500;
  while (!opts.signal.aborted) {
    try {
      try {
        await client.get(builtinTypes.namespace, namespace);
      } catch (error) {
        if (!isNotFound(error)) throw error;
        await ignoreAlreadyExists(client.create(builtinTypes.namespace, { metadata: { name: namespace } }));
        opts.logger.info({ namespace }, 'created the agent namespace on the downstream cluster');
      }
      return;
    } catch (err) {
      opts.logger.warn({ err, namespace, retryInMs: backoffMs }, 'cannot ensure the agent namespace on the downstream cluster; retrying');
      await delay(backoffMs, undefined, { signal: opts.signal }).catch(() => undefined);
      backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
    }
  }
}
