/**
 * What a controller process costs before it holds anything: RSS and V8 heap
 * of a fresh Node process after importing each library alone, and after
 * importing the controller's whole module graph (src/run.ts, nothing run),
 * each in its own process, after forced GCs — with Node's defaults and with
 * the V8 settings the Deployment sets (src/runtime/node-options.ts).
 *
 *   node_modules/.bin/node bench/import-memory.ts [--json FILE]
 *
 * Sources run as .ts through Node's type stripping, which costs memory of
 * its own (the stripper is loaded on the first .ts file): the `(type
 * stripping)` row measures it; the container image runs compiled JavaScript.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CONTROLLER_NODE_OPTIONS } from '../src/runtime/node-options.ts';
import { table } from './lib/report.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const { values: args } = parseArgs({ options: { json: { type: 'string', default: 'bench/results/import-memory.json' } } });

/** Imports `target` (nothing for ''), collects garbage, prints process.memoryUsage() and the heap spaces as JSON. */
const PROBE = `
const target = process.argv[1];
if (target) await import(target);
globalThis.gc(); globalThis.gc();
await new Promise((r) => setTimeout(r, 100));
const { getHeapSpaceStatistics } = await import('node:v8');
const m = process.memoryUsage();
const newSpace = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? 0;
console.log(JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, newSpace }));
`;

const TARGETS: Array<[string, string]> = [
  ['(empty process)', ''],
  ['(type stripping: one empty .ts module)', new URL('./lib/empty-module.ts', import.meta.url).href],
  ['@kubernetes/client-node', '@kubernetes/client-node'],
  ['prom-client', 'prom-client'],
  ['pino', 'pino'],
  ['piscina', 'piscina'],
  ['yaml', 'yaml'],
  ['typebox', 'typebox'],
  ['the controller (src/run.ts, all of it)', new URL('../src/run.ts', import.meta.url).href],
];

interface Row {
  what: string;
  flags: string;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  newSpace: number;
}

const rows: Row[] = [];
for (const flags of ['', CONTROLLER_NODE_OPTIONS]) {
  for (const [what, target] of TARGETS) {
    const out = execFileSync(process.execPath, ['--expose-gc', ...(flags ? flags.split(' ') : []), '--input-type=module', '-e', PROBE, target], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    rows.push({ what, flags: flags || '(defaults)', ...(JSON.parse(out.trim().split('\n').at(-1) as string) as Omit<Row, 'what' | 'flags'>) });
  }
}
const MiB = 2 ** 20;
const empty = (flags: string) => rows.find((r) => r.flags === flags && r.what === '(empty process)')?.rss ?? 0;
console.log(
  table(
    rows.map((r) => ({
      what: r.what,
      flags: r.flags,
      'RSS MiB': Math.round((r.rss / MiB) * 10) / 10,
      'over empty MiB': Math.round(((r.rss - empty(r.flags)) / MiB) * 10) / 10,
      'heap used MiB': Math.round((r.heapUsed / MiB) * 10) / 10,
      'heap total MiB': Math.round((r.heapTotal / MiB) * 10) / 10,
      'new space MiB': Math.round((r.newSpace / MiB) * 10) / 10,
      'external MiB': Math.round((r.external / MiB) * 10) / 10,
    })),
  ),
);
const json = resolve(args.json);
mkdirSync(dirname(json), { recursive: true });
writeFileSync(json, `${JSON.stringify({ node: process.version, date: new Date().toISOString(), rows }, null, 2)}\n`);
console.log(`\nwrote ${json}`);
