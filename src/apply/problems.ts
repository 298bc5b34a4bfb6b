/**
 * What `flotilla apply` found wrong with its input, before anything was
 * sent: each problem names the file and, where the parser or the schema
 * knows it, the line, compiler-style (`dir/deploy.yaml:14: …`), so an
 * editor or terminal can jump there. Every problem is reported at once.
 */

export interface InputProblem {
  /** The file as the user named it (DIR joined with the relative path, or the -f argument). */
  readonly file: string;
  /** 1-based line, when known. */
  readonly line?: number | undefined;
  /** What is wrong and, where it is not obvious, what to do. */
  readonly message: string;
}

export function formatProblem(problem: InputProblem): string {
  return problem.line === undefined ? `${problem.file}: ${problem.message}` : `${problem.file}:${problem.line}: ${problem.message}`;
}

/** Input that cannot become a Bundle: nothing was sent to the cluster. One line per problem. */
export class InputError extends Error {
  override name = 'InputError';
  readonly problems: readonly InputProblem[];

  constructor(problems: readonly InputProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.problems = problems;
  }
}

/** Throws an InputError when there are problems. */
export function throwIfProblems(problems: readonly InputProblem[]): void {
  if (problems.length > 0) throw new InputError(problems);
}
