/** `flotilla controlplane up|down|status|image`: src/controlplane/cli.ts under the CLI's name. */
export const summary = 'Start, stop or inspect a local Kubernetes control plane (source checkout only)';

export async function controlplaneCommand(argv: string[]): Promise<number> {
  // Loaded on use: the rest of the CLI does not need the harness.
  const { runControlplaneCommand } = await import('../controlplane/cli.ts');
  return runControlplaneCommand(argv, 'flotilla controlplane');
}
