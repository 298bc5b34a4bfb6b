/**
 * Waiting for a CustomResourceDefinition to be served: objects of its kinds
 * can only be applied once it is Established, which the apiextensions
 * controller sets shortly after a create (or a change of served versions).
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { ObjectReader } from '../../runtime/kube/interfaces.ts';
import type { KubeObject, ResourceType } from '../../runtime/kube/resource.ts';

export const crdType: ResourceType = {
  group: 'apiextensions.k8s.io',
  version: 'v1',
  kind: 'CustomResourceDefinition',
  plural: 'customresourcedefinitions',
  namespaced: false,
};

export function isCrd(type: ResourceType): boolean {
  return type.group === crdType.group && type.kind === crdType.kind;
}

export function isEstablished(crd: KubeObject | undefined): boolean {
  const conditions = (crd?.status as { conditions?: Array<{ type?: string; status?: string }> } | undefined)?.conditions;
  return Array.isArray(conditions) && conditions.some((c) => c.type === 'Established' && c.status === 'True');
}

/**
 * Polls the CRD until Established; resolves to whether it became so within
 * `timeoutMs` (false is the caller's to report: the kinds stay unknown, and
 * a later apply retries). Read errors are thrown: they are the
 * infrastructure's, not the CRD's.
 */
export async function waitEstablished(
  client: ObjectReader,
  name: string,
  opts: { timeoutMs: number; intervalMs?: number; signal?: AbortSignal | undefined },
): Promise<boolean> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const crd = await client.get<KubeObject>(crdType, name, undefined, opts.signal ? { signal: opts.signal } : {});
    if (isEstablished(crd)) return true;
    if (Date.now() >= deadline) return false;
    await delay(opts.intervalMs ?? 200, undefined, opts.signal ? { signal: opts.signal } : {});
  }
}
