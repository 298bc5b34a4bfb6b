/**
 * A directory with a kustomization is rendered by the real `kubectl
 * kustomize`, so the Bundle holds exactly what `kubectl apply -k DIR` would
 * apply: no second kustomize implementation to drift from the first.
 *
 * The rendered stream has no file names, so each object becomes one
 * resource named after what it is: `[NAMESPACE/]KIND[.GROUP]/NAME.yaml`
 * (`web/deployment.apps/nginx.yaml`, `namespace/web.yaml`), the way
 * `kubectl get` spells a resource; a change to one object then shows up as
 * a change to one resource.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { stringify } from 'yaml';
import { RESOURCE_NAME_MAX_LENGTH } from '../api/patterns.ts';
import { parseManifests, type Manifest } from '../placement/manifests.ts';
import { InputError, type InputProblem } from './problems.ts';
import type { ManifestSource } from './sources.ts';

export const KUBECTL_ENV = 'FLOTILLA_KUBECTL';

export interface KubectlLocation {
  path: string;
  /** How it was chosen, for messages: `--kubectl`, `FLOTILLA_KUBECTL` or `PATH`. */
  via: string;
}

/** `--kubectl`, else `$FLOTILLA_KUBECTL`, else `kubectl` on PATH; undefined when PATH has none. */
export function findKubectl(flag: string | undefined, env: NodeJS.ProcessEnv): KubectlLocation | undefined {
  if (flag !== undefined && flag !== '') return { path: flag, via: '--kubectl' };
  const fromEnv = env[KUBECTL_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return { path: fromEnv, via: KUBECTL_ENV };
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '' || !isAbsolute(dir)) continue;
    const candidate = join(dir, 'kubectl');
    if (isExecutableFile(candidate)) return { path: candidate, via: 'PATH' };
  }
  return undefined;
}

/** Runs `kubectl kustomize DIR` and returns one source per rendered object. */
export async function renderKustomization(dir: string, kustomizationFile: string, kubectl: KubectlLocation | undefined): Promise<ManifestSource[]> {
  if (kubectl === undefined) {
    throw new InputError([
      {
        file: kustomizationFile,
        message: `rendering a kustomization needs kubectl (kubectl kustomize), and there is no kubectl on PATH; install kubectl, or pass --kubectl PATH (or set ${KUBECTL_ENV})`,
      },
    ]);
  }
  const output = await runKustomize(dir, kustomizationFile, kubectl);
  return splitRendered(output, `kubectl kustomize ${dir}`);
}

/** One source per object of a rendered stream; `origin` names the stream in messages. */
export function splitRendered(output: string, origin: string): ManifestSource[] {
  const parsed = parseManifests(output);
  if (parsed.errors.length > 0) {
    throw new InputError(parsed.errors.map((e): InputProblem => ({ file: origin, line: e.line, message: `document ${e.document}: ${e.message}` })));
  }
  const used = new Set<string>();
  return parsed.manifests.map((manifest) => {
    const name = uniqueName(renderedResourceName(manifest), used);
    return { name, file: `${origin} (document ${manifest.document}, ${describeObject(manifest)})`, content: stringify(manifest.object, { lineWidth: 0 }) };
  });
}

/** `[NAMESPACE/]KIND[.GROUP]/NAME.yaml`, each part reduced to what a resource name allows. */
export function renderedResourceName(manifest: Pick<Manifest, 'apiVersion' | 'kind' | 'name' | 'namespace'>): string {
  const slash = manifest.apiVersion.lastIndexOf('/');
  const group = slash === -1 ? '' : manifest.apiVersion.slice(0, slash);
  const kind = group === '' ? manifest.kind.toLowerCase() : `${manifest.kind.toLowerCase()}.${group}`;
  const parts = [...(manifest.namespace === undefined ? [] : [manifest.namespace]), kind];
  const name = [...parts, `${manifest.name}.yaml`].map(safeSegment).join('/');
  if (name.length <= RESOURCE_NAME_MAX_LENGTH) return name;
  // Only absurdly long names get here; a digest keeps them distinct.
  const digest = createHash('sha256').update(`${manifest.apiVersion}/${manifest.kind}/${manifest.namespace ?? ''}/${manifest.name}`).digest('hex').slice(0, 16);
  return [...parts.map(safeSegment), `${safeSegment(manifest.name).slice(0, 64)}-${digest}.yaml`].join('/').slice(-RESOURCE_NAME_MAX_LENGTH).replace(/^[^A-Za-z0-9]+/, '');
}

function describeObject(manifest: Manifest): string {
  return `${manifest.kind} ${manifest.namespace === undefined ? '' : `${manifest.namespace}/`}${manifest.name}`;
}

/** Letters, digits, '-', '_', '.'; starting and ending with a letter or digit (e.g. `system:auth` → `system-auth`). */
function safeSegment(segment: string): string {
  const cleaned = segment.replace(/[^-A-Za-z0-9_.]/g, '-').replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return cleaned === '' ? 'x' : cleaned;
}

function uniqueName(name: string, used: Set<string>): string {
  let candidate = name;
  for (let n = 2; used.has(candidate); n++) candidate = name.replace(/\.yaml$/, `-${n}.yaml`);
  used.add(candidate);
  return candidate;
}

function runKustomize(dir: string, kustomizationFile: string, kubectl: KubectlLocation): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      kubectl.path,
      ['kustomize', dir],
      { maxBuffer: 256 * 1024 * 1024, timeout: 120_000, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (!error) {
          resolve(stdout);
          return;
        }
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'EACCES') {
          reject(
            new InputError([
              {
                file: kustomizationFile,
                message: `rendering a kustomization needs kubectl, and ${kubectl.path} (from ${kubectl.via}) ${code === 'ENOENT' ? 'does not exist' : 'is not executable'}; point --kubectl (or ${KUBECTL_ENV}) at a kubectl binary`,
              },
            ]),
          );
          return;
        }
        const detail = stderr.trim().split('\n').filter((line) => line.trim() !== '').join('; ') || error.message;
        const exit = typeof error.code === 'number' ? `exit ${error.code}` : error.killed ? 'timed out' : String(error.code ?? error.signal);
        reject(new InputError([{ file: kustomizationFile, message: `${kubectl.path} kustomize ${dir} failed (${exit}): ${detail}` }]));
      },
    );
  });
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
