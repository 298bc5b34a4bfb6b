import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ConfigError } from '../../../src/config/errors.ts';
import { configLeafFields } from '../../../src/config/fields.ts';
import { defaultConfig } from '../../../src/config/defaults.ts';
import { loadConfig } from '../../../src/config/load.ts';
import { configPathFromArgs, resolvePoolThreads } from '../../../src/config/resolve.ts';

const SHIPPED = new URL('../../../config/flotilla.yaml', import.meta.url).pathname;

describe('loadConfig', () => {
  it('loads and validates a file', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'flotilla-config-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'flotilla.yaml');
    await writeFile(path, 'workspaces:\n  mode: static\n  names: [team-a]\nlog:\n  level: debug\n');
    const config = await loadConfig(path);
    assert.deepEqual(config.workspaces.names, ['team-a']);
    assert.equal(config.log.level, 'debug');
  });

  it('names the file in validation errors', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'flotilla-config-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'flotilla.yaml');
    await writeFile(path, 'api:\n  qps: -1\n');
    await assert.rejects(loadConfig(path), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.message, `${path}: api.qps must be a number between 0 and 1000000, got -1 (line 2, column 8)`);
      return true;
    });
  });

  it('fails on a missing file instead of starting on silent defaults', async () => {
    await assert.rejects(loadConfig('/nonexistent/flotilla.yaml'), /\/nonexistent\/flotilla\.yaml: cannot read the configuration: file not found/);
  });

  it('the shipped config/flotilla.yaml is valid, equals the defaults and spells out every field', async () => {
    const config = await loadConfig(SHIPPED);
    assert.deepEqual(config, defaultConfig());
    const { readFile } = await import('node:fs/promises');
    const document = parse(await readFile(SHIPPED, 'utf8')) as Record<string, unknown>;
    const missing = configLeafFields()
      .filter((field) => field.defaultValue !== undefined)
      .filter((field) => {
        let node: unknown = document;
        for (const segment of field.path.split('.')) node = (node as Record<string, unknown> | undefined)?.[segment];
        return node === undefined;
      })
      .map((field) => field.path);
    assert.deepEqual(missing, []);
  });
});

describe('resolve helpers', () => {
  it('poolThreads auto leaves a core for the main thread, never fewer than one worker', () => {
    assert.equal(resolvePoolThreads('auto', 8), 7);
    assert.equal(resolvePoolThreads('auto', 2), 1);
    assert.equal(resolvePoolThreads('auto', 1), 1);
    assert.equal(resolvePoolThreads(3, 8), 3);
  });

  it('finds the config path from --config, then FLOTILLA_CONFIG, then the default', () => {
    assert.equal(configPathFromArgs(['--config', '/etc/f.yaml'], {}), '/etc/f.yaml');
    assert.equal(configPathFromArgs(['run', '--config=/etc/g.yaml'], {}), '/etc/g.yaml');
    assert.equal(configPathFromArgs([], { FLOTILLA_CONFIG: '/env.yaml' }), '/env.yaml');
    assert.equal(configPathFromArgs([], {}), 'config/flotilla.yaml');
    assert.throws(() => configPathFromArgs(['--config'], {}), /--config needs a file path/);
  });
});
