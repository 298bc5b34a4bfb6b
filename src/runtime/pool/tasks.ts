/**
 * Executes a `PoolTask` against an index. The same function serves the
 * inline fast path (main-thread index) and the workers (their replicas), so
 * both paths answer with identical semantics by construction.
 */
import { compileTrustedSelector, type CompiledSelector } from '../../labels/selector.ts';
import type { SelectorIndexReader } from '../../labels/selector-index.ts';
import { TerminalError } from '../errors.ts';
import type { ModuleTask, PoolTask, TaskResults } from './protocol.ts';

/** Signature of a function a `module` task runs. */
export type ReplicaTaskFunction<I = unknown, O = unknown> = (input: I, index: SelectorIndexReader) => O | Promise<O>;

const moduleFunctions = new Map<string, ReplicaTaskFunction>();

async function loadModuleFunction(task: ModuleTask): Promise<ReplicaTaskFunction> {
  const cacheKey = `${task.module}#${task.export}`;
  const cached = moduleFunctions.get(cacheKey);
  if (cached) return cached;
  const mod = (await import(task.module)) as Record<string, unknown>;
  const fn = mod[task.export];
  if (typeof fn !== 'function') {
    throw new TerminalError('InvalidPoolTask', `${task.module} does not export a function named ${JSON.stringify(task.export)}`);
  }
  moduleFunctions.set(cacheKey, fn as ReplicaTaskFunction);
  return fn as ReplicaTaskFunction;
}

/**
 * Runs a built-in task synchronously. `selector` may carry the already
 * compiled form of a `labelSetsMatching` task's selector (the main thread
 * compiled and validated it to estimate the cost).
 */
export function executeBuiltinTask(
  index: SelectorIndexReader,
  task: Exclude<PoolTask, ModuleTask>,
  selector?: CompiledSelector,
): TaskResults[Exclude<PoolTask, ModuleTask>['kind']] {
  switch (task.kind) {
    case 'selectorsMatching':
      return index.selectorsMatching(task.partition, task.labels);
    case 'labelSetsMatching':
      return index.labelSetsMatching(task.partition, selector ?? compileTrustedSelector(task.selector));
    case 'selectorsChangedBetween':
      return index.selectorsChangedBetween(task.partition, task.oldLabels, task.newLabels);
  }
}

export async function executeTask(index: SelectorIndexReader, task: PoolTask, selector?: CompiledSelector): Promise<unknown> {
  if (task.kind === 'module') return (await loadModuleFunction(task))(task.input, index);
  return executeBuiltinTask(index, task, selector);
}

/**
 * How many selector evaluations a built-in task does on `index` (cheap: sizes
 * of postings). The pool runs a task inline when this is at or below its
 * `inlineThreshold`.
 */
export function builtinTaskCost(index: SelectorIndexReader, task: Exclude<PoolTask, ModuleTask>, selector?: CompiledSelector): number {
  switch (task.kind) {
    case 'selectorsMatching':
      return index.costOfSelectorsMatching(task.partition, task.labels);
    case 'labelSetsMatching':
      return index.costOfLabelSetsMatching(task.partition, selector ?? compileTrustedSelector(task.selector));
    case 'selectorsChangedBetween':
      return index.costOfSelectorsChangedBetween(task.partition, task.oldLabels, task.newLabels);
  }
}
