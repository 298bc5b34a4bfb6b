import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve, sep } from 'node:path';
import { configLeafFields } from '../../../src/config/fields.ts';
import { configFieldReads } from './config-reads.ts';

const src = resolve('src') + sep;
const configDir = resolve('src/config') + sep;

test('every configuration field is read by the program outside src/config', () => {
  const fields = configLeafFields().map((f) => f.path);
  const reads = configFieldReads({
    tsconfig: resolve('tsconfig.json'),
    // Validation and the reference read every field; only the runtime's reads count.
    include: (fileName) => fileName.startsWith(src) && !fileName.startsWith(configDir),
    schemaFile: resolve('src/config/schema.ts'),
    configTypeName: 'FlotillaConfig',
    fieldPaths: fields,
  });
  const unread = fields.filter((path) => !reads.has(path));
  assert.deepEqual(unread, [], `documented in the schema but read by nothing: ${unread.join(', ')}`);
});
