/**
 * Selector pool worker (Piscina task module). Keeps a replica of the selector
 * index, fed over a dedicated control channel (comlink-exposed
 * `ReplicaControl`), and answers tasks that name the sequence they need.
 *
 * Imports stay light on purpose (labels + pool internals only): a worker is
 * (re)started on crash and on resize, and e.g. @kubernetes/client-node would
 * add ~0.85 s to every start.
 */
import { MessageChannel, parentPort, threadId } from 'node:worker_threads';
import * as Comlink from 'comlink';
import { encodeError } from '../src/runtime/pool/error-codec.ts';
import type { ReplicaControl, ReplicaHello, TaskEnvelope, TaskReply } from '../src/runtime/pool/protocol.ts';
import { IndexReplica } from '../src/runtime/pool/replica.ts';
import { executeTask } from '../src/runtime/pool/tasks.ts';

/**
 * One replica per thread even if the module were instantiated twice (Piscina
 * tries `require()` before `import()`): the second instance reuses the first.
 */
const replicaKey = Symbol.for('flotilla.selectorWorker.replica');
const registry = globalThis as { [replicaKey]?: IndexReplica };

function startReplica(): IndexReplica {
  const existing = registry[replicaKey];
  if (existing) return existing;
  const replica = new IndexReplica();
  registry[replicaKey] = replica;
  // Outside a worker (e.g. imported by a type check or a test) there is no one to talk to.
  if (parentPort) {
    const { port1, port2 } = new MessageChannel();
    const control: ReplicaControl = {
      loadSnapshot: (snapshot) => replica.loadSnapshot(snapshot),
      applyDeltas: (batch) => replica.applyDeltas(batch),
      status: () => replica.status(threadId),
    };
    Comlink.expose(control, port1 as unknown as Comlink.Endpoint);
    // Sent before Piscina's own "ready" message (this module loads first), so the main
    // thread can start the snapshot transfer while the worker is still starting.
    const hello: ReplicaHello = { flotillaReplicaHello: 1, threadId, port: port2 };
    parentPort.postMessage(hello, [port2]);
  }
  return replica;
}

const replica = startReplica();

/**
 * Test-only fault injection for the fault suite (test/integration/faults):
 * `FLOTILLA_TEST_WORKER_FAULT=<mode>:<n>` makes every worker thread fail when
 * it receives its n-th task, so the pool's replacement and the callers'
 * retry paths can be exercised in the real controller:
 * - `crash:<n>` throws an uncaught exception (as a bug would);
 * - `oom:<n>` allocates until the worker exceeds its heap limit (set one with
 *   `concurrency.poolWorkerMaxHeapMb`, or V8's default of several GiB applies).
 * Unset in production: then this is one env read per worker start and nothing else.
 */
const injectedFault = ((): { mode: 'crash' | 'oom'; atTask: number } | undefined => {
  const match = /^(crash|oom):(\d+)$/.exec(process.env.FLOTILLA_TEST_WORKER_FAULT ?? '');
  return match ? { mode: match[1] as 'crash' | 'oom', atTask: Number(match[2]) } : undefined;
})();
let tasksReceived = 0;

/** Never rejects: failures come back encoded, so the main thread can rebuild their class. */
export default async function runSelectorTask(envelope: TaskEnvelope): Promise<TaskReply> {
  if (injectedFault && ++tasksReceived === injectedFault.atTask) {
    if (injectedFault.mode === 'oom') {
      const hog: number[][] = [];
      for (;;) hog.push(new Array<number>(1 << 16).fill(hog.length));
    }
    setImmediate(() => {
      throw new Error(`injected worker crash (FLOTILLA_TEST_WORKER_FAULT) at task ${tasksReceived}`);
    });
    return new Promise<never>(() => {});
  }
  try {
    const wait = replica.waitFor(envelope.requiredSeq, envelope.replicaWaitMs);
    if (wait) await wait;
    return await replica.runExclusive(async (): Promise<TaskReply> => {
      const seq = replica.seq;
      const value = await executeTask(replica.index, envelope.task);
      return { ok: true, seq, value };
    });
  } catch (err) {
    return { ok: false, seq: replica.seq, error: encodeError(err) };
  }
}
