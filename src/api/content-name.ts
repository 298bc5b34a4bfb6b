/**
 * Content addressing. A Content's name is derived from exactly the bytes the
 * agent will apply, so equal resources share one Content and any change of
 * a name, a manifest or their order yields a new one.
 *
 * Encoding (version 1), hashed with SHA-256:
 *   "flotilla.dev/content/v1\n"
 *   then for each resource, in list order:
 *     u32be(byteLength(name))    name    as UTF-8
 *     u32be(byteLength(content)) content as UTF-8
 * Length prefixes make the encoding unambiguous (no separator can be forged
 * by the text itself) and language-neutral, unlike JSON whose escaping
 * differs between serializers. Order is significant on purpose: the agent
 * applies resources in list order, so two Bundles listing the same manifests
 * in a different order must not share one Content (and so one order).
 */
import { createHash } from 'node:crypto';
import type { BundleResource } from './bundle-resource.ts';
import { CONTENT_NAME_PREFIX } from './patterns.ts';

const ENCODING_TAG = 'flotilla.dev/content/v1\n';

/** Lower-case hex SHA-256 of `resources` (the Content's `spec.sha256`). */
export function contentDigest(resources: readonly Pick<BundleResource, 'name' | 'content'>[]): string {
  const hash = createHash('sha256');
  hash.update(ENCODING_TAG, 'utf8');
  for (const resource of resources) {
    updateWithField(hash, resource.name);
    updateWithField(hash, resource.content);
  }
  return hash.digest('hex');
}

/** The Content name for `resources`: `s-` followed by `contentDigest(resources)`. */
export function contentNameFor(resources: readonly Pick<BundleResource, 'name' | 'content'>[]): string {
  return CONTENT_NAME_PREFIX + contentDigest(resources);
}

function updateWithField(hash: ReturnType<typeof createHash>, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  const length = Buffer.allocUnsafe(4);
  length.writeUInt32BE(bytes.byteLength, 0);
  hash.update(length);
  hash.update(bytes);
}
