import { run } from './run.ts';

const code = await run({ argv: process.argv.slice(2) });
if (code !== 0) process.exitCode = code;
