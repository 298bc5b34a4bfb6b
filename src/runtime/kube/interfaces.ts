import type { DeleteOptions, ListOptions, PatchContentType, WatchEvent, WatchOptions, WriteOptions } from './api-types.ts';
import type { KubeObject, ObjectList, ResourceType } from './resource.ts';

/**
 * The narrow views of the API client its consumers depend on, so that each
 * can be given an in-memory stand-in in unit tests. `KubeClient` implements
 * them all.
 */

/** What a reflector needs: LIST pages and WATCH streams. */
export interface ListerWatcher {
  /** The API server's URL, to name it when explaining a failure. */
  readonly server: string;
  list<T extends KubeObject>(type: ResourceType, opts?: ListOptions): Promise<ObjectList<T>>;
  /**
   * Calls `onEvent` for every event until the server ends the stream
   * (resolves) or it fails (rejects; an `ERROR` event is an ApiError
   * carrying the Status code, e.g. 410 Expired).
   */
  watch<T extends KubeObject>(type: ResourceType, opts: WatchOptions, onEvent: (event: WatchEvent<T>) => void): Promise<void>;
}

export interface ObjectReader {
  get<T extends KubeObject>(type: ResourceType, name: string, namespace?: string, opts?: { signal?: AbortSignal }): Promise<T>;
}

export interface ObjectWriter {
  create<T extends KubeObject>(type: ResourceType, obj: T, opts?: WriteOptions): Promise<T>;
  /** PUT with the object's resourceVersion: optimistic concurrency, 409 on a stale write. */
  update<T extends KubeObject>(type: ResourceType, obj: T, opts?: WriteOptions & { subresource?: 'status' }): Promise<T>;
  patch<T extends KubeObject>(
    type: ResourceType,
    name: string,
    namespace: string | undefined,
    patch: unknown,
    opts?: WriteOptions & { contentType?: PatchContentType; subresource?: 'status' },
  ): Promise<T>;
  /** Server-side apply with the writer's field manager. */
  apply<T extends KubeObject>(type: ResourceType, obj: T, opts?: WriteOptions & { force?: boolean; subresource?: 'status' }): Promise<T>;
  delete(type: ResourceType, name: string, namespace?: string, opts?: DeleteOptions): Promise<unknown>;
}

/** What leader election needs: read, create and conditionally update its Lease. */
export type LeaseClient = ObjectReader & Pick<ObjectWriter, 'create' | 'update'>;
