import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { setTimeout as delay } from 'node:timers/promises';
import { logTail, type ManagedProcess } from './processes.ts';

/** TLS material for talking to a component: trust our CA, present a client cert. */
export interface TlsClientOptions {
  ca?: string;
  cert?: string;
  key?: string;
  /** For components with self-signed serving certs (kube-controller-manager). */
  insecure?: boolean;
}

export interface HttpResult {
  status: number;
  body: string;
}

export function httpGet(url: string, options: { tls?: TlsClientOptions; timeoutMs?: number; headers?: Record<string, string> } = {}): Promise<HttpResult> {
  const target = new URL(url);
  const isHttps = target.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const req = (isHttps ? httpsRequest : httpRequest)(
      target,
      {
        method: 'GET',
        timeout: options.timeoutMs ?? 5000,
        ...(options.headers ? { headers: options.headers } : {}),
        // A fresh connection per probe: a keep-alive socket to a server that
        // was just restarted would report the old server's state.
        agent: false,
        ...(isHttps
          ? {
              ca: options.tls?.ca,
              cert: options.tls?.cert,
              key: options.tls?.key,
              rejectUnauthorized: !(options.tls?.insecure ?? false),
            }
          : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out after ${options.timeoutMs ?? 5000} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Polls `url` until it answers 200, failing fast (with the log's tail) if
 * the process dies first, since a crashed component never becomes healthy.
 */
export async function waitUntilHealthy(options: {
  url: string;
  process: ManagedProcess;
  tls?: TlsClientOptions;
  timeoutMs?: number;
  intervalMs?: number;
}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    if (!options.process.isRunning()) {
      const status = await options.process.exited;
      throw new Error(
        `${options.process.name} exited (${status.signal ?? `code ${status.code}`}) before ${options.url} was healthy; ` +
          `last lines of ${options.process.logFile}:\n${await logTail(options.process.logFile)}`,
      );
    }
    try {
      const result = await httpGet(options.url, { ...(options.tls ? { tls: options.tls } : {}), timeoutMs: 2000 });
      if (result.status === 200) return;
      last = `HTTP ${result.status}: ${result.body.trim().split('\n').filter((l) => l.includes('[-]')).join('; ') || result.body.trim().slice(0, 300)}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${options.process.name} was not healthy at ${options.url} within ${timeoutMs} ms (last: ${last}); ` +
          `last lines of ${options.process.logFile}:\n${await logTail(options.process.logFile)}`,
      );
    }
    await delay(options.intervalMs ?? 100);
  }
}
