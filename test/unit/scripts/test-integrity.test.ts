import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { integrityProblems, TestTally, type FileTally, type TestEvent } from '../../../scripts/test-integrity.ts';

const FILE = '/repo/test/unit/x.test.ts';

function event(type: string, name: string, extra: Partial<NonNullable<TestEvent['data']>> = {}): TestEvent {
  return { type, data: { file: FILE, name, nesting: 1, line: 3, column: 5, ...extra } };
}

function tallyOf(events: TestEvent[], expected: string[] = [FILE]): FileTally {
  const tally = new TestTally();
  for (const e of events) tally.observe(e);
  const found = tally.tallies(expected).find((t) => t.file === FILE);
  assert.ok(found);
  return found;
}

describe('test integrity tally', () => {
  it('a complete report has no problems', () => {
    const t = tallyOf([
      event('test:enqueue', 'a'),
      event('test:enqueue', 'b', { line: 4 }),
      event('test:pass', 'a'),
      event('test:fail', 'b', { line: 4 }),
      { type: 'test:summary', data: { file: FILE, counts: { tests: 2, suites: 0 } } },
    ]);
    assert.deepEqual(integrityProblems(t), []);
    assert.equal(t.registered, 2);
    assert.equal(t.tests, 2);
  });

  it('a report cut before the closing summary is a problem, and names what never finished', () => {
    const t = tallyOf([event('test:enqueue', 'a'), event('test:enqueue', 'b', { line: 4 }), event('test:pass', 'a')]);
    const problems = integrityProblems(t);
    assert.equal(problems.length, 2);
    assert.match(problems[0]!, /ended before the file's closing summary \(1 test verdict/);
    assert.match(problems[1]!, /1 registered test\(s\) never got a verdict: "b"/);
  });

  it('verdicts that do not add up to the child’s own count are a problem', () => {
    const t = tallyOf([
      event('test:enqueue', 'a'),
      event('test:pass', 'a'),
      event('test:pass', 's', { details: { type: 'suite' }, nesting: 0 }),
      { type: 'test:summary', data: { file: FILE, counts: { tests: 3, suites: 2 } } },
    ]);
    assert.deepEqual(integrityProblems(t), ['it ran 3 test(s) but 1 test verdict(s) received', 'it ran 2 suite(s) but 1 suite verdict(s) arrived']);
  });

  it('a table-driven test registered twice at one place needs two verdicts', () => {
    const t = tallyOf([event('test:enqueue', 'case'), event('test:enqueue', 'case'), event('test:pass', 'case')]);
    assert.deepEqual(t.missing, ['case']);
  });

  it('an expected file that sent nothing, and a file with no tests, are problems', () => {
    assert.match(integrityProblems(tallyOf([]))[0]!, /ended before the file's closing summary \(0 test verdict/);
    const empty = tallyOf([{ type: 'test:summary', data: { file: FILE, counts: { tests: 0, suites: 0 } } }]);
    assert.deepEqual(integrityProblems(empty), ['it ran no test at all']);
  });

  it('ignores the runner’s own entry for the file and the run-wide summary', () => {
    const t = tallyOf([
      { type: 'test:enqueue', data: { file: FILE, name: 'test/unit/x.test.ts', nesting: 0, line: 1, column: 1 } },
      event('test:enqueue', 'a'),
      event('test:pass', 'a'),
      { type: 'test:summary', data: { file: FILE, counts: { tests: 1, suites: 0 } } },
      { type: 'test:summary', data: { counts: { tests: 99, suites: 0 } } },
    ]);
    assert.deepEqual(integrityProblems(t), []);
  });
});

describe('test integrity against the real node:test runner', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'flotilla-integrity-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs `node --test` on one file with the integrity reporter, as scripts/test.ts does. */
  function runFile(name: string, source: string): { status: number | null; problems: string[] } {
    const file = join(dir, name);
    writeFileSync(file, source);
    const tallyFile = join(dir, `${name}.json`);
    const result = spawnSync(
      process.execPath,
      ['--test', `--test-reporter=${resolve('scripts/test-integrity-reporter.ts')}`, `--test-reporter-destination=${tallyFile}`, file],
      { encoding: 'utf8', env: { ...process.env, NODE_TEST_CONTEXT: undefined } },
    );
    const tallies = JSON.parse(readFileSync(tallyFile, 'utf8')) as FileTally[];
    const tally = tallies.find((t) => t.file === file) ?? { file, registered: 0, tests: 0, suites: 0, missing: [] };
    return { status: result.status, problems: integrityProblems(tally) };
  }

  it('a whole file, including suites registered after an await, is complete', () => {
    const run = runFile(
      'whole.test.mjs',
      `import { describe, it } from 'node:test';
       describe('first', () => { for (const n of [1, 2, 3]) it('case ' + n, () => {}); });
       await new Promise((r) => setTimeout(r, 20));
       describe('after an await', async () => { await new Promise((r) => setTimeout(r, 5)); it('late', () => {}); });`,
    );
    assert.equal(run.status, 0);
    assert.deepEqual(run.problems, []);
  });

  it('a file whose process exits mid-run passes the runner but fails the integrity check', () => {
    const run = runFile(
      'early-exit.test.mjs',
      `import { describe, it } from 'node:test';
       describe('s', () => { it('a', () => {}); it('exits', () => { process.exit(0); }); it('never runs', () => {}); });`,
    );
    assert.equal(run.status, 0, 'node:test itself reports this file as passed');
    assert.ok(run.problems.some((p) => p.includes("ended before the file's closing summary")), run.problems.join('\n'));
  });
});
