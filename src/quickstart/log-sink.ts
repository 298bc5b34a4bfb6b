/**
 * Where the quick start's controller logs go: the full log to a file (the
 * terminal shows the progress display instead), and the message of every
 * error-level line to the terminal as well, so a problem such as "cannot
 * reach the API server ..." is seen, not buried in a file. The logger
 * writes JSON here; with `format: 'text'` the file gets readable lines.
 */
import { pino, type DestinationStream } from 'pino';
import { levelAtLeast, type LogFormat } from '../observability/logger.ts';
import { formatTextLine } from '../observability/text-format.ts';

export function quickstartLogSink(file: string, echo: (line: string) => void, format: LogFormat = 'json'): DestinationStream & { flushSync(): void } {
  const destination = pino.destination({ dest: file, sync: true, mkdir: true });
  return {
    write(line: string) {
      destination.write(format === 'text' ? formatTextLine(line) : line);
      let entry: { level?: unknown; msg?: unknown };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        return;
      }
      if (levelAtLeast(entry.level, 'error') && typeof entry.msg === 'string') {
        echo(`${entry.level === 'fatal' ? 'fatal' : 'error'}: ${entry.msg}`);
      }
    },
    flushSync() {
      destination.flushSync();
    },
  };
}
