/**
 * An index of many compiled selectors and many label sets, partitioned by an
 * opaque string (a workspace: matching never crosses partitions), answering:
 *
 * - `selectorsMatching(p, labels)`: which selectors select this object;
 * - `labelSetsMatching(p, selector)`: which objects a selector selects;
 * - `selectorsChangedBetween(p, old, new)`: which selectors gain or lose the
 *   object when its labels change (the fan-out query of a Cluster relabel).
 *
 * Why inverted indexes (measured in bench/pool.ts): a full scan costs
 * ~0.1 µs per selector, which at 10,000 selectors is ~1 ms of main-thread
 * time per query. Selectors are therefore filed under one *anchor*, a
 * positive requirement an object must satisfy to match (`key=value` /
 * `key in (…)` first, `key exists` next); a query only evaluates the
 * selectors anchored on the object's own labels, plus the few that have no
 * positive requirement (only NotIn/DoesNotExist, or `{}`), which are scanned.
 * The change query uses a second index, key → selectors mentioning it: a
 * selector's result depends on its keys only, so just those mentioning a
 * changed key can flip. Label sets are indexed by key and by key=value so a
 * selector's positive requirement picks its candidates.
 *
 * Every query returns ids sorted, so answers are deterministic whatever the
 * insertion history (the pool compares main-thread and worker answers).
 * Each query also has a `cost*` twin returning how many selector evaluations
 * it would do, which the pool uses to decide inline vs offloaded.
 */
import { compileTrustedSelector, type CompiledSelector, type LabelSelector, type Labels } from './selector.ts';
import { addToSetMap, removeFromSetMap } from '../util/set-map.ts';

export interface SelectorEntry {
  readonly id: string;
  readonly partition: string;
  readonly selector: CompiledSelector;
}

export interface LabelSetEntry {
  readonly id: string;
  readonly partition: string;
  readonly labels: Labels;
}

/** Read-only queries; what a pool task function receives (worker replica or main-thread index alike). */
export interface SelectorIndexReader {
  readonly selectorCount: number;
  readonly labelSetCount: number;
  getSelector(id: string): SelectorEntry | undefined;
  getLabels(id: string): LabelSetEntry | undefined;
  partitions(): string[];
  selectorIds(partition: string): string[];
  labelSetIds(partition: string): string[];
  selectorsMatching(partition: string, labels: Labels): string[];
  labelSetsMatching(partition: string, selector: CompiledSelector): string[];
  selectorsChangedBetween(partition: string, oldLabels: Labels | null, newLabels: Labels | null): string[];
  costOfSelectorsMatching(partition: string, labels: Labels): number;
  costOfLabelSetsMatching(partition: string, selector: CompiledSelector): number;
  costOfSelectorsChangedBetween(partition: string, oldLabels: Labels | null, newLabels: Labels | null): number;
}

/** Plain-data dump of an index (structured-clone friendly): what a fresh worker replica boots from. */
export interface SelectorIndexDump {
  readonly selectors: ReadonlyArray<readonly [id: string, partition: string, selector: LabelSelector | null]>;
  readonly labelSets: ReadonlyArray<readonly [id: string, partition: string, labels: Labels]>;
}

type Anchor =
  | { readonly kind: 'eq'; readonly key: string; readonly values: readonly string[] }
  | { readonly kind: 'exists'; readonly key: string }
  | { readonly kind: 'scan' }
  | { readonly kind: 'never' };

type Posting<T> = Map<string, T>;

function addTo<T>(map: Map<string, Posting<T>>, key: string, id: string, value: T): void {
  let posting = map.get(key);
  if (!posting) map.set(key, (posting = new Map()));
  posting.set(id, value);
}

function removeFrom<T>(map: Map<string, Posting<T>>, key: string, id: string): void {
  const posting = map.get(key);
  if (!posting) return;
  posting.delete(id);
  if (posting.size === 0) map.delete(key);
}

function addTo2<T>(map: Map<string, Map<string, Posting<T>>>, key: string, value: string, id: string, item: T): void {
  let byValue = map.get(key);
  if (!byValue) map.set(key, (byValue = new Map()));
  addTo(byValue, value, id, item);
}

function removeFrom2<T>(map: Map<string, Map<string, Posting<T>>>, key: string, value: string, id: string): void {
  const byValue = map.get(key);
  if (!byValue) return;
  removeFrom(byValue, value, id);
  if (byValue.size === 0) map.delete(key);
}

function sizeOf2<T>(map: Map<string, Map<string, Posting<T>>>, key: string, value: string): number {
  return map.get(key)?.get(value)?.size ?? 0;
}

function addId2(map: Map<string, Map<string, Set<string>>>, key: string, value: string, id: string): void {
  let byValue = map.get(key);
  if (!byValue) map.set(key, (byValue = new Map()));
  addToSetMap(byValue, value, id);
}

function removeId2(map: Map<string, Map<string, Set<string>>>, key: string, value: string, id: string): void {
  const byValue = map.get(key);
  if (!byValue) return;
  removeFromSetMap(byValue, value, id);
  if (byValue.size === 0) map.delete(key);
}

function sortedIds(ids: string[]): string[] {
  return ids.sort();
}

/** One partition's selectors and label sets with their postings. */
class Partition {
  readonly selectors = new Map<string, CompiledSelector>();
  readonly anchors = new Map<string, Anchor>();
  /** Selectors anchored on `key=value` (`In`): key → value → id → selector. */
  readonly selByValue = new Map<string, Map<string, Posting<CompiledSelector>>>();
  /** Selectors anchored on `key` existing. */
  readonly selByExists = new Map<string, Posting<CompiledSelector>>();
  /** Selectors with no positive requirement: evaluated for every object. */
  readonly selScan: Posting<CompiledSelector> = new Map();
  /** key → selectors that mention it (any operator): the candidates when that key changes. */
  readonly selByKey = new Map<string, Posting<CompiledSelector>>();

  readonly labelSets = new Map<string, Labels>();
  // Label-set postings hold ids only (not the label objects, unlike selector postings): a
  // relabel then leaves unchanged keys untouched, which made label deltas ~2x cheaper
  // (measured), for one extra map lookup per candidate at query time.
  readonly lsByValue = new Map<string, Map<string, Set<string>>>();
  readonly lsByKey = new Map<string, Set<string>>();

  get empty(): boolean {
    return this.selectors.size === 0 && this.labelSets.size === 0;
  }

  /**
   * Picks the anchor that will be evaluated least often: an `In` with the
   * fewest values whose postings are currently smallest, else an `Exists`,
   * else scan. A selector that can never match (nothing) is not filed at all.
   */
  chooseAnchor(selector: CompiledSelector): Anchor {
    if (selector.kind === 'nothing') return { kind: 'never' };
    let best: Anchor = { kind: 'scan' };
    let bestScore = Infinity;
    for (const r of selector.requirements) {
      let score: number;
      if (r.operator === 'In') {
        score = r.values.length;
        for (const v of r.values) score += sizeOf2(this.selByValue, r.key, v);
      } else if (r.operator === 'Exists') {
        // An exists anchor is hit by every object carrying the key: prefer any In.
        score = 1_000_000 + (this.selByExists.get(r.key)?.size ?? 0);
      } else {
        continue;
      }
      if (score < bestScore) {
        bestScore = score;
        best = r.operator === 'In' ? { kind: 'eq', key: r.key, values: r.values } : { kind: 'exists', key: r.key };
      }
    }
    return best;
  }

  addSelector(id: string, selector: CompiledSelector): void {
    const anchor = this.chooseAnchor(selector);
    this.selectors.set(id, selector);
    this.anchors.set(id, anchor);
    switch (anchor.kind) {
      case 'eq':
        for (const v of anchor.values) addTo2(this.selByValue, anchor.key, v, id, selector);
        break;
      case 'exists':
        addTo(this.selByExists, anchor.key, id, selector);
        break;
      case 'scan':
        this.selScan.set(id, selector);
        break;
      case 'never':
        break;
    }
    for (const key of selector.keys) addTo(this.selByKey, key, id, selector);
  }

  removeSelector(id: string): void {
    const selector = this.selectors.get(id);
    const anchor = this.anchors.get(id);
    if (!selector || !anchor) return;
    switch (anchor.kind) {
      case 'eq':
        for (const v of anchor.values) removeFrom2(this.selByValue, anchor.key, v, id);
        break;
      case 'exists':
        removeFrom(this.selByExists, anchor.key, id);
        break;
      case 'scan':
        this.selScan.delete(id);
        break;
      case 'never':
        break;
    }
    for (const key of selector.keys) removeFrom(this.selByKey, key, id);
    this.selectors.delete(id);
    this.anchors.delete(id);
  }

  addLabels(id: string, labels: Labels): void {
    this.labelSets.set(id, labels);
    for (const key of Object.keys(labels)) {
      addId2(this.lsByValue, key, labels[key] as string, id);
      addToSetMap(this.lsByKey, key, id);
    }
  }

  /** Replaces a label set, touching only the postings of keys whose value changed. */
  replaceLabels(id: string, oldLabels: Labels, newLabels: Labels): void {
    this.labelSets.set(id, newLabels);
    for (const key of Object.keys(oldLabels)) {
      const oldValue = oldLabels[key] as string;
      const newValue = newLabels[key];
      if (newValue === oldValue) continue;
      removeId2(this.lsByValue, key, oldValue, id);
      if (typeof newValue === 'string') addId2(this.lsByValue, key, newValue, id);
      else removeFromSetMap(this.lsByKey, key, id);
    }
    for (const key of Object.keys(newLabels)) {
      if (typeof oldLabels[key] === 'string') continue;
      addId2(this.lsByValue, key, newLabels[key] as string, id);
      addToSetMap(this.lsByKey, key, id);
    }
  }

  removeLabels(id: string): void {
    const labels = this.labelSets.get(id);
    if (!labels) return;
    for (const key of Object.keys(labels)) {
      removeId2(this.lsByValue, key, labels[key] as string, id);
      removeFromSetMap(this.lsByKey, key, id);
    }
    this.labelSets.delete(id);
  }

  selectorsMatching(labels: Labels): string[] {
    const out: string[] = [];
    // forEach, not for-of over entries: no [id, selector] array per candidate (measurably faster at 10k).
    const visit = (sel: CompiledSelector, id: string) => {
      if (sel.matches(labels)) out.push(id);
    };
    for (const key of Object.keys(labels)) {
      this.selByValue.get(key)?.get(labels[key] as string)?.forEach(visit);
      this.selByExists.get(key)?.forEach(visit);
    }
    this.selScan.forEach(visit);
    // Each selector has exactly one anchor and an object one value per key, so no duplicates.
    return sortedIds(out);
  }

  costOfSelectorsMatching(labels: Labels): number {
    let cost = this.selScan.size;
    for (const key of Object.keys(labels)) {
      cost += sizeOf2(this.selByValue, key, labels[key] as string);
      cost += this.selByExists.get(key)?.size ?? 0;
    }
    return cost;
  }

  /** Candidate label sets for a selector: the smallest posting of one of its positive requirements. */
  #labelCandidates(selector: CompiledSelector): Set<string>[] | undefined {
    let best: Set<string>[] | undefined;
    let bestSize = Infinity;
    for (const r of selector.requirements) {
      let postings: Set<string>[];
      if (r.operator === 'In') {
        const byValue = this.lsByValue.get(r.key);
        postings = [];
        if (byValue) for (const v of r.values) { const p = byValue.get(v); if (p) postings.push(p); }
      } else if (r.operator === 'Exists') {
        const p = this.lsByKey.get(r.key);
        postings = p ? [p] : [];
      } else {
        continue;
      }
      let size = 0;
      for (const p of postings) size += p.size;
      if (size < bestSize) {
        bestSize = size;
        best = postings;
      }
    }
    return best;
  }

  labelSetsMatching(selector: CompiledSelector): string[] {
    if (selector.kind === 'nothing') return [];
    if (selector.kind === 'everything') return sortedIds([...this.labelSets.keys()]);
    const out: string[] = [];
    const candidates = this.#labelCandidates(selector);
    if (!candidates) {
      for (const [id, labels] of this.labelSets) if (selector.matches(labels)) out.push(id);
      return sortedIds(out);
    }
    // In-values are distinct and an object has one value per key: postings are disjoint.
    for (const posting of candidates) {
      for (const id of posting) if (selector.matches(this.labelSets.get(id) as Labels)) out.push(id);
    }
    return sortedIds(out);
  }

  costOfLabelSetsMatching(selector: CompiledSelector): number {
    if (selector.kind === 'nothing') return 0;
    if (selector.kind === 'everything') return this.labelSets.size;
    const candidates = this.#labelCandidates(selector);
    if (!candidates) return this.labelSets.size;
    let cost = 0;
    for (const p of candidates) cost += p.size;
    return cost;
  }

  /** Keys whose presence or value differs between the two label sets. */
  static changedKeys(oldLabels: Labels, newLabels: Labels): string[] {
    const changed: string[] = [];
    for (const key of Object.keys(oldLabels)) if (oldLabels[key] !== newLabels[key]) changed.push(key);
    for (const key of Object.keys(newLabels)) if (typeof oldLabels[key] !== 'string') changed.push(key);
    return changed;
  }

  selectorsChangedBetween(oldLabels: Labels, newLabels: Labels): string[] {
    const changed = Partition.changedKeys(oldLabels, newLabels);
    const out: string[] = [];
    // A selector mentioning several changed keys is a candidate once per key: de-duplicate then.
    const seen = changed.length > 1 ? new Set<string>() : undefined;
    const visit = (sel: CompiledSelector, id: string) => {
      if (seen) {
        if (seen.has(id)) return;
        seen.add(id);
      }
      if (sel.matches(oldLabels) !== sel.matches(newLabels)) out.push(id);
    };
    for (const key of changed) this.selByKey.get(key)?.forEach(visit);
    return sortedIds(out);
  }

  costOfSelectorsChangedBetween(oldLabels: Labels, newLabels: Labels): number {
    let cost = 0;
    // Upper bound (a selector on two changed keys counts twice); each candidate is evaluated twice.
    for (const key of Partition.changedKeys(oldLabels, newLabels)) cost += 2 * (this.selByKey.get(key)?.size ?? 0);
    return cost;
  }
}

function sameLabels(a: Labels, b: Labels): boolean {
  const ak = Object.keys(a);
  if (ak.length !== Object.keys(b).length) return false;
  for (const k of ak) if (a[k] !== b[k]) return false;
  return true;
}

/** Copies and checks a label map: the index must not see later mutation by the caller, nor non-string values. */
function ownLabels(labels: Labels): Labels {
  const copy: Record<string, string> = {};
  for (const key of Object.keys(labels)) {
    const value = labels[key];
    if (typeof value !== 'string') throw new TypeError(`label ${JSON.stringify(key)} has a non-string value`);
    copy[key] = value;
  }
  return Object.freeze(copy);
}

export class SelectorIndex implements SelectorIndexReader {
  readonly #partitions = new Map<string, Partition>();
  readonly #selectors = new Map<string, SelectorEntry>();
  readonly #labelSets = new Map<string, LabelSetEntry>();

  get selectorCount(): number {
    return this.#selectors.size;
  }

  get labelSetCount(): number {
    return this.#labelSets.size;
  }

  #partition(name: string): Partition {
    let p = this.#partitions.get(name);
    if (!p) this.#partitions.set(name, (p = new Partition()));
    return p;
  }

  #dropIfEmpty(name: string): void {
    if (this.#partitions.get(name)?.empty) this.#partitions.delete(name);
  }

  /**
   * Adds or replaces a selector. Returns false (and changes nothing) when the
   * id already holds an equal selector in the same partition, so callers can
   * skip broadcasting no-op updates.
   */
  upsertSelector(id: string, partition: string, selector: CompiledSelector): boolean {
    const prev = this.#selectors.get(id);
    if (prev && prev.partition === partition && prev.selector.canonical === selector.canonical) return false;
    if (prev) this.removeSelector(id);
    this.#partition(partition).addSelector(id, selector);
    this.#selectors.set(id, { id, partition, selector });
    return true;
  }

  removeSelector(id: string): boolean {
    const prev = this.#selectors.get(id);
    if (!prev) return false;
    this.#partitions.get(prev.partition)?.removeSelector(id);
    this.#selectors.delete(id);
    this.#dropIfEmpty(prev.partition);
    return true;
  }

  /** Adds or replaces a label set; false when unchanged. The map is copied. */
  upsertLabels(id: string, partition: string, labels: Labels): boolean {
    const prev = this.#labelSets.get(id);
    if (prev && prev.partition === partition && sameLabels(prev.labels, labels)) return false;
    const own = ownLabels(labels);
    if (prev && prev.partition === partition) {
      this.#partition(partition).replaceLabels(id, prev.labels, own);
    } else {
      if (prev) this.removeLabels(id);
      this.#partition(partition).addLabels(id, own);
    }
    this.#labelSets.set(id, { id, partition, labels: own });
    return true;
  }

  removeLabels(id: string): boolean {
    const prev = this.#labelSets.get(id);
    if (!prev) return false;
    this.#partitions.get(prev.partition)?.removeLabels(id);
    this.#labelSets.delete(id);
    this.#dropIfEmpty(prev.partition);
    return true;
  }

  getSelector(id: string): SelectorEntry | undefined {
    return this.#selectors.get(id);
  }

  getLabels(id: string): LabelSetEntry | undefined {
    return this.#labelSets.get(id);
  }

  partitions(): string[] {
    return [...this.#partitions.keys()].sort();
  }

  selectorIds(partition: string): string[] {
    return sortedIds([...(this.#partitions.get(partition)?.selectors.keys() ?? [])]);
  }

  labelSetIds(partition: string): string[] {
    return sortedIds([...(this.#partitions.get(partition)?.labelSets.keys() ?? [])]);
  }

  selectorsMatching(partition: string, labels: Labels): string[] {
    return this.#partitions.get(partition)?.selectorsMatching(labels) ?? [];
  }

  costOfSelectorsMatching(partition: string, labels: Labels): number {
    return this.#partitions.get(partition)?.costOfSelectorsMatching(labels) ?? 0;
  }

  labelSetsMatching(partition: string, selector: CompiledSelector): string[] {
    return this.#partitions.get(partition)?.labelSetsMatching(selector) ?? [];
  }

  costOfLabelSetsMatching(partition: string, selector: CompiledSelector): number {
    return this.#partitions.get(partition)?.costOfLabelSetsMatching(selector) ?? 0;
  }

  /**
   * Selectors whose result differs between `oldLabels` and `newLabels`.
   * `null` means the object is absent (created: old is null; deleted: new is
   * null), which no selector matches, so the answer is then every selector
   * matching the side that exists.
   */
  selectorsChangedBetween(partition: string, oldLabels: Labels | null, newLabels: Labels | null): string[] {
    const p = this.#partitions.get(partition);
    if (!p) return [];
    if (oldLabels === null) return newLabels === null ? [] : p.selectorsMatching(newLabels);
    if (newLabels === null) return p.selectorsMatching(oldLabels);
    return p.selectorsChangedBetween(oldLabels, newLabels);
  }

  costOfSelectorsChangedBetween(partition: string, oldLabels: Labels | null, newLabels: Labels | null): number {
    const p = this.#partitions.get(partition);
    if (!p) return 0;
    if (oldLabels === null) return newLabels === null ? 0 : p.costOfSelectorsMatching(newLabels);
    if (newLabels === null) return p.costOfSelectorsMatching(oldLabels);
    return p.costOfSelectorsChangedBetween(oldLabels, newLabels);
  }

  selectorEntries(): IterableIterator<SelectorEntry> {
    return this.#selectors.values();
  }

  labelSetEntries(): IterableIterator<LabelSetEntry> {
    return this.#labelSets.values();
  }

  /** Everything as plain data; `SelectorIndex.fromDump` rebuilds an index answering identically. */
  dump(): SelectorIndexDump {
    const selectors: [string, string, LabelSelector | null][] = [];
    for (const e of this.#selectors.values()) selectors.push([e.id, e.partition, e.selector.toLabelSelector()]);
    const labelSets: [string, string, Labels][] = [];
    for (const e of this.#labelSets.values()) labelSets.push([e.id, e.partition, e.labels]);
    return { selectors, labelSets };
  }

  /** Rebuilds from a dump. Selectors in a dump were validated when first added, so they are not re-validated. */
  static fromDump(dump: SelectorIndexDump): SelectorIndex {
    const index = new SelectorIndex();
    for (const [id, partition, selector] of dump.selectors) index.upsertSelector(id, partition, compileTrustedSelector(selector));
    for (const [id, partition, labels] of dump.labelSets) index.upsertLabels(id, partition, labels);
    return index;
  }
}
