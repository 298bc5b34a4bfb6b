/**
 * The certificate the secure metrics server presents. From `certDir`
 * (`tls.crt` and `tls.key`, the keys of a cert-manager or
 * `kubernetes.io/tls` Secret mounted as a directory), re-read when the files
 * change so a renewed certificate is served without a restart; or, with no
 * `certDir`, a self-signed one generated at start (controller-runtime's
 * behaviour), which scrapers accept with `insecureSkipVerify`.
 *
 * Changes are found by polling (every 10 s, as controller-runtime's
 * certwatcher backs up its inotify watch): a Secret volume is updated by an
 * atomic symlink swap that a file watch does not see. A changed pair that
 * does not load (half-written, or a key that does not match) is logged and
 * the previous one kept.
 */
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { componentLogger, silentLogger, type Logger } from './logger.ts';
import { generateSelfSignedCertificate, type PemKeyPair } from './self-signed-certificate.ts';

export const CERT_FILE = 'tls.crt';
export const KEY_FILE = 'tls.key';

export interface ServingCertificateOptions {
  /** Directory holding tls.crt and tls.key; empty or undefined = self-signed. */
  certDir?: string | undefined;
  logger?: Logger;
  pollIntervalMs?: number;
}

/** Parses and cross-checks a PEM pair; throws with the reason. */
export function checkKeyPair(pair: PemKeyPair): X509Certificate {
  const certificate = new X509Certificate(pair.cert);
  if (!certificate.checkPrivateKey(createPrivateKey(pair.key))) throw new Error(`${KEY_FILE} is not the key of ${CERT_FILE}`);
  return certificate;
}

export class ServingCertificate {
  readonly #certDir: string | undefined;
  readonly #logger: Logger;
  readonly #pollIntervalMs: number;
  readonly #listeners: Array<(pair: PemKeyPair) => void> = [];
  #pair: PemKeyPair | undefined;
  #digest = '';
  #timer: NodeJS.Timeout | undefined;

  constructor(options: ServingCertificateOptions = {}) {
    this.#certDir = options.certDir || undefined;
    this.#logger = componentLogger(options.logger ?? silentLogger, 'serving-certificate');
    this.#pollIntervalMs = options.pollIntervalMs ?? 10_000;
  }

  /** Where the certificate comes from, for logs. */
  get source(): string {
    return this.#certDir === undefined ? 'self-signed' : this.#certDir;
  }

  /** The pair in use; undefined before `start()`. */
  get current(): PemKeyPair | undefined {
    return this.#pair;
  }

  /** Called with every new pair after the first. */
  onChange(listener: (pair: PemKeyPair) => void): void {
    this.#listeners.push(listener);
  }

  /** Loads (or generates) the pair; fails if `certDir` has no valid one. Then watches it. */
  async start(): Promise<PemKeyPair> {
    if (this.#pair !== undefined) return this.#pair;
    if (this.#certDir === undefined) {
      this.#pair = generateSelfSignedCertificate({ commonName: 'flotilla-metrics', hosts: ['localhost', hostname(), '127.0.0.1', '::1'] });
      this.#logger.info('serving a self-signed certificate (no metrics.certDir)');
      return this.#pair;
    }
    const { pair, digest } = await this.#read(this.#certDir);
    checkKeyPairIn(this.#certDir, pair);
    this.#pair = pair;
    this.#digest = digest;
    this.#logger.info({ certDir: this.#certDir, ...describe(pair) }, 'serving certificate loaded');
    this.#timer = setInterval(() => void this.#poll(), this.#pollIntervalMs).unref();
    return pair;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #read(dir: string): Promise<{ pair: PemKeyPair; digest: string }> {
    const read = async (file: string) => {
      try {
        return await readFile(join(dir, file), 'utf8');
      } catch (error) {
        throw new Error(`metrics.certDir ${dir}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { cause: error });
      }
    };
    const [cert, key] = await Promise.all([read(CERT_FILE), read(KEY_FILE)]);
    return { pair: { cert, key }, digest: createHash('sha256').update(cert).update('\0').update(key).digest('hex') };
  }

  async #poll(): Promise<void> {
    const dir = this.#certDir;
    if (dir === undefined || this.#timer === undefined) return;
    try {
      const { pair, digest } = await this.#read(dir);
      if (digest === this.#digest) return;
      checkKeyPairIn(dir, pair);
      this.#pair = pair;
      this.#digest = digest;
      this.#logger.info({ certDir: dir, ...describe(pair) }, 'serving certificate reloaded');
      for (const listener of this.#listeners) listener(pair);
    } catch (error) {
      this.#logger.error({ err: error, certDir: dir }, 'serving certificate changed but cannot be loaded; keeping the previous one');
    }
  }
}

function checkKeyPairIn(dir: string, pair: PemKeyPair): void {
  try {
    checkKeyPair(pair);
  } catch (error) {
    throw new Error(`metrics.certDir ${dir}: ${(error as Error).message}`, { cause: error });
  }
}

function describe(pair: PemKeyPair): Record<string, string> {
  const certificate = new X509Certificate(pair.cert);
  return { subject: certificate.subject.replace(/\n/g, ', '), notAfter: certificate.validTo, fingerprint256: certificate.fingerprint256 };
}
