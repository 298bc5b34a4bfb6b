/**
 * Keyed plain-data records replicated to the pool's workers next to the
 * selector index, in tables (e.g. `cluster`, `bd`) and partitions (e.g. a
 * workspace, a Bundle): the facts a `module` task reads instead of having
 * them shipped with every task (docs/architecture.md#worker-pool). The main
 * thread's delta log owns the authoritative store; replicas apply the same
 * deltas through `applyDelta` (index-delta.ts).
 *
 * Values must be plain data (structured-clone friendly) and are compared
 * structurally: an upsert of an equal value is a no-op and costs no delta.
 */

/** Read access for task functions (the main thread's store, or a worker's replica). */
export interface RecordReader {
  get(table: string, key: string): unknown;
  /** The records of `partition` in `table`, as key → value (insertion order). Empty when none. */
  inPartition(table: string, partition: string): ReadonlyMap<string, unknown>;
  size(table: string): number;
}

/** Plain-data dump: `[table, key, partition, value]` rows. */
export type RecordDump = ReadonlyArray<readonly [string, string, string, unknown]>;

interface Row {
  readonly partition: string;
  readonly value: unknown;
}

/** Structural equality of plain data (objects by own keys in any order, arrays in order). */
export function plainEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const y = b as unknown[];
    return a.length === y.length && a.every((v, i) => plainEqual(v, y[i]));
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  const keys = Object.keys(x);
  if (keys.length !== Object.keys(y).length) return false;
  for (const k of keys) if (!Object.hasOwn(y, k) || !plainEqual(x[k], y[k])) return false;
  return true;
}

const EMPTY: ReadonlyMap<string, unknown> = new Map();

export class RecordStore implements RecordReader {
  readonly #rows = new Map<string, Map<string, Row>>();
  readonly #partitions = new Map<string, Map<string, Map<string, unknown>>>();

  get(table: string, key: string): unknown {
    return this.#rows.get(table)?.get(key)?.value;
  }

  inPartition(table: string, partition: string): ReadonlyMap<string, unknown> {
    return this.#partitions.get(table)?.get(partition) ?? EMPTY;
  }

  size(table: string): number {
    return this.#rows.get(table)?.size ?? 0;
  }

  /** Total records over all tables. */
  get count(): number {
    let n = 0;
    for (const rows of this.#rows.values()) n += rows.size;
    return n;
  }

  /** False when the record already holds an equal value in the same partition. */
  upsert(table: string, key: string, partition: string, value: unknown): boolean {
    let rows = this.#rows.get(table);
    if (!rows) this.#rows.set(table, (rows = new Map()));
    const old = rows.get(key);
    if (old && old.partition === partition && plainEqual(old.value, value)) return false;
    if (old && old.partition !== partition) this.#partitionOf(table, old.partition)?.delete(key);
    rows.set(key, { partition, value });
    let parts = this.#partitions.get(table);
    if (!parts) this.#partitions.set(table, (parts = new Map()));
    let members = parts.get(partition);
    if (!members) parts.set(partition, (members = new Map()));
    members.set(key, value);
    return true;
  }

  remove(table: string, key: string): boolean {
    const rows = this.#rows.get(table);
    const old = rows?.get(key);
    if (!rows || !old) return false;
    rows.delete(key);
    const members = this.#partitionOf(table, old.partition);
    members?.delete(key);
    if (members?.size === 0) this.#partitions.get(table)?.delete(old.partition);
    return true;
  }

  dump(): RecordDump {
    const out: [string, string, string, unknown][] = [];
    for (const [table, rows] of this.#rows) for (const [key, row] of rows) out.push([table, key, row.partition, row.value]);
    return out;
  }

  static fromDump(dump: RecordDump): RecordStore {
    const store = new RecordStore();
    for (const [table, key, partition, value] of dump) store.upsert(table, key, partition, value);
    return store;
  }

  #partitionOf(table: string, partition: string): Map<string, unknown> | undefined {
    return this.#partitions.get(table)?.get(partition);
  }
}
