/**
 * Which configuration fields the program reads, found with the TypeScript
 * type checker rather than by text search: `config.backoff.reflector.jitter`,
 * `const r = config.backoff.reflector; r.jitter` and
 * `const { jitter } = reflector` all resolve to the same schema property, and
 * `backoff.jitter` does not. The config's types are derived from the TypeBox
 * schema, so every property of them is declared in schema.ts; a read is a
 * property access whose symbol is declared there.
 *
 * A section handed whole to code typed with its own interface (the
 * workspace selector to the label-selector compiler) counts as reading all
 * of its fields: from there on the reads go through that interface's
 * symbols.
 */
import { resolve } from 'node:path';
import ts from 'typescript';

export interface ConfigReadsOptions {
  tsconfig: string;
  /** Source files searched for reads (absolute paths). */
  include: (fileName: string) => boolean;
  schemaFile: string;
  /** The type alias of the whole configuration in `schemaFile`. */
  configTypeName: string;
  /** Dotted paths of the fields to look for, e.g. `backoff.reflector.jitter`. */
  fieldPaths: readonly string[];
}

export function configFieldReads(opts: ConfigReadsOptions): Map<string, string[]> {
  const parsed = ts.getParsedCommandLineOfConfigFile(opts.tsconfig, {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (!parsed) throw new Error(`cannot read ${opts.tsconfig}`);
  const program = ts.createProgram(parsed.fileNames.filter(opts.include), parsed.options);
  const checker = program.getTypeChecker();
  const schema = program.getSourceFile(resolve(opts.schemaFile));
  if (!schema) throw new Error(`${opts.schemaFile} is not part of the program`);

  const pathsByDeclaration = declarationsOfFields(checker, schema, opts.configTypeName, opts.fieldPaths);
  const reads = new Map<string, string[]>();
  const record = (path: string, node: ts.Node): void => {
    const sf = node.getSourceFile();
    const { line } = sf.getLineAndCharacterOfPosition(node.getStart());
    const where = `${sf.fileName}:${line + 1}`;
    reads.set(path, [...(reads.get(path) ?? []), where]);
  };
  const pathsOf = (symbol: ts.Symbol | undefined): string[] =>
    (symbol?.declarations ?? []).flatMap((d) => pathsByDeclaration.get(d) ?? []);

  const isSchemaType = (type: ts.Type): boolean =>
    checker.getPropertiesOfType(type).some((p) => pathsOf(p).length > 0);
  const handedToForeignType = (expr: ts.Expression): boolean => {
    const contextual = checker.getContextualType(expr);
    if (!contextual) return false;
    const candidates = contextual.isUnion() ? contextual.types : [contextual];
    const objects = candidates.filter((t) => checker.getPropertiesOfType(t).length > 0);
    return objects.length > 0 && !objects.some(isSchemaType);
  };
  const readAt = (paths: string[], node: ts.Node, expr: ts.Expression | undefined): void => {
    for (const path of paths) {
      record(path, node);
      if (expr && handedToForeignType(expr)) {
        for (const field of opts.fieldPaths) if (field.startsWith(`${path}.`)) record(field, node);
      }
    }
  };

  for (const sf of program.getSourceFiles()) {
    if (sf.isDeclarationFile || !opts.include(sf.fileName)) continue;
    const visit = (node: ts.Node): void => {
      if (ts.isPropertyAccessExpression(node) && !isAssignmentTarget(node)) {
        readAt(pathsOf(checker.getSymbolAtLocation(node.name)), node, node);
      } else if (ts.isElementAccessExpression(node) && ts.isStringLiteralLike(node.argumentExpression) && !isAssignmentTarget(node)) {
        readAt(pathsOf(checker.getSymbolAtLocation(node.argumentExpression)), node, node);
      } else if (ts.isBindingElement(node) && ts.isObjectBindingPattern(node.parent)) {
        const key = node.propertyName ?? node.name;
        if (ts.isIdentifier(key) || ts.isStringLiteralLike(key)) {
          readAt(pathsOf(checker.getTypeAtLocation(node.parent).getProperty(key.text)), node, undefined);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return reads;
}

/** The schema.ts declaration of every field on the way to each path, mapped to its dotted path. */
function declarationsOfFields(
  checker: ts.TypeChecker,
  schema: ts.SourceFile,
  configTypeName: string,
  fieldPaths: readonly string[],
): Map<ts.Declaration, string[]> {
  const alias = schema.statements.find((s): s is ts.TypeAliasDeclaration => ts.isTypeAliasDeclaration(s) && s.name.text === configTypeName);
  if (!alias) throw new Error(`type ${configTypeName} not found in ${schema.fileName}`);
  const root = checker.getTypeAtLocation(alias.name);
  const byDeclaration = new Map<ts.Declaration, string[]>();
  for (const fieldPath of fieldPaths) {
    let type = root;
    const segments: string[] = [];
    for (const segment of fieldPath.split('.')) {
      segments.push(segment);
      const property = checker.getNonNullableType(type).getProperty(segment);
      const declarations = property?.declarations?.filter((d) => d.getSourceFile() === schema) ?? [];
      if (!property || declarations.length === 0) {
        throw new Error(`${segments.join('.')}: not a property of ${configTypeName} declared in ${schema.fileName}`);
      }
      for (const declaration of declarations) {
        const paths = byDeclaration.get(declaration) ?? [];
        if (!paths.includes(segments.join('.'))) byDeclaration.set(declaration, [...paths, segments.join('.')]);
      }
      type = checker.getTypeOfSymbol(property);
    }
  }
  return byDeclaration;
}

function isAssignmentTarget(node: ts.Expression): boolean {
  const parent = node.parent;
  return ts.isBinaryExpression(parent) && parent.left === node && parent.operatorToken.kind === ts.SyntaxKind.EqualsToken;
}
