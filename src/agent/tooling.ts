import { packageVersion } from '../cli/paths.ts';

/** The ApplySet `tooling` annotation value (KEP-3659: `<tool>/<version>`), which kubectl checks before touching a set. */
export function agentTooling(): string {
  return `flotilla/v${packageVersion()}`;
}
