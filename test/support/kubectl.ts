import { execFile } from 'node:child_process';
import { ensureControlPlaneBinaries } from '../../src/controlplane/binaries.ts';

/**
 * Runs the real kubectl (built from the same pinned module as the server) so
 * tests can assert on what an operator actually sees.
 */
export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubectlOptions {
  input?: string;
  timeoutMs?: number;
  /** Working directory, for relative paths such as `-k config/rbac`; default: this process's. */
  cwd?: string;
}

export async function kubectl(kubeconfig: string, args: string[], options: KubectlOptions = {}): Promise<KubectlResult> {
  const { kubectl: binary } = await ensureControlPlaneBinaries();
  return await new Promise<KubectlResult>((resolve, reject) => {
    const child = execFile(
      binary,
      ['--kubeconfig', kubeconfig, ...args],
      { timeout: options.timeoutMs ?? 60_000, maxBuffer: 32 * 1024 * 1024, ...(options.cwd !== undefined ? { cwd: options.cwd } : {}) },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(new Error(`kubectl ${args.join(' ')} did not run: ${error.message}\n${stderr}`));
          return;
        }
        resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Like {@link kubectl}, failing with kubectl's stderr unless it exits 0. */
export async function kubectlOk(kubeconfig: string, args: string[], options: KubectlOptions = {}): Promise<string> {
  const result = await kubectl(kubeconfig, args, options);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${result.code}: ${result.stderr.trim()}`);
  return result.stdout;
}
