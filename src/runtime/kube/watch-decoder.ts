import { ApiError } from '../errors.ts';
import type { WatchEvent } from './api-types.ts';
import type { KubeObject } from './resource.ts';

/**
 * Turns a watch response body (newline-delimited JSON, arriving in chunks
 * that split lines anywhere) into events. An `ERROR` event carries a Status
 * (e.g. 410 Expired) and becomes an ApiError with its code.
 */
export class WatchDecoder<T extends KubeObject = KubeObject> {
  readonly #resource: string;
  #buffered = '';

  constructor(resource: string) {
    this.#resource = resource;
  }

  /**
   * Calls `onEvent` for every complete line so far, in order. Throws on an
   * undecodable line, an `ERROR` event, or whatever `onEvent` throws; lines
   * after the one that threw are not decoded (the stream is to be closed).
   */
  push(chunk: string, onEvent: (event: WatchEvent<T>) => void): void {
    this.#buffered += chunk;
    let newline = this.#buffered.indexOf('\n');
    while (newline >= 0) {
      const line = this.#buffered.slice(0, newline);
      this.#buffered = this.#buffered.slice(newline + 1);
      newline = this.#buffered.indexOf('\n');
      if (line.trim() === '') continue;
      onEvent(this.#decode(line));
    }
  }

  #decode(line: string): WatchEvent<T> {
    let event: { type: string; object: unknown };
    try {
      event = JSON.parse(line);
    } catch (err) {
      throw new Error(`watch ${this.#resource}: undecodable event: ${(err as Error).message}`);
    }
    if (event.type === 'ERROR') {
      const status = event.object as { code?: number; reason?: string; message?: string };
      throw new ApiError({
        statusCode: status.code ?? 500,
        reason: status.reason ?? '',
        message: status.message ?? 'watch error',
        verb: 'watch',
        resource: this.#resource,
        body: status,
      });
    }
    return event as WatchEvent<T>;
  }
}
