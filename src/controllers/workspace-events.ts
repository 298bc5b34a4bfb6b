import type { ConfigChange } from '../config/watch.ts';
import type { Logger } from '../observability/logger.ts';
import type { KubeObject } from '../runtime/kube/resource.ts';
import { Emitter, objectEvents, type EventSource, type ObjectEvent } from '../runtime/watches.ts';
import { PlacementContext } from './placement-context.ts';
import type { WorkspaceSet } from './workspaces.ts';

/** A namespace whose objects must all be looked at again: it was onboarded or offboarded. */
export interface WorkspaceChange {
  readonly workspace: string;
}

/**
 * Onboarding and offboarding at runtime, as an event source: from namespace
 * events (labelled, unlabelled, deleted) and from config reloads that change
 * the workspace mode or selector. The initial list onboards silently: every
 * object in a workspace is listed and enqueued on its own anyway.
 */
export class WorkspaceEvents implements EventSource<WorkspaceChange> {
  readonly #changes = new Emitter<WorkspaceChange>();
  readonly #ctx: PlacementContext;
  readonly #set: WorkspaceSet;

  constructor(ctx: PlacementContext, set: WorkspaceSet, onConfigChange: (listener: (change: ConfigChange) => void) => void, log: Logger) {
    this.#ctx = ctx;
    this.#set = set;
    objectEvents(ctx.namespaces).subscribe((e) => this.#onNamespace(e));
    onConfigChange((change) => {
      if (!change.changed.some((field) => field.startsWith('workspaces.'))) return;
      ctx.workspaces.update(change.next.workspaces);
      const namespaces = ctx.namespaces.store.list().filter((ns) => !PlacementContext.clusterKeyOfDeploymentNamespace(ns));
      const { onboarded, offboarded } = set.recompute(namespaces);
      log.info({ mode: change.next.workspaces.mode, onboarded, offboarded }, 'workspace set changed');
      for (const workspace of [...onboarded, ...offboarded]) this.#changes.emit({ workspace });
    });
  }

  subscribe(listener: (change: WorkspaceChange) => void): void {
    this.#changes.subscribe(listener);
  }

  #onNamespace(e: ObjectEvent<KubeObject>): void {
    if (PlacementContext.clusterKeyOfDeploymentNamespace(e.obj)) return;
    const workspace = e.obj.metadata.name ?? '';
    switch (e.type) {
      case 'added':
        if (this.#set.observe(e.obj, { initial: e.initialList }) && !e.initialList) this.#changes.emit({ workspace });
        return;
      case 'updated':
        if (e.resync) return;
        if (this.#set.observe(e.obj) || this.#ctx.workspaces.isWorkspace(e.old) !== this.#ctx.workspaces.isWorkspace(e.obj)) {
          this.#changes.emit({ workspace });
        }
        return;
      case 'deleted':
        this.#set.forget(workspace);
        return;
    }
  }
}
