/**
 * Reading the configuration file: YAML parsing with positions, so that both
 * syntax errors and validation errors point at a line and column.
 */
import { readFile } from 'node:fs/promises';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { ConfigError, type ConfigIssue } from './errors.ts';
import type { FlotillaConfig } from './schema.ts';
import { validateConfig, type Locator } from './validate.ts';

/** Finds the node for a field path in a parsed YAML document and converts its offset to line/column. */
export function yamlLocator(document: Document, lines: LineCounter): Locator {
  return (segments, { key }) => {
    // Walk as deep as the document goes: a missing field is located at its nearest existing parent.
    let node: unknown = document.contents;
    let keyNode: unknown;
    for (const segment of segments) {
      let next: unknown;
      let nextKey: unknown;
      if (isMap(node)) {
        const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(segment));
        nextKey = pair?.key;
        next = pair?.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        next = node.items[segment];
      }
      if (next === undefined && nextKey === undefined) break;
      node = next ?? null;
      keyNode = nextKey;
    }
    const target = (key && keyNode !== undefined ? keyNode : (node ?? keyNode)) as { range?: [number, number, number] } | null;
    const offset = target?.range?.[0];
    if (offset === undefined) return undefined;
    const { line, col } = lines.linePos(offset);
    return { line, column: col };
  };
}

/**
 * Parses and validates configuration text. `source` names the file in
 * messages. Throws `ConfigError` for YAML syntax errors (with line and
 * column) and for invalid content (every problem at once).
 */
export function parseConfigText(text: string, source: string): FlotillaConfig {
  const lines = new LineCounter();
  // `uniqueKeys` (the default) makes a duplicated key an error instead of a silent override.
  const document = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    const issues = document.errors.map((error): ConfigIssue => {
      const position = error.linePos?.[0];
      // The pretty message ends with a code excerpt; keep the first line for a one-line issue.
      const message = `invalid YAML: ${error.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? error.code}`;
      return { path: '', message, ...(position === undefined ? {} : { line: position.line, column: position.col }) };
    });
    throw new ConfigError(source, issues);
  }
  let data: unknown;
  try {
    // Guards against "billion laughs" alias expansion, like the API server's YAML decoder.
    data = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    throw new ConfigError(source, [{ path: '', message: `invalid YAML: ${(error as Error).message}` }]);
  }
  const result = validateConfig(data, { source, locate: yamlLocator(document, lines) });
  if (!result.ok) throw new ConfigError(source, result.issues);
  return result.config;
}

/**
 * Loads, validates and defaults the configuration file at `path`. A missing
 * or unreadable file is a `ConfigError` too: the controller must not start
 * on silent defaults when the operator pointed it at a file.
 */
export async function loadConfig(path: string): Promise<FlotillaConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'file not found' : (error as Error).message;
    throw new ConfigError(path, [{ path: '', message: `cannot read the configuration: ${reason}` }]);
  }
  return parseConfigText(text, path);
}
