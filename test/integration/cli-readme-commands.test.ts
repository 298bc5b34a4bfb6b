/**
 * The commands the README and docs show must exist as written: every
 * `flotilla <command>` (as `npx flotilla …` or in the CLI reference) is a
 * command of the CLI, and every `--flag` on that line is in the command's
 * --help; every `npm run <script>` is a script of package.json; no command
 * runs `node src/…` directly (the machine's Node may be older than the
 * pinned one: `npx flotilla` and npm scripts use node_modules/.bin/node).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('../../', import.meta.url);
const CLI = fileURLToPath(new URL('src/cli/main.ts', root));
const DOCS = ['README.md', 'docs/architecture.md', 'bench/README.md'];
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: Record<string, string>; bin: Record<string, string> };

function help(args: string[]): string {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent' } });
  return result.stdout + result.stderr;
}

/** Command lines: lines of ```sh blocks, and inline code spans, from each document. */
function commandLines(): Array<{ doc: string; line: string; block: boolean }> {
  const found: Array<{ doc: string; line: string; block: boolean }> = [];
  for (const doc of DOCS) {
    const text = readFileSync(new URL(doc, root), 'utf8');
    for (const block of text.matchAll(/```(?:sh|bash|shell)\n([\s\S]*?)```/g)) {
      for (const line of (block[1] ?? '').split('\n')) if (line.trim() !== '') found.push({ doc, line: line.replace(/\s+#.*$/, ''), block: true });
    }
    for (const span of text.matchAll(/`([^`\n]+)`/g)) found.push({ doc, line: span[1] ?? '', block: false });
  }
  return found;
}

const lines = commandLines();
const commands = [...help(['--help']).matchAll(/^ {2}([a-z]+) {2,}\S/gm)].map((m) => m[1] as string);

test('the CLI lists its commands (what the other checks compare with)', () => {
  for (const command of ['run', 'agent', 'cluster', 'controlplane', 'bench', 'version']) assert.ok(commands.includes(command), command);
});

test('every `flotilla <command>` in the docs exists, with the flags shown on its line', () => {
  const helpOf = new Map<string, string>();
  let checked = 0;
  for (const { doc, line } of lines) {
    const match = /(?:^|\s|npx )flotilla ([a-z][a-z-]*)(.*)$/.exec(line);
    if (!match || /flotilla-/.test(`flotilla ${match[1]}`)) continue;
    const [, command, rest] = match as unknown as [string, string, string];
    if (!/^(\s|$)/.test(rest)) continue;
    if (['is', 'the', 'and', 'fans', 'controller', 'agent:', 'image'].includes(command) && !commands.includes(command)) continue;
    assert.ok(commands.includes(command), `${doc}: "${line}" runs flotilla ${command}, which is not a command (${commands.join(', ')})`);
    if (!helpOf.has(command)) helpOf.set(command, help([command, '--help']));
    const usage = helpOf.get(command) as string;
    for (const flag of rest.matchAll(/(?<![\w-])(--[a-z][a-z-]*)/g)) {
      assert.match(usage, new RegExp(`${flag[1]}\\b`), `${doc}: "${line}": ${flag[1]} is not in \`flotilla ${command} --help\``);
    }
    checked++;
  }
  assert.ok(checked >= 10, `found ${checked} flotilla command lines`);
});

test('every `npm run <script>`, `npm start` and `npm test` in the docs is a script of package.json', () => {
  let checked = 0;
  for (const { doc, line } of lines) {
    for (const m of line.matchAll(/\bnpm (?:run(?:-script)? (?:-s )?([\w:-]+)|(start|test)\b)/g)) {
      const script = m[1] ?? m[2];
      assert.ok(script && Object.hasOwn(pkg.scripts, script), `${doc}: "${line}": no npm script ${script}`);
      checked++;
    }
  }
  assert.ok(checked >= 10, `found ${checked} npm script uses`);
});

test('no command block runs src/ with a bare `node` (the machine\'s Node may be too old)', () => {
  for (const { doc, line } of lines.filter((l) => l.block)) {
    assert.doesNotMatch(line, /(^|[\s;&|])node (src|bench|scripts)\//, `${doc}: "${line}" — use npx flotilla, an npm script or node_modules/.bin/node`);
  }
});

test('the flotilla bin exists and is executable JavaScript with a node shebang', () => {
  const bin = new URL(pkg.bin.flotilla as string, root);
  assert.ok(existsSync(bin), pkg.bin.flotilla);
  assert.match(readFileSync(bin, 'utf8'), /^#!\/usr\/bin\/env node\n/);
});
