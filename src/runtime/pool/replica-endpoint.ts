/**
 * The worker's end of the replica control channel (the main thread's end is
 * replica-link.ts): the thread's `IndexReplica`, exposed with comlink as
 * `ReplicaControl` on a dedicated MessageChannel whose port goes to the main
 * thread in the worker's hello.
 */
import { MessageChannel, parentPort, threadId } from 'node:worker_threads';
import * as Comlink from 'comlink';
import type { ReplicaControl, ReplicaHello } from './protocol.ts';
import { IndexReplica } from './replica.ts';

/**
 * One replica per thread even if the worker module were instantiated twice
 * (Piscina tries `require()` before `import()`): the second instance reuses the first.
 */
const replicaKey = Symbol.for('flotilla.selectorWorker.replica');
const registry = globalThis as { [replicaKey]?: IndexReplica };

/** What the main thread may call on `replica`. */
export function replicaControl(replica: IndexReplica, threadId: number): ReplicaControl {
  return {
    loadSnapshot: (snapshot) => replica.loadSnapshot(snapshot),
    applyDeltas: (batch) => replica.applyDeltas(batch),
    status: () => replica.status(threadId),
  };
}

export function threadReplica(): IndexReplica {
  const existing = registry[replicaKey];
  if (existing) return existing;
  const replica = new IndexReplica();
  registry[replicaKey] = replica;
  // Outside a worker (e.g. imported by a type check or a test) there is no one to talk to.
  if (parentPort) {
    const { port1, port2 } = new MessageChannel();
    Comlink.expose(replicaControl(replica, threadId), port1 as unknown as Comlink.Endpoint);
    // Sent before Piscina's own "ready" message (the worker module loads first), so the main
    // thread can start the snapshot transfer while the worker is still starting.
    const hello: ReplicaHello = { flotillaReplicaHello: 1, threadId, port: port2 };
    parentPort.postMessage(hello, [port2]);
  }
  return replica;
}
