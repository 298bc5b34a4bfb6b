/**
 * Where the package's own files are, whether this module runs from the
 * source tree (`src/cli/paths.ts`) or compiled (`dist/src/cli/paths.js`, as
 * in the container image): the nearest directory above it with Flotilla's
 * package.json.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'flotilla') return (root = dir);
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find Flotilla's package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

/** A path inside the package, e.g. `packagePath('config/flotilla.yaml')`. */
export function packagePath(relative: string): string {
  return resolve(packageRoot(), relative);
}

export function packageVersion(): string {
  return (JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string }).version;
}
