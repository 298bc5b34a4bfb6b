/**
 * Builds (once) the `direct-go` baseline, bench/baselines/direct-go: a Go
 * program on client-go, its module pinned to the versions the control plane
 * is built from (src/controlplane/tools/go.mod). The binary is cached like the
 * control plane's, under `<flotilla cache>/bench/direct-go/<key>/`, the key a
 * hash of everything that determines it (go.mod, go.sum, the Go sources, the
 * build flags, the Go version, the platform): repeated runs reuse it, any
 * change rebuilds. `-mod=readonly`: the committed go.sum is the truth, and
 * with the control plane's modules in the module cache no download is needed.
 */
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { flotillaCacheDir, isExecutable } from '../../src/controlplane/binaries.ts';
import { acquireDirLock } from '../../src/controlplane/lock.ts';

const execFileAsync = promisify(execFile);
export const DIRECT_GO_DIR = fileURLToPath(new URL('../baselines/direct-go/', import.meta.url));
const BUILD_ARGS = ['build', '-trimpath', '-mod=readonly', '-ldflags', '-s -w'];

function goBinary(): string {
  return process.env.FLOTILLA_GO || 'go';
}

/** The cache key: the module's files (tests excluded: they do not change the binary), the flags, Go's version, the platform. */
export function directGoKey(files: Array<{ name: string; text: string }>, goVersion: string): string {
  const hash = createHash('sha256');
  for (const f of [...files].sort((a, b) => a.name.localeCompare(b.name))) hash.update(`${f.name}\0${f.text}\0`);
  hash.update(JSON.stringify({ BUILD_ARGS, goVersion, platform: `${process.platform}-${process.arch}` }));
  return hash.digest('hex').slice(0, 16);
}

let ensured: Promise<string> | undefined;

/**
 * Path of the direct-go binary, built into the cache first if needed; looked
 * up once per process (the benchmark calls it before any timing starts, so a
 * cold-start window never includes a build or even the cache lookup).
 */
export function ensureDirectGoBinary(log: (line: string) => void = () => undefined): Promise<string> {
  ensured ??= locateOrBuild(log).catch((error: unknown) => {
    ensured = undefined;
    throw error;
  });
  return ensured;
}

async function locateOrBuild(log: (line: string) => void): Promise<string> {
  const names = (await readdir(DIRECT_GO_DIR)).filter((n) => n === 'go.mod' || n === 'go.sum' || (n.endsWith('.go') && !n.endsWith('_test.go')));
  const files = await Promise.all(names.map(async (name) => ({ name, text: await readFile(join(DIRECT_GO_DIR, name), 'utf8') })));
  let goVersion: string;
  try {
    goVersion = (await execFileAsync(goBinary(), ['env', 'GOVERSION'])).stdout.trim();
  } catch (error) {
    throw new Error(`direct-go needs the Go toolchain (\`${goBinary()}\`, or FLOTILLA_GO), as the control plane build does: ${(error as Error).message}`, { cause: error });
  }
  const key = directGoKey(files, goVersion);
  const root = join(flotillaCacheDir(), 'bench', 'direct-go');
  const entry = join(root, key);
  const binary = join(entry, 'direct-go');
  if (await isExecutable(binary)) return binary;
  await mkdir(root, { recursive: true });
  const lock = await acquireDirLock(join(root, `${key}.lock`));
  try {
    if (await isExecutable(binary)) return binary;
    await mkdir(entry, { recursive: true });
    const tmp = join(entry, `direct-go.tmp-${process.pid}-${randomUUID().slice(0, 8)}`);
    const started = Date.now();
    log(`building the direct-go baseline (${goVersion}) into ${entry}`);
    try {
      await execFileAsync(goBinary(), [...BUILD_ARGS, '-o', tmp, '.'], { cwd: DIRECT_GO_DIR, env: { ...process.env, CGO_ENABLED: '0' }, maxBuffer: 16 * 1024 * 1024 });
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      await rm(tmp, { force: true });
      throw new Error(`go build of bench/baselines/direct-go failed:\n${(e.stderr ?? e.message).trim().split('\n').slice(-20).join('\n')}`, { cause: error });
    }
    await rename(tmp, binary);
    log(`built direct-go in ${Math.round((Date.now() - started) / 1000)} s`);
    return binary;
  } finally {
    await lock.release();
  }
}

