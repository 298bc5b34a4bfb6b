import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

/**
 * Writes single-layer OCI image archives (an image layout in a tar) from a
 * root filesystem directory, so the local node can run images without a
 * registry: `ctr images import` reads them. The layer is an uncompressed tar
 * made reproducible (sorted names, mtime 0, uid/gid 0), so the same rootfs
 * always yields the same image digest.
 */

const execFileAsync = promisify(execFile);

export interface OciImageSpec {
  /** Full reference the image is stored under, e.g. `flotilla.local/pause:1`. */
  name: string;
  rootfsDir: string;
  entrypoint: string[];
  cmd?: string[];
  env?: string[];
  workingDir?: string;
  /** `uid:gid` the container runs as (Dockerfile `USER`). */
  user?: string;
  /** Ports the image documents (Dockerfile `EXPOSE`), e.g. `8443/tcp`. */
  exposedPorts?: string[];
  labels?: Record<string, string>;
  /**
   * More references for the same image (one index entry each): containerd
   * imports every one, so one archive serves e.g. `flotilla:latest` and
   * `flotilla:0.1.0` without a `ctr images tag`.
   */
  additionalNames?: string[];
  /** GOARCH-style architecture; default: this machine's. */
  architecture?: string;
}

export interface OciImageArchive {
  file: string;
  name: string;
  /** `name` followed by `additionalNames`. */
  names: string[];
  /** `sha256:…` of the manifest: what containerd reports as the image's digest. */
  manifestDigest: string;
}

/** containerd names an imported image after this annotation (ctr 1.6 and later). */
const CONTAINERD_NAME_ANNOTATION = 'io.containerd.image.name';
const REPRODUCIBLE_TAR = ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner'];

export function goArch(nodeArch: string = process.arch): string {
  switch (nodeArch) {
    case 'x64':
      return 'amd64';
    case 'ia32':
      return '386';
    default:
      return nodeArch; // arm64, arm, ppc64, s390x, riscv64 are spelled alike
  }
}

export async function writeOciImageArchive(spec: OciImageSpec, file: string): Promise<OciImageArchive> {
  const work = await mkdtemp(join(tmpdir(), 'flotilla-oci-'));
  try {
    const blobs = join(work, 'blobs', 'sha256');
    await mkdir(blobs, { recursive: true });
    const putBlob = async (content: Buffer, mediaType: string) => {
      const hex = createHash('sha256').update(content).digest('hex');
      await writeFile(join(blobs, hex), content);
      return { mediaType, digest: `sha256:${hex}`, size: content.length };
    };

    // The layer can be hundreds of MB (a Node binary): hash it as a stream.
    const layerTar = join(work, 'layer.tar');
    await execFileAsync('tar', [...REPRODUCIBLE_TAR, '-C', spec.rootfsDir, '-cf', layerTar, '.']);
    const layerHash = createHash('sha256');
    await pipeline(createReadStream(layerTar), layerHash);
    const layerHex = layerHash.digest('hex');
    const layerSize = (await stat(layerTar)).size;
    await rename(layerTar, join(blobs, layerHex));
    const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${layerHex}`, size: layerSize };

    const architecture = spec.architecture ?? goArch();
    const config = await putBlob(
      Buffer.from(
        JSON.stringify({
          architecture,
          os: 'linux',
          config: {
            Entrypoint: spec.entrypoint,
            ...(spec.cmd ? { Cmd: spec.cmd } : {}),
            ...(spec.env ? { Env: spec.env } : {}),
            ...(spec.workingDir ? { WorkingDir: spec.workingDir } : {}),
            ...(spec.user ? { User: spec.user } : {}),
            ...(spec.exposedPorts?.length ? { ExposedPorts: Object.fromEntries(spec.exposedPorts.map((port) => [port, {}])) } : {}),
            ...(spec.labels ? { Labels: spec.labels } : {}),
          },
          // An uncompressed layer's diff ID is its own digest.
          rootfs: { type: 'layers', diff_ids: [layer.digest] },
        }),
      ),
      'application/vnd.oci.image.config.v1+json',
    );
    const manifest = await putBlob(
      Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [layer] })),
      'application/vnd.oci.image.manifest.v1+json',
    );
    const names = [spec.name, ...(spec.additionalNames ?? [])];
    await writeFile(join(work, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    await writeFile(
      join(work, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: names.map((name) => ({
          ...manifest,
          platform: { architecture, os: 'linux' },
          annotations: { [CONTAINERD_NAME_ANNOTATION]: name, 'org.opencontainers.image.ref.name': /:([^/:]+)$/.exec(name)?.[1] ?? 'latest' },
        })),
      }),
    );
    await execFileAsync('tar', [...REPRODUCIBLE_TAR, '-C', work, '-cf', file, 'oci-layout', 'index.json', 'blobs']);
    return { file, name: spec.name, names, manifestDigest: manifest.digest };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/**
 * Copies a dynamically linked executable into a rootfs at `targetPath`, with
 * the shared libraries and loader `ldd` resolves for it at their same paths:
 * enough for programs like Node that need only the C/C++ runtime, without a
 * distribution's base image.
 */
export async function copyExecutableWithLibraries(binary: string, rootfsDir: string, targetPath: string): Promise<string[]> {
  const { stdout } = await execFileAsync('ldd', [binary]);
  const libraries = parseLdd(stdout);
  await Promise.all(
    [[binary, targetPath], ...libraries.map((lib) => [lib, lib])].map(async ([source, target]) => {
      const destination = join(rootfsDir, target as string);
      await mkdir(dirname(destination), { recursive: true });
      await copyFile(source as string, destination);
    }),
  );
  return libraries;
}

/** Absolute library paths from `ldd` output (`name => /path (addr)` and the loader's `/path (addr)` line). */
export function parseLdd(output: string): string[] {
  const paths = new Set<string>();
  for (const line of output.split('\n')) {
    const match = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(0x/.exec(line);
    if (match?.[1]) paths.add(match[1]);
  }
  return [...paths];
}
