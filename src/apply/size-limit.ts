/**
 * The size check made before anything is sent. A Bundle's manifests are
 * stored twice, in the Bundle and in its Content, each an etcd object of at
 * most 1.5 MiB (`--max-request-bytes`), so all manifests of one Bundle get
 * `Limits.resourcesMaxTotalSize` (1.25 MiB) and each one
 * `Limits.resourceContentMaxLength` (1 MiB). The total is measured as the
 * controller measures it, as stored (the JSON of `spec.resources`, escaping
 * included), which is never less than the UTF-8 bytes the admission policy
 * counts: a Bundle that passes here passes both.
 */
import { Limits } from '../api/constants.ts';
import { encodedResourcesSize } from '../placement/bundle-validation.ts';
import type { InputProblem } from './problems.ts';
import type { ManifestSource } from './sources.ts';

export const MAX_TOTAL_BYTES: number = Limits.resourcesMaxTotalSize;
export const MAX_MANIFEST_BYTES: number = Limits.resourceContentMaxLength;
export const MAX_RESOURCES: number = Limits.resourcesMaxItems;

const HOW_TO_FIX = 'split it into several Bundles (one directory each), or keep large data (e.g. ConfigMap payloads) out of the manifests';

/** Problems with the count and size of `sources`; `origin` names the input as a whole (DIR, or the -f files). */
export function sizeProblems(sources: readonly ManifestSource[], origin: string): InputProblem[] {
  const problems: InputProblem[] = [];
  for (const source of sources) {
    const bytes = Buffer.byteLength(source.content, 'utf8');
    if (bytes > MAX_MANIFEST_BYTES) {
      problems.push({ file: source.file, message: `takes ${formatBytes(bytes)} (UTF-8), over the limit of ${formatBytes(MAX_MANIFEST_BYTES)} per manifest; split it, or keep large data out of the manifests` });
    }
  }
  if (sources.length > MAX_RESOURCES) {
    problems.push({ file: origin, message: `${sources.length} manifest files, more than the ${MAX_RESOURCES} one Bundle holds; ${HOW_TO_FIX}` });
  }
  const total = encodedResourcesSize(sources.map(({ name, content }) => ({ name, content })));
  if (total > MAX_TOTAL_BYTES) {
    const sizes = sources.map((s) => ({ name: s.name, bytes: encodedResourcesSize({ name: s.name, content: s.content }) }));
    problems.push(totalSizeProblem(origin, total, 'as stored in the Bundle', sizes));
  }
  return problems;
}

/** The whole input is over MAX_TOTAL_BYTES: its size (`measured` says how), the limit, and the largest parts. */
export function totalSizeProblem(origin: string, total: number, measured: string, sizes: readonly { name: string; bytes: number }[]): InputProblem {
  const largest = [...sizes]
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, 3)
    .map((s) => `${s.name} (${formatBytes(s.bytes)})`);
  return {
    file: origin,
    message:
      `the manifests take ${formatBytes(total)} ${measured}, over the limit of ${formatBytes(MAX_TOTAL_BYTES)} ` +
      `for all manifests of one Bundle (etcd stores objects of at most 1.5 MiB, and the manifests are stored twice: in the Bundle and in its Content); ` +
      `largest: ${largest.join(', ')}; ${HOW_TO_FIX}`,
  };
}

export function formatBytes(bytes: number): string {
  return `${bytes.toLocaleString('en-US')} bytes`;
}
