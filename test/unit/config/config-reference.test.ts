import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { renderConfigReference } from '../../../scripts/config-reference.ts';
import { configLeafFields } from '../../../src/config/fields.ts';

const NODE = new URL('../../../node_modules/.bin/node', import.meta.url).pathname;
const SCRIPT = new URL('../../../scripts/config-reference.ts', import.meta.url).pathname;

describe('config reference generator', () => {
  const markdown = renderConfigReference();
  const rows = markdown.split('\n').filter((line) => line.startsWith('| `'));

  it('has one row per leaf field, with type, default, range, hot-reload flag and description', () => {
    const fields = configLeafFields();
    assert.equal(rows.length, fields.length);
    for (const field of fields) {
      const row = rows.find((line) => line.startsWith(`| \`${field.path}\` |`));
      assert.ok(row !== undefined, `no row for ${field.path}`);
      // Field, type, default, allowed, hot, description: 6 cells (escaped pipes do not split).
      const cells = row.split(/(?<!\\)\|/).slice(1, -1).map((cell) => cell.trim());
      assert.equal(cells.length, 6, row);
      assert.equal(cells[4], field.hotReloadable ? 'yes' : 'no (restart)', row);
      assert.ok((cells[5] ?? '').length > 10, `${field.path} has no description`);
    }
  });

  it('renders defaults and ranges from the schema', () => {
    const row = rows.find((line) => line.startsWith('| `concurrency.maxConcurrentReconciles` |'));
    assert.match(row ?? '', /\| integer \| `64` \| \[1, 10000\] \| yes \|/);
    const threads = rows.find((line) => line.startsWith('| `concurrency.poolThreads` |'));
    assert.match(threads ?? '', /"auto" \\\| integer \| `"auto"` \| "auto" or \[1, 256\] \| no \(restart\)/);
  });

  it('runs as a script', () => {
    const result = spawnSync(NODE, [SCRIPT], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, markdown);
  });
});
