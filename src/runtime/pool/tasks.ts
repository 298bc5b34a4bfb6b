/**
 * Executes a `PoolTask` against an index. The same functions serve the
 * inline fast path (main-thread index) and the workers (their replicas), so
 * both paths answer with identical semantics by construction.
 */
import { compileTrustedSelector, type CompiledSelector } from '../../labels/selector.ts';
import type { SelectorIndexReader } from '../../labels/selector-index.ts';
import { TerminalError } from '../errors.ts';
import type { ModuleTask, PoolTask, TaskResults } from './protocol.ts';
import type { RecordReader } from './record-store.ts';

/** Signature of a function a `module` task runs. */
export type ReplicaTaskFunction<I = unknown, O = unknown> = (input: I, index: SelectorIndexReader, records: RecordReader) => O | Promise<O>;

export type BuiltinTask = Exclude<PoolTask, ModuleTask>;
type BuiltinKind = BuiltinTask['kind'];
type LabelSetsMatchingTask = Extract<BuiltinTask, { kind: 'labelSetsMatching' }>;

interface BuiltinTaskHandler<K extends BuiltinKind> {
  /**
   * How many selector evaluations the task does on `index` (cheap: sizes of
   * postings). The pool runs a task inline when this is at or below its
   * `inlineThreshold`.
   */
  cost(index: SelectorIndexReader, task: Extract<BuiltinTask, { kind: K }>): number;
  run(index: SelectorIndexReader, task: Extract<BuiltinTask, { kind: K }>): TaskResults[K];
}

/**
 * Every built-in task kind, by name. A new kind is its type in protocol.ts
 * plus one entry here: the pool's inline path and the workers both run it
 * from this table.
 */
const builtinTasks: { readonly [K in BuiltinKind]: BuiltinTaskHandler<K> } = {
  selectorsMatching: {
    cost: (index, task) => index.costOfSelectorsMatching(task.partition, task.labels),
    run: (index, task) => index.selectorsMatching(task.partition, task.labels),
  },
  labelSetsMatching: {
    cost: (index, task) => index.costOfLabelSetsMatching(task.partition, compiledSelectorOf(task)),
    run: (index, task) => index.labelSetsMatching(task.partition, compiledSelectorOf(task)),
  },
  selectorsChangedBetween: {
    cost: (index, task) => index.costOfSelectorsChangedBetween(task.partition, task.oldLabels, task.newLabels),
    run: (index, task) => index.selectorsChangedBetween(task.partition, task.oldLabels, task.newLabels),
  },
};

// Method signatures are bivariant, so any kind's handler reads as the union's.
function handlerOf(task: BuiltinTask): BuiltinTaskHandler<BuiltinKind> {
  return builtinTasks[task.kind] as BuiltinTaskHandler<BuiltinKind>;
}

/** Runs a built-in task synchronously. */
export function executeBuiltinTask(index: SelectorIndexReader, task: BuiltinTask): TaskResults[BuiltinKind] {
  return handlerOf(task).run(index, task);
}

export function builtinTaskCost(index: SelectorIndexReader, task: BuiltinTask): number {
  return handlerOf(task).cost(index, task);
}

export async function executeTask(index: SelectorIndexReader, task: PoolTask, records: RecordReader): Promise<unknown> {
  if (task.kind === 'module') return (await loadModuleFunction(task))(task.input, index, records);
  return executeBuiltinTask(index, task);
}

/**
 * Each `labelSetsMatching` task's selector, compiled once: estimating the
 * cost and running the task both need it, and the main thread may already
 * hold it (`labelSetsMatchingTask`).
 */
const compiledSelectors = new WeakMap<LabelSetsMatchingTask, CompiledSelector>();

function compiledSelectorOf(task: LabelSetsMatchingTask): CompiledSelector {
  let compiled = compiledSelectors.get(task);
  if (!compiled) compiledSelectors.set(task, (compiled = compileTrustedSelector(task.selector)));
  return compiled;
}

/** A `labelSetsMatching` task for a selector the caller compiled (and so validated) already. */
export function labelSetsMatchingTask(partition: string, selector: CompiledSelector): LabelSetsMatchingTask {
  const task: LabelSetsMatchingTask = { kind: 'labelSetsMatching', partition, selector: selector.toLabelSelector() };
  compiledSelectors.set(task, selector);
  return task;
}

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
