import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_DIR } from './kustomize.ts';

// kustomize refuses files outside a kustomization's root, so the ConfigMap
// generated in config/manager is built from a copy of config/flotilla.yaml.
test('config/manager/flotilla.yaml is a byte-for-byte copy of config/flotilla.yaml', () => {
  const original = readFileSync(join(CONFIG_DIR, 'flotilla.yaml'));
  const copy = readFileSync(join(CONFIG_DIR, 'manager', 'flotilla.yaml'));
  assert.ok(
    original.equals(copy),
    'config/manager/flotilla.yaml differs from config/flotilla.yaml; run: cp config/flotilla.yaml config/manager/flotilla.yaml',
  );
});
