/**
 * Argument parsing for the `flotilla` commands: node:util's parseArgs with
 * its errors turned into one sentence (its own text for an unknown option
 * runs to three), and the exit codes every command shares.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

export const Exit = {
  Ok: 0,
  /** An unexpected internal error (a bug, or a failure with no better code). */
  Failure: 1,
  /** Usage or configuration error: nothing was started. */
  Usage: 2,
} as const;

/** A mistake on the command line or in the configuration: printed as one sentence, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseCommandArgs<O extends Options>(command: string, argv: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const unknown = /^Unknown option '([^']+)'/.exec(message)?.[1];
    const positional = /^Unexpected argument '([^']+)'/.exec(message)?.[1];
    const help = `run \`flotilla ${command} --help\` for usage`;
    if (unknown) throw new UsageError(`Unknown option ${unknown} for \`flotilla ${command}\`; ${help}.`);
    if (positional) throw new UsageError(`Unexpected argument "${positional}" for \`flotilla ${command}\`; ${help}.`);
    // e.g. "Option '--config <value>' argument missing"
    throw new UsageError(`${message.replace(/\.$/, '')}; ${help}.`);
  }
}

/** Prints an error the way every command does: one line on stderr, no stack. */
export function printError(error: unknown): number {
  if (error instanceof UsageError) {
    console.error(error.message);
    return Exit.Usage;
  }
  const message = error instanceof Error ? error.message : String(error);
  console.error(`flotilla: ${message}`);
  if (process.env.FLOTILLA_DEBUG && error instanceof Error && error.stack) console.error(error.stack);
  return Exit.Failure;
}
