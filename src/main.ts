/**
 * `node src/main.ts [options]` = `flotilla run [options]`: the controller's
 * entry point without the command word, kept for scripts and tests that
 * start the controller directly. The CLI is src/cli/main.ts.
 */
import { run } from './run.ts';

const code = await run({ argv: process.argv.slice(2) });
if (code !== 0) process.exitCode = code;
