/**
 * Writes the CRD manifests under config/crd from the TypeBox schemas in
 * src/api. Run: `node scripts/generate-crds.ts` (npm run generate).
 * `--check` writes nothing and exits 1 when a committed file is stale.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderCrdFiles } from '../src/api/crds.ts';

export { buildCrds, renderCrdFiles } from '../src/api/crds.ts';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

async function main(argv: readonly string[]): Promise<number> {
  const checkOnly = argv.includes('--check');
  const stale: string[] = [];
  for (const file of renderCrdFiles()) {
    const target = join(REPO_ROOT, file.path);
    const current = await readFile(target, 'utf8').catch(() => undefined);
    if (current === file.text) {
      continue;
    }
    stale.push(file.path);
    if (!checkOnly) {
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, file.text);
    }
  }
  if (checkOnly && stale.length > 0) {
    process.stderr.write(`stale generated files (run npm run generate):\n  ${stale.join('\n  ')}\n`);
    return 1;
  }
  process.stdout.write(stale.length === 0 ? 'CRDs up to date\n' : `wrote ${stale.join(', ')}\n`);
  return 0;
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
