import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { renderConfigReference } from '../../../scripts/config-reference.ts';

test('the README embeds the configuration reference exactly as generated from the schema', () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const reference = renderConfigReference().trim();
  assert.ok(
    readme.includes(reference),
    'README.md is out of date: replace its "Configuration reference" section with `node scripts/config-reference.ts` output',
  );
});
