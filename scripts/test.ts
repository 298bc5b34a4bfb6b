/**
 * The project's test command (`npm test`): unit tests, then integration tests
 * against a real local control plane, in one `node --test` run so CI reads a
 * single summary. The control-plane binaries are built (or found in the
 * cache) first, with progress, so no test file times out waiting for a build.
 *
 *   node scripts/test.ts [unit|integration|all] [file ...]
 */
import { spawn } from 'node:child_process';
import { globSync } from 'node:fs';

const args = process.argv.slice(2);
const suite = args[0] === 'unit' || args[0] === 'integration' || args[0] === 'all' ? args.shift()! : 'all';
const explicit = args.filter((a) => a.endsWith('.ts'));
const passthrough = args.filter((a) => !a.endsWith('.ts'));

const files =
  explicit.length > 0
    ? explicit
    : [
        ...(suite !== 'integration' ? [...globSync('test/unit/**/*.test.ts'), ...globSync('test/controlplane/*.test.ts')] : []),
        ...(suite !== 'unit' ? globSync('test/integration/**/*.test.ts') : []),
      ].sort();

if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

if (files.some((f) => f.includes('integration'))) {
  const { ensureControlPlaneBinaries } = await import('../src/controlplane/binaries.ts');
  const started = Date.now();
  const bins = await ensureControlPlaneBinaries({ log: (line) => console.log(`[controlplane] ${line}`) });
  console.log(
    `[controlplane] kube-apiserver ${bins.kubernetesVersion}, etcd ${bins.etcdVersion} ready in ${((Date.now() - started) / 1000).toFixed(1)}s`,
  );
}

const child = spawn(
  process.execPath,
  [
    '--test',
    '--test-reporter=spec',
    // Two files at a time: each integration file runs its own control plane,
    // and this machine has two cores.
    `--test-concurrency=${process.env.FLOTILLA_TEST_CONCURRENCY ?? '2'}`,
    '--test-timeout=900000',
    // A test file whose tests are done must not hang CI on a leaked timer or
    // socket; leaks are still bugs, fixed in the test that has them.
    '--test-force-exit',
    ...passthrough,
    ...files,
  ],
  { stdio: 'inherit' },
);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
