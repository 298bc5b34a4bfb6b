import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** `src/cli/main.ts`: the `flotilla` command as tests run it, on this Node. */
export const CLI = join(fileURLToPath(new URL('../../', import.meta.url)), 'src/cli/main.ts');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `flotilla ARGS` as its own process with a bare environment (no
 * KUBECONFIG, HOME in the temp dir), resolving with its exit code and output
 * whatever the code; rejects only when it could not run.
 */
export async function runCli(args: string[], options: { timeoutMs?: number } = {}): Promise<CliResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: tmpdir() },
      timeout: options.timeoutMs ?? 120_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** Writes a kubeconfig with two contexts, `alpha` (current) and `beta`, on two made-up servers; returns `file`. */
export function writeTwoContextKubeconfig(file: string, current = 'alpha'): string {
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
current-context: ${current}
clusters:
- name: alpha
  cluster: { server: https://alpha.example:6443, insecure-skip-tls-verify: true }
- name: beta
  cluster: { server: https://beta.example:6443, insecure-skip-tls-verify: true }
users:
- name: admin
  user: { token: not-a-real-token }
contexts:
- name: alpha
  context: { cluster: alpha, user: admin }
- name: beta
  context: { cluster: beta, user: admin }
`,
  );
  return file;
}
