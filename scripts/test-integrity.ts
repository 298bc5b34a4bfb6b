/**
 * Proof that every test a file registered reached the report.
 *
 * `node --test` runs each file in a child process that streams its events
 * (V8-serialised) to the parent over a pipe. Whatever cuts that stream short
 * — a child ending through `process.exit()` (as `--test-force-exit` does,
 * nodejs/node#64833) or a crash mid-file — makes verdicts vanish while the
 * parent still prints "fail 0". So, per file, this tallies what the parent
 * actually received and checks it against what the child said it ran:
 *
 * - the child's own closing `test:summary` must arrive: it is the last event
 *   a child sends, so its absence means the stream was cut;
 * - every test the child registered (`test:enqueue`) must have a verdict;
 * - the verdicts received must add up to the counts in the child's summary;
 * - a file must run at least one test (a file whose suites never registered
 *   is a file that checks nothing).
 *
 * Nothing here is a committed count: the numbers come from the run itself.
 */

/** The slice of a `node:test` reporter event this check reads. */
export interface TestEvent {
  type: string;
  data?: {
    file?: string;
    name?: string;
    nesting?: number;
    line?: number;
    column?: number;
    details?: { type?: string };
    counts?: { tests?: number; suites?: number };
  };
}

export interface FileTally {
  file: string;
  /** Tests and suites the child registered. */
  registered: number;
  /** Verdicts (pass or fail) received for tests, not suites. */
  tests: number;
  /** Verdicts received for suites. */
  suites: number;
  /** The child's own count from its closing summary; absent when the stream was cut. */
  summary?: { tests: number; suites: number };
  /** Registered tests that never got a verdict, by name. */
  missing: string[];
}

export class TestTally {
  readonly #files = new Map<string, Entry>();

  observe(event: TestEvent): void {
    const file = event.data?.file;
    if (file === undefined) return;
    // The parent's own entry for the file (nesting 0, named after it) is not
    // one of the child's tests.
    if (event.data?.nesting === 0 && isFileEntry(event, file)) return;
    const entry = this.#entry(file);
    switch (event.type) {
      case 'test:enqueue': {
        const id = testId(event);
        const open = entry.open.get(id);
        if (open) open.count++;
        else entry.open.set(id, { name: event.data?.name ?? '(unnamed)', count: 1 });
        entry.tally.registered++;
        break;
      }
      case 'test:pass':
      case 'test:fail':
        settle(entry.open, testId(event));
        if (event.data?.details?.type === 'suite') entry.tally.suites++;
        else entry.tally.tests++;
        break;
      case 'test:summary':
        entry.tally.summary = { tests: event.data?.counts?.tests ?? 0, suites: event.data?.counts?.suites ?? 0 };
        break;
    }
  }

  /** Tallies for every file seen, plus empty ones for expected files that sent nothing. */
  tallies(expectedFiles: readonly string[] = []): FileTally[] {
    for (const file of expectedFiles) this.#entry(file);
    return [...this.#files.values()].map(({ tally, open }) => ({
      ...tally,
      missing: [...open.values()].flatMap(({ name, count }) => Array<string>(count).fill(name)),
    }));
  }

  #entry(file: string): Entry {
    let entry = this.#files.get(file);
    if (!entry) {
      entry = { tally: { file, registered: 0, tests: 0, suites: 0, missing: [] }, open: new Map() };
      this.#files.set(file, entry);
    }
    return entry;
  }
}

/** What is wrong with one file's tally, in sentences; empty when every test reached the report. */
export function integrityProblems(tally: FileTally): string[] {
  const problems: string[] = [];
  const received = `${tally.tests} test verdict(s) received`;
  if (!tally.summary) {
    problems.push(`its report ended before the file's closing summary (${received}): the test process exited early or its output was cut`);
  } else {
    if (tally.summary.tests !== tally.tests) {
      problems.push(`it ran ${tally.summary.tests} test(s) but ${received}`);
    }
    if (tally.summary.suites !== tally.suites) {
      problems.push(`it ran ${tally.summary.suites} suite(s) but ${tally.suites} suite verdict(s) arrived`);
    }
    if (tally.summary.tests === 0) problems.push('it ran no test at all');
  }
  if (tally.missing.length > 0) {
    const shown = tally.missing.slice(0, 5).map((name) => JSON.stringify(name)).join(', ');
    const more = tally.missing.length > 5 ? ` and ${tally.missing.length - 5} more` : '';
    problems.push(`${tally.missing.length} registered test(s) never got a verdict: ${shown}${more}`);
  }
  return problems;
}

interface Entry {
  tally: FileTally;
  /** Registered tests still waiting for a verdict; a table-driven test may register one id several times. */
  open: Map<string, { name: string; count: number }>;
}

function settle(open: Entry['open'], id: string): void {
  const waiting = open.get(id);
  if (!waiting) return;
  if (--waiting.count === 0) open.delete(id);
}

function testId(event: TestEvent): string {
  const d = event.data ?? {};
  return `${d.nesting ?? ''}:${d.line ?? ''}:${d.column ?? ''}:${d.name ?? ''}`;
}

function isFileEntry(event: TestEvent, file: string): boolean {
  const name = event.data?.name;
  // Named by the path the runner was given, which may be relative.
  return name !== undefined && (file === name || file.endsWith(`/${name}`));
}
