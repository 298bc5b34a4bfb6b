import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A temporary directory holding `files` (path → text, or `{ link }` for a symbolic link); removed by `cleanup`. */
export function makeTree(files: Record<string, string | { link: string }>): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-apply-'));
  for (const [path, content] of Object.entries(files)) {
    const full = join(dir, path);
    mkdirSync(dirname(full), { recursive: true });
    if (typeof content === 'string') writeFileSync(full, content);
    else symlinkSync(content.link, full);
  }
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function configMap(name: string, extra = ''): string {
  return `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n${extra}`;
}
