/**
 * Prints the configuration reference (Markdown) generated from the schema in
 * src/config/schema.ts, so the documentation cannot drift from what the
 * controller validates. README.md embeds the output as its "Configuration
 * reference" section, and a unit test fails when the two differ:
 *
 *   node scripts/config-reference.ts
 */
import { allowedValues, typeName } from '../src/config/describe.ts';
import { configLeafFields, rootSchema, type ConfigField, type JsonSchema } from '../src/config/fields.ts';

/** Table cells cannot contain raw pipes or line breaks. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function code(text: string): string {
  return text === '' ? '' : `\`${text.replace(/`/g, "'")}\``;
}

function renderDefault(value: unknown): string {
  if (value === undefined) return '(unset)';
  return code(typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value));
}

function row(field: ConfigField): string {
  return [
    code(field.path),
    cell(typeName(field.schema)),
    cell(renderDefault(field.defaultValue)),
    cell(allowedValues(field.schema)),
    field.hotReloadable ? 'yes' : 'no (restart)',
    cell(field.schema.description ?? ''),
  ].join(' | ');
}

/** The Markdown reference: an introduction, then one table row per leaf field, grouped by section. */
export function renderConfigReference(schema: JsonSchema = rootSchema): string {
  const fields = configLeafFields(schema);
  const lines: string[] = [
    '## Configuration reference',
    '',
    `${schema.description ?? ''} Unknown fields are rejected. Fields marked *hot* take effect when the file changes (a mounted ConfigMap updates in place); the others are logged as needing a restart.`,
    '',
  ];
  const sections = new Map<string, ConfigField[]>();
  for (const field of fields) {
    const section = field.path.includes('.') ? (field.path.split('.')[0] ?? '') : '';
    sections.set(section, [...(sections.get(section) ?? []), field]);
  }
  for (const [section, sectionFields] of sections) {
    const sectionSchema = section === '' ? undefined : schema.properties?.[section];
    lines.push(`### ${section === '' ? 'Top level' : `\`${section}\``}`, '');
    if (sectionSchema?.description !== undefined) lines.push(sectionSchema.description, '');
    lines.push('| Field | Type | Default | Allowed | Hot reload | Description |', '|---|---|---|---|---|---|');
    for (const field of sectionFields) lines.push(`| ${row(field)} |`);
    lines.push('');
  }
  return lines.join('\n');
}

if (import.meta.main) process.stdout.write(renderConfigReference());
