/**
 * Deployment IDs: `<contentName>:<hash of options>`. The ID changes exactly
 * when the manifests or the options change, which is what tells the agent to
 * re-apply, and what lets status compare "applied" with "desired" cheaply.
 */
import { createHash } from 'node:crypto';
import type { DeploymentOptions } from './deployment-options.ts';

/**
 * The deployment ID for `contentName` with `options`. Options are hashed as
 * canonical JSON (keys sorted, `undefined` members dropped), so key order and
 * absent-vs-undefined do not change the ID. An empty options object and no
 * options at all give the same ID.
 */
export function deploymentIDFor(contentName: string, options: DeploymentOptions | undefined): string {
  return `${contentName}:${optionsDigest(canonicalJson(options ?? {}))}`;
}

/**
 * Digests by canonical options: every Bundle reconcile builds a desired
 * BundleDeployment per targeted Cluster, all with the same options, and a
 * SHA-256 each is measurable CPU in a fan-out. Few distinct option sets
 * exist; bounded anyway (insertion order evicts).
 */
const digests = new Map<string, string>();
const DIGESTS_SIZE = 4096;
/** Large options (inline Helm values) are hashed each time rather than kept as keys. */
const MEMO_MAX_KEY_LENGTH = 1024;

function optionsDigest(canonical: string): string {
  const known = digests.get(canonical);
  if (known !== undefined) return known;
  const digest = createHash('sha256').update(canonical, 'utf8').digest('hex');
  if (canonical.length > MEMO_MAX_KEY_LENGTH) return digest;
  if (digests.size >= DIGESTS_SIZE) digests.delete(digests.keys().next().value!);
  digests.set(canonical, digest);
  return digest;
}

/** JSON with object keys sorted recursively; `undefined` object members are omitted. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, member]) => member !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`).join(',')}}`;
}
