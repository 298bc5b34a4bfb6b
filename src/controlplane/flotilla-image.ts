import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flotillaCacheDir } from './binaries.ts';
import { acquireDirLock, isErrno } from './lock.ts';
import { copyExecutableWithLibraries, parseLdd, writeOciImageArchive } from './oci-image.ts';

/**
 * Flotilla's container image without Docker or a registry, for the local
 * node (`ctr images import`): the Dockerfile's final stage, assembled from
 * what this machine already has.
 *
 * Same as the Dockerfile: `/app/{dist, node_modules, package.json,
 * config/flotilla.yaml}`, dist from `tsc -p tsconfig.build.json`,
 * node_modules from `npm ci --omit=dev --ignore-scripts` of package.json and
 * package-lock.json, `WORKDIR /app`, `ENV NODE_ENV=production`,
 * `USER 65532:65532`, `EXPOSE 8443 8081`, the exec-form
 * `ENTRYPOINT ["node", "dist/src/cli/main.js", "run", "--no-local"]`, no npm.
 *
 * Different base: instead of `node:24-slim` (a Debian with Node installed),
 * the project's pinned Node 24 binary (the `node` devDependency) at
 * /usr/local/bin/node plus exactly the shared libraries `ldd` resolves for
 * it from this machine's packages (glibc, libstdc++, libgcc_s) and the
 * loader; a passwd/group naming root and nonroot (65532), and /tmp (1777).
 * No shell, no package manager: distroless-like. Node needs nothing else
 * (it bundles OpenSSL, ICU and its CA store).
 *
 * Reproducible where cheap (the layer tar is sorted, mtime 0, owner 0), and
 * cached by a hash of every input under
 * `${FLOTILLA_CACHE_DIR:-~/.cache/flotilla}/images/<hash>/`, so tests and
 * repeated `npm run image` reuse it until a source file, the lock file, the
 * Node binary or a library changes.
 */

export const FLOTILLA_IMAGE_REPOSITORY = 'docker.io/library/flotilla';
/** Bump when the recipe below changes in a way the input hash does not see. */
const RECIPE_VERSION = 2;
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The Dockerfile's build context (.dockerignore): what the image is made of. */
const SOURCE_DIRS = ['src', 'workers'];
const SOURCE_FILES = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'config/flotilla.yaml'];
const NONROOT = 65532;
/** Older cached images kept besides the one just built (each is ~230 MB). */
const KEEP_CACHED = 1;

export interface FlotillaImageOptions {
  /** Repository checkout to build from; default: this one. */
  repoRoot?: string;
  /** Tags under FLOTILLA_IMAGE_REPOSITORY; default `latest` (what config/default uses) and the package version (the `cluster add --image` default). */
  tags?: string[];
  /** The Node binary to ship; default: the pinned devDependency's. */
  nodeBinary?: string;
  log?: (line: string) => void;
}

export interface FlotillaImage {
  /** The OCI archive, for `ctr images import` / `LocalNode.importImage`. */
  file: string;
  /** Full references the archive imports as, e.g. `docker.io/library/flotilla:latest`. */
  names: string[];
  manifestDigest: string;
  /** Size of the archive (one uncompressed layer: ≈ the unpacked image). */
  sizeBytes: number;
  /** The hash of the inputs, naming the cache entry. */
  inputsHash: string;
  /** True when the cache had it; false when this call built it. */
  cached: boolean;
  /** Build steps and their durations in ms (empty when cached). */
  steps: Array<[string, number]>;
}

interface CacheRecord {
  names: string[];
  manifestDigest: string;
  sizeBytes: number;
  inputsHash: string;
}

export async function buildFlotillaImage(options: FlotillaImageOptions = {}): Promise<FlotillaImage> {
  const repoRoot = options.repoRoot ?? REPO_ROOT;
  const log = options.log ?? (() => {});
  const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  const names = (options.tags ?? ['latest', pkg.version]).map((tag) => `${FLOTILLA_IMAGE_REPOSITORY}:${tag}`);
  const nodeBinary = options.nodeBinary ?? join(repoRoot, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(nodeBinary)) throw new Error(`The pinned Node binary ${nodeBinary} is missing; run npm ci.`);

  const inputsHash = await hashInputs(repoRoot, nodeBinary, names);
  const cacheRoot = join(flotillaCacheDir(), 'images');
  const entry = join(cacheRoot, inputsHash.slice(0, 16));
  const cached = await readCacheRecord(entry);
  if (cached) return { ...cached, file: join(entry, 'flotilla.tar'), cached: true, steps: [] };

  const lock = await acquireDirLock(`${entry}.lock`, {
    onWait: (owner) => log(`waiting for ${owner ? `pid ${owner.pid}` : 'another process'} to finish building the Flotilla image`),
  });
  try {
    const builtMeanwhile = await readCacheRecord(entry);
    if (builtMeanwhile) return { ...builtMeanwhile, file: join(entry, 'flotilla.tar'), cached: true, steps: [] };
    const steps: Array<[string, number]> = [];
    const timed = async <T>(step: string, fn: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      const result = await fn();
      steps.push([step, performance.now() - started]);
      log(`image: ${step} ${((performance.now() - started) / 1000).toFixed(1)} s`);
      return result;
    };
    const work = join(cacheRoot, `${inputsHash.slice(0, 16)}.tmp-${process.pid}-${randomUUID().slice(0, 8)}`);
    await mkdir(work, { recursive: true });
    try {
      const rootfs = join(work, 'rootfs');
      const app = join(rootfs, 'app');
      await mkdir(join(app, 'config'), { recursive: true });
      await chmod(rootfs, 0o755);
      // `npm run build` into the image's /app/dist. Source maps name their
      // sources under /app/, where the Dockerfile's build stage compiles,
      // instead of a path relative to this (cache) directory: the same
      // inputs then give the same bytes wherever the cache is.
      const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
      await timed('tsc -p tsconfig.build.json', () => run(process.execPath, [tsc, '-p', join(repoRoot, 'tsconfig.build.json'), '--outDir', join(app, 'dist'), '--sourceRoot', '/app/'], repoRoot));
      const deps = join(work, 'deps');
      await mkdir(deps);
      await Promise.all(['package.json', 'package-lock.json'].map((f) => copyFile(join(repoRoot, f), join(deps, f))));
      await timed('npm ci --omit=dev --ignore-scripts', () => run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], deps));
      await rename(join(deps, 'node_modules'), join(app, 'node_modules'));
      await copyFile(join(repoRoot, 'package.json'), join(app, 'package.json'));
      await copyFile(join(repoRoot, 'config', 'flotilla.yaml'), join(app, 'config', 'flotilla.yaml'));
      const libraries = await timed('node binary and its libraries', () => copyExecutableWithLibraries(nodeBinary, rootfs, '/usr/local/bin/node'));
      log(`image: node needs ${libraries.join(', ')}`);
      await mkdir(join(rootfs, 'etc'));
      await writeFile(join(rootfs, 'etc', 'passwd'), `root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:${NONROOT}:${NONROOT}:nonroot:/home/nonroot:/sbin/nologin\n`);
      await writeFile(join(rootfs, 'etc', 'group'), `root:x:0:\nnonroot:x:${NONROOT}:\n`);
      await mkdir(join(rootfs, 'tmp'));
      await chmod(join(rootfs, 'tmp'), 0o1777);

      const archive = await timed('OCI archive', () =>
        writeOciImageArchive(
          {
            name: names[0] as string,
            additionalNames: names.slice(1),
            rootfsDir: rootfs,
            entrypoint: ['node', 'dist/src/cli/main.js', 'run', '--no-local'],
            env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'NODE_ENV=production'],
            workingDir: '/app',
            user: `${NONROOT}:${NONROOT}`,
            exposedPorts: ['8443/tcp', '8081/tcp'],
            labels: { 'org.opencontainers.image.version': pkg.version, 'dev.flotilla.image.inputs': inputsHash },
          },
          join(work, 'flotilla.tar'),
        ),
      );
      await rm(rootfs, { recursive: true, force: true });
      await rm(deps, { recursive: true, force: true });
      const record: CacheRecord = { names: archive.names, manifestDigest: archive.manifestDigest, sizeBytes: (await stat(archive.file)).size, inputsHash };
      await writeFile(join(work, 'image.json'), JSON.stringify(record, null, 2));
      try {
        await rename(work, entry);
      } catch (error) {
        if (!isErrno(error, 'ENOTEMPTY') && !isErrno(error, 'EEXIST')) throw error;
      }
      await pruneCache(cacheRoot, entry);
      return { ...record, file: join(entry, 'flotilla.tar'), cached: false, steps };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  } finally {
    await lock.release();
  }
}

async function readCacheRecord(entry: string): Promise<CacheRecord | undefined> {
  try {
    const record = JSON.parse(await readFile(join(entry, 'image.json'), 'utf8')) as CacheRecord;
    if (!existsSync(join(entry, 'flotilla.tar'))) return undefined;
    // Most recently used first when pruning.
    const now = new Date();
    await utimes(entry, now, now).catch(() => {});
    return record;
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw error;
  }
}

async function pruneCache(cacheRoot: string, keep: string): Promise<void> {
  const entries = await readdir(cacheRoot, { withFileTypes: true });
  const images = await Promise.all(
    entries
      .filter((e) => e.isDirectory() && !e.name.includes('.') && join(cacheRoot, e.name) !== keep)
      .map(async (e) => ({ path: join(cacheRoot, e.name), mtime: (await stat(join(cacheRoot, e.name))).mtimeMs })),
  );
  images.sort((a, b) => b.mtime - a.mtime);
  for (const old of images.slice(KEEP_CACHED)) await rm(old.path, { recursive: true, force: true });
}

/**
 * SHA-256 over every input: the build context's files (tests excluded, as
 * .dockerignore does), the Node binary, the libraries it loads, the
 * references, and the recipe version.
 */
export async function hashInputs(repoRoot: string, nodeBinary: string, names: string[]): Promise<string> {
  const hash = createHash('sha256');
  hash.update(`recipe ${RECIPE_VERSION}\nnames ${names.join(' ')}\n`);
  const files = [...SOURCE_FILES];
  for (const dir of SOURCE_DIRS) files.push(...(await listFiles(repoRoot, join(repoRoot, dir))));
  files.sort();
  for (const file of files) {
    hash.update(`file ${file}\n`);
    hash.update(await readFile(join(repoRoot, file)));
  }
  const { stdout } = await capture('ldd', [nodeBinary]);
  for (const path of [nodeBinary, ...parseLdd(stdout)]) {
    hash.update(`binary ${path === nodeBinary ? 'node' : path}\n`);
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

async function listFiles(repoRoot: string, dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') out.push(...(await listFiles(repoRoot, path)));
    } else if (entry.isFile() && !entry.name.endsWith('.test.ts') && entry.name !== '.DS_Store') {
      out.push(relative(repoRoot, path));
    }
  }
  return out;
}

function capture(command: string, args: string[]): Promise<{ stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve({ stdout }) : reject(new Error(`${command} ${args.join(' ')} exited with ${code}`))));
  });
}

/** Runs a build step; fails with the tail of its output. */
function run(command: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, NO_UPDATE_NOTIFIER: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(' ')} (in ${cwd}) failed with ${signal ?? `exit code ${code}`}:\n${output.slice(-4000)}`));
    });
  });
}

