import type { WatchEvent, ListOptions, WatchOptions } from '../../../src/runtime/kube/api-types.ts';
import type { ListerWatcher } from '../../../src/runtime/kube/interfaces.ts';
import type { KubeObject, ObjectList, ResourceType } from '../../../src/runtime/kube/resource.ts';
import type { Clock } from '../../../src/runtime/actors/clock.ts';

export const refused = (): Error => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6443'), { code: 'ECONNREFUSED' });

interface OpenWatch {
  startedAt: number;
  resourceVersion: string;
  end(err?: unknown): void;
}

/**
 * A ListerWatcher over a fixed set of objects whose availability the test
 * switches: while `down`, every LIST and WATCH fails at once; an open watch
 * stays open until the test ends it. Every call is recorded with the clock
 * time it was made at.
 */
export class InMemoryListerWatcher implements ListerWatcher {
  readonly server = 'https://in-memory.test';
  readonly lists: Array<{ at: number; limit: number | undefined; continue: string | undefined }> = [];
  readonly watches: OpenWatch[] = [];
  down = false;
  readonly #clock: Clock;
  readonly #objects: KubeObject[];

  constructor(clock: Clock, objects: KubeObject[] = []) {
    this.#clock = clock;
    this.#objects = objects;
  }

  async list<T extends KubeObject>(_type: ResourceType, opts: ListOptions = {}): Promise<ObjectList<T>> {
    this.lists.push({ at: this.#clock.now(), limit: opts.limit, continue: opts.continue });
    if (this.down) throw refused();
    const start = Number(opts.continue ?? 0);
    const end = opts.limit === undefined ? this.#objects.length : start + opts.limit;
    return {
      metadata: { resourceVersion: '100', ...(end < this.#objects.length ? { continue: String(end) } : {}) },
      items: this.#objects.slice(start, end).map((o) => structuredClone(o)) as T[],
    };
  }

  async watch<T extends KubeObject>(_type: ResourceType, opts: WatchOptions, _onEvent: (event: WatchEvent<T>) => void): Promise<void> {
    if (this.down) {
      this.watches.push({ startedAt: this.#clock.now(), resourceVersion: opts.resourceVersion, end: () => {} });
      throw refused();
    }
    return new Promise((resolve, reject) => {
      const end = (err?: unknown): void => (err === undefined ? resolve() : reject(err));
      this.watches.push({ startedAt: this.#clock.now(), resourceVersion: opts.resourceVersion, end });
      opts.signal?.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  /** The watch opened last, still open. */
  get openWatch(): OpenWatch {
    const last = this.watches.at(-1);
    if (!last) throw new Error('no watch was opened');
    return last;
  }
}
