/**
 * Drift: does the live object still carry what we applied? Only the fields
 * present in the desired object count (the API server and controllers add
 * defaults and status that nobody asked us to police, and other field
 * managers may own other fields). Of metadata only labels and annotations
 * are compared; `status`, `apiVersion` and `kind` are not.
 *
 * Maps are compared key by key, recursively. Lists of objects that all have
 * a `name` are matched by name (containers, env, ports, volumes: the API's
 * own merge keys; extra live elements, e.g. an injected sidecar, are not
 * drift); other lists of objects by position, extra live elements ignored;
 * lists of scalars must be equal.
 *
 * Canonicalisations the API server performs on write, so that a freshly
 * applied object never reports drift:
 * - a number and a string spelling the same number are equal (int-or-string
 *   fields such as `targetPort: 80` vs `"80"`, YAML-typed annotation values);
 * - resource quantities compare by value: `1000m` = `1`, `1024Mi` = `1Gi`,
 *   `0.5` = `500m`, `1e3` = `1k` (when both sides read as quantities);
 * - a desired `null`, empty map or empty list matches an absent field (the
 *   API drops them);
 * - Secret `stringData` is compared with the base64-decoded `data` the API
 *   stores it as.
 * Not handled (may be reported): other defaulting that rewrites a value we
 * set, e.g. an image reference the API does not touch but an admission
 * webhook rewrites; such a rewrite is drift from our point of view.
 */
import type { KubeObject } from '../../runtime/kube/resource.ts';

export function driftedFields(desired: KubeObject, live: KubeObject): string[] {
  const paths: string[] = [];
  for (const [key, want] of Object.entries(desired)) {
    if (key === 'apiVersion' || key === 'kind' || key === 'status') continue;
    if (key === 'metadata') {
      const liveMeta = live.metadata ?? {};
      for (const field of ['labels', 'annotations'] as const) {
        compare(desired.metadata[field], liveMeta[field], `metadata.${field}`, paths);
      }
      continue;
    }
    if (key === 'stringData' && desired.kind === 'Secret' && isRecord(want)) {
      compareStringData(want, live.data, paths);
      continue;
    }
    compare(want, live[key], pathKey('', key), paths);
  }
  return paths;
}

function compare(want: unknown, have: unknown, path: string, out: string[]): void {
  if (isAbsent(want)) return;
  if (isRecord(want)) {
    if (have === undefined || have === null) {
      // Missing altogether: drift only if something inside it was asked for
      // (a map of nulls and empties is what the API stores as nothing).
      const inner: string[] = [];
      for (const [key, value] of Object.entries(want)) compare(value, undefined, pathKey(path, key), inner);
      if (inner.length > 0) out.push(path);
      return;
    }
    if (!isRecord(have)) {
      out.push(path);
      return;
    }
    for (const [key, value] of Object.entries(want)) compare(value, have[key], pathKey(path, key), out);
    return;
  }
  if (Array.isArray(want)) {
    if (!Array.isArray(have)) {
      out.push(path);
      return;
    }
    compareList(want, have, path, out);
    return;
  }
  if (!scalarEqual(want, have)) out.push(path);
}

function compareList(want: unknown[], have: unknown[], path: string, out: string[]): void {
  const byName = want.every((e) => isRecord(e) && typeof e.name === 'string');
  if (byName) {
    for (const element of want as Array<Record<string, unknown>>) {
      const name = element.name as string;
      const match = have.find((h) => isRecord(h) && h.name === name);
      compare(element, match, `${path}[name=${name}]`, out);
    }
    return;
  }
  if (want.some((e) => isRecord(e) || Array.isArray(e))) {
    want.forEach((element, i) => compare(element, have[i], `${path}[${i}]`, out));
    return;
  }
  if (want.length !== have.length || want.some((element, i) => !scalarEqual(element, have[i]))) out.push(path);
}

function compareStringData(want: Record<string, unknown>, liveData: unknown, out: string[]): void {
  const data = isRecord(liveData) ? liveData : {};
  for (const [key, value] of Object.entries(want)) {
    if (isAbsent(value)) continue;
    const stored = data[key];
    const decoded = typeof stored === 'string' ? Buffer.from(stored, 'base64').toString('utf8') : undefined;
    if (decoded !== String(value)) out.push(pathKey('stringData', key));
  }
}

function isAbsent(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (Array.isArray(value)) return value.length === 0;
  return isRecord(value) && Object.keys(value).length === 0;
}

function scalarEqual(want: unknown, have: unknown): boolean {
  if (want === have) return true;
  if (have === undefined || have === null) return false;
  const bothSimple = (v: unknown) => typeof v === 'string' || typeof v === 'number';
  if (!bothSimple(want) || !bothSimple(have)) return false;
  if (String(want) === String(have)) return true;
  // Two plain decimals that differ as text ("1.10" vs "1.1") are not a
  // canonicalisation the API performs; only suffixed/exponent forms are.
  if (!hasQuantitySuffix(want) && !hasQuantitySuffix(have)) return false;
  const a = quantityValue(want);
  const b = quantityValue(have);
  if (a === undefined || b === undefined) return false;
  return a === b || Math.abs(a - b) <= Math.abs(a) * 1e-12;
}

const decimalSuffixes: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const binarySuffixes: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?$/;

/** The value of a Kubernetes resource quantity (`500m`, `1Gi`, `1e3`), or undefined if it is not one. */
export function quantityValue(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const m = QUANTITY.exec(value.trim());
  if (!m) return undefined;
  const base = Number(m[1]);
  if (m[2]) return base * 10 ** Number(m[2].slice(1));
  const suffix = m[3] ?? '';
  const factor = binarySuffixes[suffix] ?? decimalSuffixes[suffix];
  return factor === undefined ? undefined : base * factor;
}

function hasQuantitySuffix(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const m = QUANTITY.exec(value.trim());
  return m !== null && (m[2] !== undefined || m[3] !== undefined);
}

/** `a.b`, or `a["x.y/z"]` for keys that would read ambiguously. */
function pathKey(parent: string, key: string): string {
  if (/^[A-Za-z0-9_-]+$/.test(key)) return parent === '' ? key : `${parent}.${key}`;
  return `${parent}[${JSON.stringify(key)}]`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
