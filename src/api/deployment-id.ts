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
  const digest = createHash('sha256')
    .update(canonicalJson(options ?? {}), 'utf8')
    .digest('hex');
  return `${contentName}:${digest}`;
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
