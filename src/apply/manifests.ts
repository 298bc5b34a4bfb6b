/**
 * Checks each manifest file the way the controller will read it
 * (`placement/manifests.ts`: YAML 1.2 stream or JSON, duplicate keys
 * rejected, every document an object with apiVersion, kind and
 * metadata.name), so a mistake is reported here with its file and line
 * instead of later as a Bundle condition.
 */
import { parseManifests } from '../placement/manifests.ts';
import type { InputProblem } from './problems.ts';
import type { ManifestSource } from './sources.ts';

export interface CheckedManifests {
  /** The sources that hold at least one object. */
  readonly sources: readonly ManifestSource[];
  readonly problems: readonly InputProblem[];
  /** Objects declared, over all sources. */
  readonly objects: number;
}

/**
 * Files that are empty or hold only comments are left out, as kubectl
 * ignores them: the Bundle would refuse a resource that declares nothing.
 */
export function checkManifests(sources: readonly ManifestSource[]): CheckedManifests {
  const kept: ManifestSource[] = [];
  const problems: InputProblem[] = [];
  let objects = 0;
  for (const source of sources) {
    const parsed = parseManifests(source.content);
    for (const error of parsed.errors) {
      // The line is in the prefix already; the parser repeats it in its message.
      const message = error.message.replace(/ at line \d+, column \d+:?$/, '');
      problems.push({ file: source.file, line: error.line, message: `document ${error.document}: ${message}` });
    }
    objects += parsed.manifests.length;
    if (parsed.manifests.length > 0 || parsed.errors.length > 0) kept.push(source);
  }
  return { sources: kept, problems, objects };
}
