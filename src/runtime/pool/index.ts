/** Selector matching in a Piscina worker pool whose workers keep replicas of the selector index. */
export {
  SelectorMatchPool,
  type SelectorMatchPoolOptions,
  type PoolResizeOptions,
  type PoolStats,
  type RunOnReplicaOptions,
  type ExecuteOptions,
} from './selector-match-pool.ts';
export { DEFAULT_INLINE_THRESHOLD, type TaskOutcome } from './dispatch.ts';
export type { PoolTask, TaskKind, TaskResults, ReplicaStatus, IndexDelta } from './protocol.ts';
export type { ReplicaTaskFunction } from './tasks.ts';
export type { RecordReader } from './record-store.ts';
export type { TaskPath, TaskResult } from './metrics.ts';
export { WorkerTaskError } from './error-codec.ts';
