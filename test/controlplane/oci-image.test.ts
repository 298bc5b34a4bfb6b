import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { goArch, parseLdd, writeOciImageArchive } from '../../src/controlplane/oci-image.ts';

const execFileAsync = promisify(execFile);

async function withScratch(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'flotilla-oci-test-'));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const sha256 = (content: Buffer) => `sha256:${createHash('sha256').update(content).digest('hex')}`;

test('an image archive is a valid OCI layout whose digests match their blobs, named for containerd', () =>
  withScratch(async (dir) => {
    const rootfs = join(dir, 'rootfs');
    await mkdir(join(rootfs, 'bin'), { recursive: true });
    await writeFile(join(rootfs, 'bin', 'hello'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
    const archive = await writeOciImageArchive({ name: 'flotilla.local/hello:2', rootfsDir: rootfs, entrypoint: ['/bin/hello'], env: ['A=1'] }, join(dir, 'hello.tar'));

    const unpacked = join(dir, 'unpacked');
    await mkdir(unpacked);
    await execFileAsync('tar', ['-xf', archive.file, '-C', unpacked]);
    const blob = (digest: string) => readFile(join(unpacked, 'blobs', 'sha256', digest.replace(/^sha256:/, '')));
    assert.deepEqual(JSON.parse(await readFile(join(unpacked, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });

    const index = JSON.parse(await readFile(join(unpacked, 'index.json'), 'utf8'));
    assert.equal(index.manifests.length, 1);
    const [entry] = index.manifests;
    assert.equal(entry.digest, archive.manifestDigest);
    assert.equal(entry.annotations['io.containerd.image.name'], 'flotilla.local/hello:2');
    assert.equal(entry.annotations['org.opencontainers.image.ref.name'], '2');

    const manifestBytes = await blob(entry.digest);
    assert.equal(sha256(manifestBytes), entry.digest);
    assert.equal(manifestBytes.length, entry.size);
    const manifest = JSON.parse(manifestBytes.toString('utf8'));
    const configBytes = await blob(manifest.config.digest);
    assert.equal(sha256(configBytes), manifest.config.digest);
    const config = JSON.parse(configBytes.toString('utf8'));
    assert.deepEqual(config.config, { Entrypoint: ['/bin/hello'], Env: ['A=1'] });
    assert.equal(config.architecture, goArch());

    const layerBytes = await blob(manifest.layers[0].digest);
    assert.equal(sha256(layerBytes), manifest.layers[0].digest);
    assert.deepEqual(config.rootfs.diff_ids, [manifest.layers[0].digest], 'an uncompressed layer is its own diff ID');
    const { stdout } = await execFileAsync('tar', ['-tvf', join(unpacked, 'blobs', 'sha256', manifest.layers[0].digest.replace(/^sha256:/, ''))]);
    assert.match(stdout, /rwxr-xr-x 0\/0 .* \.\/bin\/hello/);
  }));

test('the same rootfs gives the same image digest', () =>
  withScratch(async (dir) => {
    const rootfs = join(dir, 'rootfs');
    await mkdir(rootfs);
    await writeFile(join(rootfs, 'file'), 'content');
    const first = await writeOciImageArchive({ name: 'flotilla.local/x:1', rootfsDir: rootfs, entrypoint: ['/file'] }, join(dir, 'a.tar'));
    await new Promise((resolve) => setTimeout(resolve, 1100)); // a later mtime must not matter
    await writeFile(join(rootfs, 'file'), 'content');
    const second = await writeOciImageArchive({ name: 'flotilla.local/x:1', rootfsDir: rootfs, entrypoint: ['/file'] }, join(dir, 'b.tar'));
    assert.equal(second.manifestDigest, first.manifestDigest);
  }));

test('architectures are spelled as Go and OCI spell them', () => {
  assert.equal(goArch('x64'), 'amd64');
  assert.equal(goArch('arm64'), 'arm64');
});

test('ldd output yields every library and the loader, and nothing for the vDSO', () => {
  const output = [
    '\tlinux-vdso.so.1 (0x00007ffd)',
    '\tlibdl.so.2 => /lib/x86_64-linux-gnu/libdl.so.2 (0x00007f6a)',
    '\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f6b)',
    '\t/lib64/ld-linux-x86-64.so.2 (0x00007f6c)',
  ].join('\n');
  assert.deepEqual(parseLdd(output), ['/lib/x86_64-linux-gnu/libdl.so.2', '/lib/x86_64-linux-gnu/libstdc++.so.6', '/lib64/ld-linux-x86-64.so.2']);
});

test('the image config carries the Dockerfile-style user, ports and labels; every extra name is an index entry of the same manifest', () =>
  withScratch(async (dir) => {
    const rootfs = join(dir, 'rootfs');
    await mkdir(rootfs);
    await writeFile(join(rootfs, 'file'), 'content');
    const archive = await writeOciImageArchive(
      {
        name: 'docker.io/library/app:latest',
        additionalNames: ['docker.io/library/app:1.2.3'],
        rootfsDir: rootfs,
        entrypoint: ['/file'],
        workingDir: '/app',
        user: '65532:65532',
        exposedPorts: ['8443/tcp', '8081/tcp'],
        labels: { 'org.opencontainers.image.version': '1.2.3' },
      },
      join(dir, 'app.tar'),
    );
    assert.deepEqual(archive.names, ['docker.io/library/app:latest', 'docker.io/library/app:1.2.3']);
    const unpacked = join(dir, 'unpacked');
    await mkdir(unpacked);
    await execFileAsync('tar', ['-xf', archive.file, '-C', unpacked]);
    const index = JSON.parse(await readFile(join(unpacked, 'index.json'), 'utf8'));
    assert.deepEqual(
      index.manifests.map((m: { digest: string; annotations: Record<string, string> }) => [m.digest, m.annotations['io.containerd.image.name'], m.annotations['org.opencontainers.image.ref.name']]),
      [[archive.manifestDigest, 'docker.io/library/app:latest', 'latest'], [archive.manifestDigest, 'docker.io/library/app:1.2.3', '1.2.3']],
    );
    const manifest = JSON.parse(await readFile(join(unpacked, 'blobs', 'sha256', archive.manifestDigest.replace(/^sha256:/, '')), 'utf8'));
    const config = JSON.parse(await readFile(join(unpacked, 'blobs', 'sha256', manifest.config.digest.replace(/^sha256:/, '')), 'utf8'));
    assert.deepEqual(config.config, {
      Entrypoint: ['/file'],
      WorkingDir: '/app',
      User: '65532:65532',
      ExposedPorts: { '8443/tcp': {}, '8081/tcp': {} },
      Labels: { 'org.opencontainers.image.version': '1.2.3' },
    });
  }));
