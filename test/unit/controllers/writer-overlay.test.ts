import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { Writer, type WriteClient } from '../../../src/controllers/writer.ts';
import { Kind } from '../../../src/api/constants.ts';
import type { KubeObject } from '../../../src/runtime/kube/resource.ts';
import { parseMetrics } from '../../support/metrics.ts';

/** Answers every apply as the API server would: the object at the next resourceVersion. */
function apiServer(): WriteClient {
  let rv = 100;
  const answer = <T extends KubeObject>(_type: unknown, obj: T) => Promise.resolve({ ...obj, metadata: { ...obj.metadata, resourceVersion: String(++rv) } }) as Promise<T>;
  return { apply: answer, create: answer, patch: () => Promise.reject(new Error('unused')), delete: () => Promise.resolve() } as unknown as WriteClient;
}

const bundle = (rv: string, status: unknown): KubeObject => ({ apiVersion: 'flotilla.dev/v1alpha1', kind: 'Bundle', metadata: { name: 'b', namespace: 'ws', resourceVersion: rv }, status } as KubeObject);

test('the overlay holds our writes only until the informer delivers them, and says so in flotilla_recent_writes', async () => {
  const registry = new Registry();
  const writer = new Writer(apiServer(), registry);
  const gauge = async () => parseMetrics(await registry.metrics()).sum('flotilla_recent_writes');
  const written = await writer.applyStatus(Kind.Bundle, bundle('100', { n: 1 }), 'StatusChanged');
  assert.equal(written?.metadata.resourceVersion, '101');
  assert.equal(await gauge(), 1);
  // The watch event of our own write: the informer's handlers see it as ours, then the entry goes.
  const echo = bundle('101', { n: 1 });
  writer.observed(Kind.Bundle, echo);
  assert.equal(writer.isForeignStatusChange(Kind.Bundle, bundle('100', { n: 0 }), echo), false, 'our own status echo is not foreign');
  await Promise.resolve();
  assert.equal(await gauge(), 0);
  // Someone else's status change later is foreign, as before.
  assert.equal(writer.isForeignStatusChange(Kind.Bundle, echo, bundle('102', { n: 9 })), true);
  assert.equal(parseMetrics(await registry.metrics()).sum('flotilla_recent_writes_evicted_total'), 0, 'nothing evicted');
});
