/**
 * A `node --test` reporter that writes, when the run ends, one JSON line per
 * test file: what the parent received from it (see test-integrity.ts).
 * `scripts/test.ts` reads the file and fails the run on any shortfall.
 */
import { TestTally, type TestEvent } from './test-integrity.ts';

export default async function* integrityReporter(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  const tally = new TestTally();
  for await (const event of source) tally.observe(event);
  yield `${JSON.stringify(tally.tallies())}\n`;
}
