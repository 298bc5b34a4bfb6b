#!/usr/bin/env node
// The `flotilla` command (package.json "bin"; `npx flotilla …` in a checkout).
//
// In a source checkout it runs src/cli/main.ts with Node's type stripping, so
// `npx flotilla` works right after `npm install` and never runs a stale build;
// installed as a package (where Node does not strip types under
// node_modules) it runs the compiled dist/src/cli/main.js, the file the
// container image's ENTRYPOINT runs. `npx` puts node_modules/.bin first on
// PATH, so `env node` above is the project's pinned Node 24 (the devDependency
// `node`), whatever the machine's own Node is.
import { existsSync } from 'node:fs';
import { enableCompileCache } from 'node:module';
import { fileURLToPath } from 'node:url';

// V8's code cache across runs (in the OS temp dir): loading the Kubernetes
// client compiles ~0.6 s of JavaScript otherwise, on every command.
enableCompileCache?.();

const root = new URL('../', import.meta.url);
const source = new URL('src/cli/main.ts', root);
const built = new URL('dist/src/cli/main.js', root);
const inNodeModules = fileURLToPath(root).split(/[\\/]/).includes('node_modules');

if (!inNodeModules && existsSync(source)) {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 24) {
    console.error(`flotilla needs Node 24 (this is Node ${process.versions.node}); in a checkout run it as \`npx flotilla …\` or through npm scripts, which use the pinned node_modules/.bin/node.`);
    process.exit(2);
  }
  await import(source.href);
} else if (existsSync(built)) {
  await import(built.href);
} else {
  console.error(`flotilla: ${fileURLToPath(built)} is missing; build it with \`npm run build\`.`);
  process.exit(2);
}
