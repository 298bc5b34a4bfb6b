import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { INSTALL_FILE, installObjects, renderInstall } from '../../../scripts/render-manifests.ts';
import { CONFIG_DIR, manifestId, renderKustomization, REPO_ROOT, type Manifest } from './kustomize.ts';

const run = promisify(execFile);
const SCRIPT = join(REPO_ROOT, 'scripts/render-manifests.ts');
const committed = readFileSync(INSTALL_FILE, 'utf8');

function controllerImage(objects: Manifest[]): string | undefined {
  const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'flotilla-controller') as
    | (Manifest & { spec: { template: { spec: { containers: Array<{ name: string; image: string }> } } } })
    | undefined;
  return deployment?.spec.template.spec.containers.find((c) => c.name === 'manager')?.image;
}

test('config/install.yaml is up to date with config/ (regenerate with: npm run manifests)', async () => {
  assert.ok(committed === (await renderInstall()), 'config/install.yaml is stale; run: npm run manifests');
});

test('config/install.yaml holds every object of config/default, once, in an order one apply can follow', () => {
  const docs = parseAllDocuments(committed).map((d) => {
    assert.deepEqual(d.errors, []);
    return d.toJS() as Manifest | null;
  });
  const objects = docs.filter((o): o is Manifest => o !== null);
  // The same objects, field for field, as the kustomization renders.
  assert.deepEqual(objects, JSON.parse(JSON.stringify(renderKustomization(join(CONFIG_DIR, 'default')))));
  const ids = objects.map(manifestId);
  assert.equal(new Set(ids).size, ids.length, 'no object twice');

  // The namespace first, then the CRDs, before anything that needs either.
  assert.equal(ids[0], 'Namespace. flotilla-system');
  const lastCrd = objects.findLastIndex((o) => o.kind === 'CustomResourceDefinition');
  assert.ok(lastCrd > 0);
  objects.slice(1, lastCrd + 1).forEach((o) => assert.equal(o.kind, 'CustomResourceDefinition', `${manifestId(o)} among the CRDs`));
  // The size policy matches resources of the CRDs, so it comes after them.
  assert.ok(objects.findIndex((o) => o.kind === 'ValidatingAdmissionPolicy') > lastCrd);
  assert.equal(controllerImage(objects), 'flotilla:latest', 'the image config/default sets');
});

test('--image pins the controller image and changes nothing else', () => {
  const pinned = installObjects({ image: 'registry.example.com:5000/flotilla@sha256:' + 'a'.repeat(64) });
  assert.equal(controllerImage(pinned), `registry.example.com:5000/flotilla@sha256:${'a'.repeat(64)}`);
  const plain = installObjects();
  const withoutImage = (objects: Manifest[]) => objects.filter((o) => o.kind !== 'Deployment');
  assert.deepEqual(withoutImage(pinned), withoutImage(plain));
  assert.throws(() => installObjects({ image: 'not an image' }), /not an image reference/);
  assert.throws(() => installObjects({ image: '' }), /not an image reference/);
});

test('the script writes, checks and refuses bad flags', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-install-'));
  try {
    const output = join(dir, 'out', 'install.yaml');
    const node = process.execPath;
    const written = await run(node, [SCRIPT, '--image', 'registry.example.com/flotilla:0.1.0', '--output', output], { cwd: REPO_ROOT });
    assert.match(written.stdout, /wrote/);
    const text = readFileSync(output, 'utf8');
    assert.match(text, /image: registry\.example\.com\/flotilla:0\.1\.0\n/);
    assert.equal(text, await renderInstall({ image: 'registry.example.com/flotilla:0.1.0' }));

    // --check against the default rendering: this file pins another image, so it is stale.
    const stale = await run(node, [SCRIPT, '--check', '--output', output], { cwd: REPO_ROOT }).then(
      () => assert.fail('--check passed on a stale file'),
      (error: { code: number; stderr: string }) => error,
    );
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, /stale; run: npm run manifests/);
    writeFileSync(output, await renderInstall());
    await run(node, [SCRIPT, '--check', '--output', output], { cwd: REPO_ROOT });

    const usage = await run(node, [SCRIPT, '--imagee', 'x'], { cwd: REPO_ROOT }).then(
      () => assert.fail('an unknown flag was accepted'),
      (error: { code: number; stderr: string }) => error,
    );
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /usage: node scripts\/render-manifests\.ts/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the controller container runs with the V8 settings the benchmarks measure (src/runtime/node-options.ts)', async () => {
  const { CONTROLLER_NODE_OPTIONS } = await import('../../../src/runtime/node-options.ts');
  const objects = parseAllDocuments(committed).map((d) => d.toJS() as Manifest | null).filter((o): o is Manifest => o !== null);
  const deployment = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'flotilla-controller') as
    | (Manifest & { spec: { template: { spec: { containers: Array<{ name: string; env?: Array<{ name: string; value?: string }> }> } } } })
    | undefined;
  const env = deployment?.spec.template.spec.containers.find((c) => c.name === 'manager')?.env ?? [];
  assert.equal(env.find((e) => e.name === 'NODE_OPTIONS')?.value, CONTROLLER_NODE_OPTIONS);
});
