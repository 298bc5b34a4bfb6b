import { spawn } from 'node:child_process';
import { generateKeyPair, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * The control plane's certificates. Keys come from node:crypto; X.509 needs
 * the `openssl` CLI because Node cannot sign certificates. Every certificate
 * is issued by one CA the harness creates, which the API server trusts for
 * client certificates (`--client-ca-file`) and clients trust for serving.
 */

const generateKeyPairAsync = promisify(generateKeyPair);

export interface KeyPairFiles {
  certFile: string;
  keyFile: string;
}

export interface CertificateAuthority extends KeyPairFiles {
  certPem: string;
}

export interface IssuedCertificate extends KeyPairFiles {
  certPem: string;
  keyPem: string;
}

export interface CertificateRequest {
  commonName: string;
  /** Becomes the Kubernetes groups of a client certificate. */
  organizations?: string[];
  usage: 'server' | 'client';
  dnsNames?: string[];
  ipAddresses?: string[];
  /** Path prefix for the `.crt` and `.key` files. */
  filePrefix: string;
}

// Characters openssl's -subj syntax and Kubernetes user names both take
// without escaping; anything else is almost certainly a mistake in a test.
const SUBJECT_VALUE = /^[A-Za-z0-9][A-Za-z0-9:._@-]*$/;

export function assertSubjectValue(kind: string, value: string): void {
  if (!SUBJECT_VALUE.test(value)) {
    throw new Error(`Invalid ${kind} ${JSON.stringify(value)}: use letters, digits and ':._@-' only.`);
  }
}

async function newPrivateKeyPem(): Promise<string> {
  const { privateKey } = await generateKeyPairAsync('ec', {
    namedCurve: 'prime256v1',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return privateKey;
}

export async function createCertificateAuthority(dir: string, commonName: string): Promise<CertificateAuthority> {
  assertSubjectValue('CA name', commonName);
  await mkdir(dir, { recursive: true });
  const keyFile = join(dir, 'ca.key');
  const certFile = join(dir, 'ca.crt');
  const configFile = join(dir, 'ca.cnf');
  await writeFile(keyFile, await newPrivateKeyPem(), { mode: 0o600 });
  await writeFile(
    configFile,
    [
      '[req]',
      'distinguished_name = dn',
      '[dn]',
      '[ca]',
      'basicConstraints = critical,CA:TRUE',
      'keyUsage = critical,keyCertSign,cRLSign,digitalSignature',
      'subjectKeyIdentifier = hash',
      '',
    ].join('\n'),
  );
  await openssl(['req', '-new', '-x509', '-config', configFile, '-extensions', 'ca', '-key', keyFile,
    '-subj', `/CN=${commonName}`, '-days', '3650', '-sha256', '-set_serial', randomSerial(), '-out', certFile]);
  return { certFile, keyFile, certPem: await readFile(certFile, 'utf8') };
}

export async function issueCertificate(ca: CertificateAuthority, request: CertificateRequest): Promise<IssuedCertificate> {
  assertSubjectValue('common name', request.commonName);
  for (const org of request.organizations ?? []) assertSubjectValue('organization (group)', org);
  const keyFile = `${request.filePrefix}.key`;
  const certFile = `${request.filePrefix}.crt`;
  const configFile = `${request.filePrefix}.cnf`;
  const keyPem = await newPrivateKeyPem();
  await writeFile(keyFile, keyPem, { mode: 0o600 });
  const altNames = [
    ...(request.dnsNames ?? []).map((name) => `DNS:${name}`),
    ...(request.ipAddresses ?? []).map((ip) => `IP:${ip}`),
  ];
  await writeFile(
    configFile,
    [
      '[req]',
      'distinguished_name = dn',
      '[dn]',
      '[leaf]',
      'basicConstraints = critical,CA:FALSE',
      'keyUsage = critical,digitalSignature,keyEncipherment',
      `extendedKeyUsage = ${request.usage === 'server' ? 'serverAuth' : 'clientAuth'}`,
      'authorityKeyIdentifier = keyid',
      ...(altNames.length > 0 ? [`subjectAltName = ${altNames.join(',')}`] : []),
      '',
    ].join('\n'),
  );
  const subject = `/CN=${request.commonName}${(request.organizations ?? []).map((org) => `/O=${org}`).join('')}`;
  const csr = await openssl(['req', '-new', '-config', configFile, '-key', keyFile, '-subj', subject]);
  // A random serial per certificate lets userKubeconfig() run concurrently
  // without sharing an openssl serial file.
  await openssl(['x509', '-req', '-CA', ca.certFile, '-CAkey', ca.keyFile, '-set_serial', randomSerial(),
    '-days', '365', '-sha256', '-extfile', configFile, '-extensions', 'leaf', '-out', certFile], csr);
  return { certFile, keyFile, certPem: await readFile(certFile, 'utf8'), keyPem };
}

/** The service-account token signing key pair (`--service-account-*-key-file`). */
export async function createServiceAccountKeys(dir: string): Promise<{ publicKeyFile: string; privateKeyFile: string }> {
  const { privateKey, publicKey } = await generateKeyPairAsync('ec', {
    namedCurve: 'prime256v1',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const privateKeyFile = join(dir, 'sa.key');
  const publicKeyFile = join(dir, 'sa.pub');
  await writeFile(privateKeyFile, privateKey, { mode: 0o600 });
  await writeFile(publicKeyFile, publicKey);
  return { publicKeyFile, privateKeyFile };
}

function randomSerial(): string {
  // Positive 127-bit serial, as RFC 5280 asks for (at most 20 octets, non-negative).
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return `0x${bytes.toString('hex')}`;
}

function openssl(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.env.FLOTILLA_OPENSSL || 'openssl', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error) => {
      reject((error as NodeJS.ErrnoException).code === 'ENOENT'
        ? new Error('The `openssl` command was not found; install OpenSSL (Debian: apt-get install openssl) or set FLOTILLA_OPENSSL.')
        : error);
    });
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(stdout).toString('utf8'));
      else reject(new Error(`openssl ${args[0]} failed (exit ${code}): ${Buffer.concat(stderr).toString('utf8').trim()}`));
    });
    child.stdin.on('error', () => {
      // openssl exiting early closes its stdin; the exit code reports why.
    });
    child.stdin.end(input ?? '');
  });
}
