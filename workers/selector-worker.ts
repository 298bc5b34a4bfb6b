/**
 * Selector pool worker (Piscina task module). Keeps a replica of the selector
 * index, fed over a dedicated control channel (src/runtime/pool/replica-endpoint.ts),
 * and answers tasks that name the sequence they need.
 *
 * Imports stay light on purpose (labels + pool internals only): a worker is
 * (re)started on crash and on resize, and e.g. @kubernetes/client-node would
 * add ~0.85 s to every start.
 */
import { encodeError } from '../src/runtime/pool/error-codec.ts';
import type { TaskEnvelope, TaskReply } from '../src/runtime/pool/protocol.ts';
import { threadReplica } from '../src/runtime/pool/replica-endpoint.ts';
import { executeTask } from '../src/runtime/pool/tasks.ts';

const replica = threadReplica();

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
      const value = await executeTask(replica.index, envelope.task, replica.records);
      return { ok: true, seq, value };
    });
  } catch (err) {
    return { ok: false, seq: replica.seq, error: encodeError(err) };
  }
}
