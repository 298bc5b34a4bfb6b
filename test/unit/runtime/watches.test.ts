import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { EnqueueOptions } from '../../../src/runtime/actors/types.ts';
import { Store } from '../../../src/runtime/informer/store.ts';
import type { KubeObject } from '../../../src/runtime/kube/resource.ts';
import { Emitter, forObjects, Lane, requests, subscribeWatches, watch } from '../../../src/runtime/watches.ts';

function recorder(): { queue: { enqueue(key: string, opts?: EnqueueOptions): void }; seen: Array<[string, string | undefined]> } {
  const seen: Array<[string, string | undefined]> = [];
  return { queue: { enqueue: (key, opts) => seen.push([key, opts?.reason]) }, seen };
}

const obj = (name: string, rv: string, extra: Partial<KubeObject['metadata']> = {}, status?: unknown): KubeObject =>
  ({ metadata: { name, namespace: 'ns', resourceVersion: rv, generation: 1, ...extra }, ...(status ? { status } : {}) }) as KubeObject;

describe('declarative watches', () => {
  it('forObjects: initial list and resync go to the low lane, changes to the high one; status-only updates do nothing', () => {
    const store = new Store<KubeObject>();
    const { queue, seen } = recorder();
    subscribeWatches([forObjects({ store })], queue);
    store.upsert(obj('a', '1'), true);
    store.upsert(obj('b', '1'));
    store.upsert(obj('a', '2', {}, { phase: 'x' })); // status only
    store.upsert(obj('a', '3', { generation: 2 }));
    store.upsert(obj('a', '4', { generation: 2, labels: { l: 'v' } }));
    store.delete('ns/b');
    store.resync();
    assert.deepEqual(seen, [
      ['ns/a', 'initial'],
      ['ns/b', 'change'],
      ['ns/a', 'change'],
      ['ns/a', 'change'],
      ['ns/b', 'change'],
      ['ns/a', 'resync'],
    ]);
  });

  it('watch(source, map) enqueues what the map returns, in its lanes, and nothing for undefined', () => {
    const source = new Emitter<{ keys: string[] }>();
    const { queue, seen } = recorder();
    subscribeWatches(
      [watch(source, (e: { keys: string[] }) => (e.keys.length === 0 ? undefined : [requests(e.keys, Lane.dependency)!, requests('extra', Lane.ownEcho)!]))],
      queue,
    );
    source.emit({ keys: [] });
    source.emit({ keys: ['x', 'y'] });
    assert.deepEqual(seen, [
      ['x', 'dependency'],
      ['y', 'dependency'],
      ['extra', 'dependency'],
    ]);
    assert.equal(Lane.ownEcho.priority, 'deferred', 'the echo of our own write only has bookkeeping left: it waits while other keys\' writes are ready');
  });
});
