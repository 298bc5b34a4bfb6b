/**
 * The files `flotilla apply` turns into a Bundle's `spec.resources`.
 *
 * A directory is read recursively in a fixed order (code-point order of the
 * relative paths, so the Bundle is the same on every machine). As with
 * `kubectl apply -f DIR`, only `.yaml`, `.yml` and `.json` files are
 * manifests; any other file (README.md, scripts) is ignored. Hidden files
 * and directories (a leading `.`: `.git`, `.github`) are skipped, as are
 * symbolic links to directories (no cycles); links to files are followed.
 * `flotilla.yaml` at the top of the directory holds the Bundle's settings
 * and is not a manifest.
 *
 * Each file is one resource, named by its path relative to the directory
 * (`app/deployment.yaml`), multi-document YAML included: the name then says
 * where a manifest came from, and the agent splits the documents itself. A
 * path that cannot be a resource name (spaces, `@`, …) is an error naming
 * the file, not a silently altered name.
 */
import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join, relative, sep } from 'node:path';
import { Limits } from '../api/constants.ts';
import { RESOURCE_NAME_MAX_LENGTH, RESOURCE_NAME_PATTERN } from '../api/patterns.ts';
import type { InputProblem } from './problems.ts';
import { MAX_TOTAL_BYTES, totalSizeProblem } from './size-limit.ts';

/** One manifest file, as it goes into the Bundle. */
export interface ManifestSource {
  /** The Bundle resource name. */
  readonly name: string;
  /** The file as messages name it. */
  readonly file: string;
  readonly content: string;
}

export const MANIFEST_EXTENSIONS: readonly string[] = ['.yaml', '.yml', '.json'];
/** The Bundle's settings (targets, options, …), at the top of the directory. */
export const SETTINGS_FILE = 'flotilla.yaml';
/** The names kustomize looks for, in its order. */
export const KUSTOMIZATION_FILES: readonly string[] = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
/** What `-f -` is called in the Bundle. */
export const STDIN_RESOURCE_NAME = 'stdin.yaml';

const resourceName = new RegExp(RESOURCE_NAME_PATTERN);

/** The kustomization file at the top of `dir`, if there is one. */
export async function findKustomization(dir: string): Promise<string | undefined> {
  for (const name of KUSTOMIZATION_FILES) {
    const path = join(dir, name);
    if (await isFile(path)) return path;
  }
  return undefined;
}

/** What was read, and what could not be. */
export interface ReadResult {
  sources: ManifestSource[];
  problems: InputProblem[];
}

/** Every manifest file under `dir`, and a problem for each unusable one. */
export async function readManifestDirectory(dir: string): Promise<ReadResult> {
  const problems: InputProblem[] = [];
  const files: string[] = [];
  await walk(dir, dir, files, problems);
  files.sort(compareCodePoints);
  // A directory far over the limit is refused from its files' sizes, before megabytes are read for nothing.
  const sizes = await Promise.all(files.map(async (path) => ({ name: relative(dir, path).split(sep).join('/'), bytes: await sizeOf(path) })));
  const onDisk = sizes.reduce((sum, s) => sum + s.bytes, 0);
  if (onDisk > MAX_TOTAL_BYTES) return { sources: [], problems: [...problems, totalSizeProblem(dir, onDisk, 'on disk', sizes)] };
  const sources: ManifestSource[] = [];
  for (const path of files) {
    const name = relative(dir, path).split(sep).join('/');
    const source = await readSource(path, name, problems);
    if (source) sources.push(source);
  }
  return { sources, problems };
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0; // reading it reports the problem
  }
}

/**
 * The `-f` files, in the order given, each named by its base name (`-` is
 * stdin). A directory is refused: it belongs in DIR, where flotilla.yaml
 * and kustomizations are understood.
 */
export async function readManifestFiles(paths: readonly string[], readStdin: () => Promise<string>): Promise<ReadResult> {
  const problems: InputProblem[] = [];
  const sources: ManifestSource[] = [];
  for (const path of paths) {
    if (path === '-') {
      sources.push({ name: STDIN_RESOURCE_NAME, file: '<stdin>', content: await readStdin() });
      continue;
    }
    let isDirectory = false;
    try {
      isDirectory = (await stat(path)).isDirectory();
    } catch (error) {
      problems.push({ file: path, message: `cannot read it (-f): ${reason(error)}` });
      continue;
    }
    if (isDirectory) {
      problems.push({ file: path, message: 'is a directory; pass it as DIR (flotilla apply NAME DIR), -f takes files' });
      continue;
    }
    const source = await readSource(path, basename(path), problems);
    if (source) sources.push(source);
  }
  return { sources, problems };
}

/** Problems when two sources would get the same resource name. */
export function duplicateNames(sources: readonly ManifestSource[]): InputProblem[] {
  const first = new Map<string, ManifestSource>();
  const problems: InputProblem[] = [];
  for (const source of sources) {
    const earlier = first.get(source.name);
    if (earlier === undefined) first.set(source.name, source);
    else {
      problems.push({
        file: source.file,
        message: `would be resource "${source.name}" of the Bundle, as ${earlier.file} already is; resource names must be unique (rename one of the files)`,
      });
    }
  }
  return problems;
}

async function walk(root: string, dir: string, files: string[], problems: InputProblem[]): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    problems.push({ file: dir, message: `cannot read the directory: ${reason(error)}` });
    return;
  }
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    let kind: 'file' | 'directory' | 'other' = entry.isFile() ? 'file' : entry.isDirectory() ? 'directory' : 'other';
    if (entry.isSymbolicLink()) {
      // A link to a directory could loop back on the tree; only files are followed.
      kind = (await isFile(path)) ? 'file' : 'other';
    }
    if (kind === 'directory') {
      const nested = await findKustomization(path);
      if (nested !== undefined) {
        problems.push({
          file: nested,
          message: `a kustomization in a subdirectory of ${root}; flotilla apply renders a kustomization only at the top of DIR: pass ${path} as DIR, or add a kustomization at the top that lists it`,
        });
        continue;
      }
      await walk(root, path, files, problems);
      continue;
    }
    if (kind !== 'file') continue;
    if (dir === root && entry.name === SETTINGS_FILE) continue;
    if (!MANIFEST_EXTENSIONS.includes(extname(entry.name))) continue;
    files.push(path);
  }
}

async function readSource(path: string, name: string, problems: InputProblem[]): Promise<ManifestSource | undefined> {
  if (name.length > RESOURCE_NAME_MAX_LENGTH || !resourceName.test(name)) {
    problems.push({
      file: path,
      message:
        `"${name}" cannot be a Bundle resource name: it must be a relative path of at most ${RESOURCE_NAME_MAX_LENGTH} characters ` +
        `whose parts are letters, digits, '-', '_' or '.', starting and ending with a letter or digit; rename the file`,
    });
    return undefined;
  }
  try {
    // Checked before reading, so a stray multi-gigabyte file is refused without being loaded.
    const { size } = await stat(path);
    if (size > Limits.resourceContentMaxLength) {
      problems.push({
        file: path,
        message: `takes ${size.toLocaleString('en-US')} bytes, over the limit of ${Limits.resourceContentMaxLength.toLocaleString('en-US')} bytes per manifest; split it, or keep large data (e.g. ConfigMap payloads) out of the manifests`,
      });
      return undefined;
    }
    return { name, file: path, content: await readFile(path, 'utf8') };
  } catch (error) {
    problems.push({ file: path, message: `cannot read it: ${reason(error)}` });
    return undefined;
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

function reason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'ENOTDIR') return 'not a directory (pass files with -f FILE)';
  return (error as Error).message;
}

/** Code-point order: the same on every machine, whatever its locale. */
export function compareCodePoints(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
