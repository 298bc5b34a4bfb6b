/**
 * Kinds appearing on the downstream cluster. A Bundle whose custom resources
 * were rejected as an unknown kind (its CRD not installed yet, perhaps by
 * another Bundle or by hand) is retried the moment a CRD becomes
 * Established, instead of at its next backoff. One watch of
 * CustomResourceDefinitions, slimmed to name and conditions: CRD schemas can
 * be large and the agent needs none of them.
 */
import type { InformerFactory } from '../runtime/informer/informer-factory.ts';
import type { KubeObject } from '../runtime/kube/resource.ts';
import { Emitter, type EventSource } from '../runtime/watches.ts';
import { crdType, isEstablished } from './apply/crd-wait.ts';

/** A CRD became Established (or changed while Established): discovery may answer differently now. */
export interface KindsChanged {
  readonly crd: string;
}

function slim(crd: KubeObject): KubeObject {
  const conditions = (crd.status as { conditions?: unknown } | undefined)?.conditions;
  return {
    apiVersion: crd.apiVersion,
    kind: crd.kind,
    metadata: { name: crd.metadata.name, resourceVersion: crd.metadata.resourceVersion, generation: crd.metadata.generation },
    status: { conditions },
  };
}

export function watchDiscoveryChanges(informers: InformerFactory, onChange: () => void): EventSource<KindsChanged> {
  const events = new Emitter<KindsChanged>();
  const informer = informers.for<KubeObject>(crdType, { transform: slim });
  const changed = (crd: KubeObject) => {
    onChange();
    events.emit({ crd: crd.metadata.name ?? '' });
  };
  informer.store.addHandler({
    onAdd: (crd, initialList) => {
      if (!initialList && isEstablished(crd)) changed(crd);
    },
    onUpdate: (old, crd, resync) => {
      if (resync || !isEstablished(crd)) return;
      if (!isEstablished(old) || old.metadata.generation !== crd.metadata.generation) changed(crd);
    },
  });
  return events;
}
