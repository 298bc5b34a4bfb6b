/** One problem found in a configuration file. */
export interface ConfigIssue {
  /** The field, as the user writes it (`concurrency.poolThreads`); '' for the file as a whole. */
  path: string;
  /** A full sentence naming the field and what is allowed, e.g. `x must be an integer between 1 and 10, got 0`. */
  message: string;
  /** 1-based position in the file, when known. */
  line?: number;
  column?: number;
}

function formatIssue(source: string, issue: ConfigIssue): string {
  const where = issue.line === undefined ? '' : ` (line ${issue.line}${issue.column === undefined ? '' : `, column ${issue.column}`})`;
  return `${source}: ${issue.message}${where}`;
}

/**
 * An invalid configuration. Carries every problem found, not just the first:
 * fixing a file one error per restart is the slowest possible loop. The
 * message has one line per problem, each starting with the file name.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly source: string;
  readonly issues: readonly ConfigIssue[];

  constructor(source: string, issues: readonly ConfigIssue[]) {
    const lines = issues.map((issue) => formatIssue(source, issue));
    super(
      lines.length === 1
        ? (lines[0] ?? '')
        : [`${source}: ${issues.length} configuration problems:`, ...lines.map((line) => `  ${line}`)].join('\n'),
    );
    this.source = source;
    this.issues = Object.freeze([...issues]);
  }
}
