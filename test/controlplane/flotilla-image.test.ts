import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { hashInputs } from '../../src/controlplane/flotilla-image.ts';

// The image cache key: what invalidates a cached Flotilla image and what must not.

async function withRepo(body: (repo: string, write: (path: string, content: string) => Promise<void>) => Promise<void>): Promise<void> {
  const repo = await mkdtemp(join(tmpdir(), 'flotilla-image-hash-'));
  const write = async (path: string, content: string) => {
    await mkdir(dirname(join(repo, path)), { recursive: true });
    await writeFile(join(repo, path), content);
  };
  try {
    for (const file of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'config/flotilla.yaml']) await write(file, `${file}\n`);
    await write('src/main.ts', 'export {};\n');
    await write('workers/worker.ts', 'export {};\n');
    await body(repo, write);
  } finally {
    await rm(repo, { recursive: true, force: true });
  }
}

// Any dynamically linked executable will do as "node": the hash covers it and the libraries ldd lists.
const BINARY = '/bin/true';
const NAMES = ['docker.io/library/flotilla:latest'];

test('a changed source file, config file or image name changes the hash', () =>
  withRepo(async (repo, write) => {
    const base = await hashInputs(repo, BINARY, NAMES);
    assert.equal(await hashInputs(repo, BINARY, NAMES), base, 'stable for the same inputs');
    await write('src/main.ts', 'export const x = 1;\n');
    const changedSource = await hashInputs(repo, BINARY, NAMES);
    assert.notEqual(changedSource, base);
    await write('workers/new.ts', 'export {};\n');
    const addedWorker = await hashInputs(repo, BINARY, NAMES);
    assert.notEqual(addedWorker, changedSource);
    await write('config/flotilla.yaml', 'log: {}\n');
    const changedConfig = await hashInputs(repo, BINARY, NAMES);
    assert.notEqual(changedConfig, addedWorker);
    assert.notEqual(await hashInputs(repo, BINARY, ['docker.io/library/flotilla:0.2.0']), changedConfig);
  }));

test('tests and files outside the build context do not change the hash', () =>
  withRepo(async (repo, write) => {
    const base = await hashInputs(repo, BINARY, NAMES);
    await write('src/main.test.ts', 'test\n');
    await write('test/unit/x.test.ts', 'test\n');
    await write('README.md', 'docs\n');
    await write('config/samples/x.yaml', 'x: 1\n');
    assert.equal(await hashInputs(repo, BINARY, NAMES), base);
  }));
