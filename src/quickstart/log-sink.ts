/**
 * Where the quick start's controller logs go: the full JSON log to a file
 * (the terminal shows the progress display instead), and the message of
 * every error-level line to the terminal as well, so a problem such as
 * "cannot reach the API server ..." is seen, not buried in a file.
 */
import { pino, type DestinationStream } from 'pino';

const ERROR_LEVEL = 50;

export function quickstartLogSink(file: string, echo: (line: string) => void): DestinationStream & { flushSync(): void } {
  const destination = pino.destination({ dest: file, sync: true, mkdir: true });
  return {
    write(line: string) {
      destination.write(line);
      let entry: { level?: unknown; msg?: unknown };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        return;
      }
      if (typeof entry.level === 'number' && entry.level >= ERROR_LEVEL && typeof entry.msg === 'string') {
        echo(`${entry.level >= 60 ? 'fatal' : 'error'}: ${entry.msg}`);
      }
    },
    flushSync() {
      destination.flushSync();
    },
  };
}
