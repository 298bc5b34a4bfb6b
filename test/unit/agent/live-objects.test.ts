import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LiveObjects, type MemberEvent } from '../../../src/agent/live-objects.ts';
import type { InformerFactory } from '../../../src/runtime/informer/informer-factory.ts';
import { Store } from '../../../src/runtime/informer/store.ts';
import type { KubeObject, ResourceType } from '../../../src/runtime/kube/resource.ts';

const configMaps: ResourceType = { group: '', version: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true };
const PART_OF = 'applyset.kubernetes.io/part-of';

/** One informer's worth: a real Store, and a reflector reduced to what LiveObjects reads of it. */
function world() {
  const store = new Store<KubeObject>();
  const reflector = { synced: false, lastResourceVersion: '', hasSynced() { return this.synced; } };
  const factory = { for: () => ({ store, reflector }) } as unknown as InformerFactory;
  const live = new LiveObjects(factory);
  live.watch(configMaps);
  return { store, reflector, live };
}

const cm = (name: string, rv: string, set = 'applyset-a-v1'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'default', resourceVersion: rv, labels: { [PART_OF]: set } },
});

describe('LiveObjects.current', () => {
  it('answers with what the apply returned until the watch has listed', () => {
    const { live } = world();
    const applied = cm('a', '10');
    assert.equal(live.current(configMaps, applied), applied);
  });

  it('prefers the apply\'s answer while the cache holds an older version, and the cache once it has caught up', () => {
    const { store, reflector, live } = world();
    reflector.synced = true;
    store.upsert(cm('a', '5'), true);
    const applied = cm('a', '10');
    assert.equal(live.current(configMaps, applied), applied, 'cache behind the apply');
    const edited = cm('a', '12');
    store.upsert(edited);
    assert.equal(live.current(configMaps, applied), edited, 'someone changed it after our apply');
  });

  it('tells an object the watch has not seen yet from one deleted after the apply', () => {
    const { reflector, live } = world();
    reflector.synced = true;
    const applied = cm('a', '10');
    reflector.lastResourceVersion = '8';
    assert.equal(live.current(configMaps, applied), applied, 'not seen yet: still the apply\'s answer');
    reflector.lastResourceVersion = '15';
    assert.equal(live.current(configMaps, applied), undefined, 'the watch moved past the apply without it: deleted');
  });

  it('maps member changes to their ApplySet, also the set a member was relabelled away from', () => {
    const { store, live } = world();
    const events: MemberEvent[] = [];
    live.events.subscribe((e) => events.push(e));
    store.upsert(cm('a', '1', 'set-1'));
    store.upsert(cm('a', '2', 'set-2'));
    assert.deepEqual(events.map((e) => e.applySetId), ['set-1', 'set-2', 'set-1']);
  });
});
