/**
 * Parsing of one Bundle resource's `content` into Kubernetes objects. The
 * controller validates Bundles with it and the agent that applies them
 * should use it too, so that "valid" means the same thing on both sides.
 *
 * Format detection follows Kubernetes' YAMLOrJSONDecoder: content whose
 * first non-blank character is `{` is JSON (one object); anything else is a
 * YAML stream of `---`-separated documents. Flow-style YAML that starts with
 * `{` but is not JSON is still accepted (it parses as YAML), and if neither
 * parser accepts it, the JSON error is reported, since it looked like JSON.
 *
 * YAML is read as YAML 1.2 (core schema), with duplicate keys rejected (as
 * the API server's strict decoding does) and alias expansion bounded (the
 * `yaml` library's default of 100 aliases defeats "billion laughs").
 * Documents that are empty or only comments are skipped, as kubectl does.
 */
import { parseAllDocuments } from 'yaml';

/** A parsed Kubernetes object with the identity fields checked. */
export interface Manifest {
  /** 1-based position of the document in the stream (counting empty ones). */
  readonly document: number;
  /** 1-based line where the document starts, when known. */
  readonly line: number | undefined;
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string | undefined;
  readonly object: Readonly<Record<string, unknown>>;
}

/** A document that could not be used, with what is wrong. */
export interface ManifestError {
  readonly document: number;
  readonly line: number | undefined;
  /** Says what is wrong, without position (see `describeManifestError`). */
  readonly message: string;
}

export interface ParsedManifests {
  readonly manifests: readonly Manifest[];
  readonly errors: readonly ManifestError[];
}

export function parseManifests(content: string): ParsedManifests {
  if (/^\s*\{/.test(content)) {
    let value: unknown;
    try {
      value = JSON.parse(content);
    } catch (err) {
      const yaml = parseYamlStream(content);
      if (yaml.errors.length === 0) return yaml;
      // V8 quotes the offending snippet, newlines included; keep the message on one line.
      const message = `invalid JSON: ${(err as Error).message.replace(/\s+/g, ' ')}`;
      return { manifests: [], errors: [{ document: 1, line: undefined, message }] };
    }
    return collect([{ document: 1, line: 1, value }]);
  }
  return parseYamlStream(content);
}

/** "document 2 (line 14): …" — the position prefix for messages. */
export function describeManifestError(error: ManifestError): string {
  const where = error.line === undefined ? `document ${error.document}` : `document ${error.document} (line ${error.line})`;
  return `${where}: ${error.message}`;
}

interface RawDocument {
  readonly document: number;
  readonly line: number | undefined;
  readonly value: unknown;
}

function parseYamlStream(content: string): ParsedManifests {
  const raw: RawDocument[] = [];
  const errors: ManifestError[] = [];
  const docs = parseAllDocuments(content, { version: '1.2', uniqueKeys: true, prettyErrors: true });
  const lineAt = lineCounter(content);
  let number = 0;
  for (const doc of docs) {
    number++;
    const line = lineAt(doc.range?.[0]);
    if (doc.errors.length > 0) {
      // The first error is the cause; later ones are usually its echoes.
      const first = doc.errors[0];
      errors.push({ document: number, line: first?.linePos?.[0]?.line ?? line, message: `invalid YAML: ${headline(first?.message ?? 'parse error')}` });
      continue;
    }
    try {
      const value: unknown = doc.toJS({ maxAliasCount: 100 });
      // Empty and comment-only documents (and a bare `null`) are skipped, as kubectl does.
      if (value !== null && value !== undefined) raw.push({ document: number, line, value });
    } catch (err) {
      // Unresolved aliases and alias bombs surface here.
      errors.push({ document: number, line, message: `invalid YAML: ${(err as Error).message}` });
    }
  }
  const collected = collect(raw);
  return { manifests: collected.manifests, errors: [...errors, ...collected.errors].sort((a, b) => a.document - b.document) };
}

function collect(documents: readonly RawDocument[]): ParsedManifests {
  const manifests: Manifest[] = [];
  const errors: ManifestError[] = [];
  for (const { document, line, value } of documents) {
    const problem = identityProblem(value);
    if (problem !== undefined) {
      errors.push({ document, line, message: problem });
      continue;
    }
    const object = value as Record<string, unknown>;
    const metadata = object['metadata'] as Record<string, unknown>;
    const namespace = metadata['namespace'];
    manifests.push({
      document,
      line,
      apiVersion: object['apiVersion'] as string,
      kind: object['kind'] as string,
      name: metadata['name'] as string,
      namespace: typeof namespace === 'string' && namespace !== '' ? namespace : undefined,
      object,
    });
  }
  return { manifests, errors };
}

/** What keeps `value` from being an object the agent can apply by name, or `undefined`. */
function identityProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return `must be a Kubernetes object (a mapping with apiVersion, kind and metadata.name), not ${describeType(value)}`;
  }
  const object = value as Record<string, unknown>;
  const missing: string[] = [];
  const apiVersion = object['apiVersion'];
  const kind = object['kind'];
  if (typeof apiVersion !== 'string' || apiVersion === '') missing.push('apiVersion');
  if (typeof kind !== 'string' || kind === '') missing.push('kind');
  const metadata = object['metadata'];
  const meta = typeof metadata === 'object' && metadata !== null && !Array.isArray(metadata) ? (metadata as Record<string, unknown>) : undefined;
  const name = meta?.['name'];
  if (typeof name !== 'string' || name === '') missing.push('metadata.name');
  if (typeof kind === 'string' && kind.endsWith('List') && Array.isArray(object['items'])) {
    return `is a ${kind}; list objects are not supported, put each item in its own document (separated by "---")`;
  }
  if (missing.length > 0) {
    const generated = typeof meta?.['generateName'] === 'string' && missing.includes('metadata.name')
      ? ' (metadata.generateName cannot be used: a generated name would create a new object on every apply)'
      : '';
    return `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing or not a non-empty string${generated}`;
  }
  const namespace = meta?.['namespace'];
  if (namespace !== undefined && namespace !== null && typeof namespace !== 'string') {
    return 'metadata.namespace must be a string';
  }
  return undefined;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return `a ${typeof value}`;
}

/** The first line of a `yaml` error message (the rest is a source excerpt). */
function headline(message: string): string {
  const newline = message.indexOf('\n');
  const first = newline === -1 ? message : message.slice(0, newline);
  return first.replace(/:$/, '');
}

/**
 * 1-based line of an offset. Documents come in order, so counting resumes
 * where the previous call stopped: linear in the content, not quadratic.
 */
function lineCounter(content: string): (offset: number | undefined) => number | undefined {
  let position = 0;
  let line = 1;
  return (offset) => {
    if (offset === undefined) return undefined;
    if (offset < position) {
      position = 0;
      line = 1;
    }
    const end = Math.min(offset, content.length);
    for (; position < end; position++) if (content.charCodeAt(position) === 10) line++;
    return line;
  };
}
