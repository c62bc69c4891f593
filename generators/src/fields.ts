/** The field types `gen resource --fields` knows. */
export const FIELD_TYPES = [
  'string',
  'text',
  'integer',
  'number',
  'decimal',
  'boolean',
  'timestamp',
  'uuid',
  'encrypted-string',
] as const;

export type FieldType = (typeof FIELD_TYPES)[number];

export interface Field {
  /** The property name in JSON and TypeScript (camelCase). */
  prop: string;
  /** The SQL column name (snake_case). */
  column: string;
  type: FieldType;
  /** `name:type?`: the column is nullable and the field may be left out. */
  optional: boolean;
}

const NAME = /^[a-z][a-zA-Z0-9]*(?:_[a-z0-9]+)*$/;
const RESERVED = new Set(['id', 'created_at', 'updated_at']);
/**
 * Properties every object already has: a field named `toString` or `valueOf` breaks the generated types
 * (`Partial<...>` of the row) and PATCH's validation.
 */
const INHERITED = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);
const MAX_FIELDS = 40;
/** PostgreSQL truncates longer identifiers (NAMEDATALEN - 1 bytes). */
const MAX_COLUMN_BYTES = 63;

function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_whole, char: string) => char.toUpperCase());
}

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (char) => `_${char.toLowerCase()}`);
}

/**
 * Parses `--fields "title:string,amount:integer,note:text?"`. Returns the fields, or a message naming the
 * first spec that is wrong (unknown type, bad or reserved name, a duplicate).
 */
export function parseFields(spec: string): Field[] | string {
  const parts = spec.split(',').map((part) => part.trim());
  if (parts.length === 1 && parts[0] === '')
    return 'fields are empty: give at least one, e.g. "title:string"';
  if (parts.length > MAX_FIELDS) return `at most ${MAX_FIELDS} fields, got ${parts.length}`;
  const fields: Field[] = [];
  for (const part of parts) {
    const match = /^([^:\s]*):([a-z-]*)(\?)?$/.exec(part);
    if (!match)
      return `field "${part}" must look like name:type or name:type? (e.g. "title:string", "note:text?")`;
    const [, name, type, optional] = match as unknown as [string, string, string, string | undefined];
    if (!NAME.test(name) || name.length > 50) {
      return `field name "${name}" must be camelCase or snake_case: a lowercase letter, then letters and digits (at most 50 characters)`;
    }
    const column = snake(name);
    const prop = camel(name);
    if (RESERVED.has(column) || RESERVED.has(name)) {
      return `field name "${name}" is reserved: every resource already has id, created_at and updated_at`;
    }
    if (INHERITED.has(name) || INHERITED.has(prop)) {
      return `field name "${name}" is reserved: every object already has a property "${prop}"`;
    }
    if (Buffer.byteLength(column) > MAX_COLUMN_BYTES) {
      return `field name "${name}" gives the column "${column}", ${Buffer.byteLength(column)} bytes: PostgreSQL allows at most ${MAX_COLUMN_BYTES}`;
    }
    if (!(FIELD_TYPES as readonly string[]).includes(type)) {
      return `field "${name}" has unknown type "${type}"; types: ${FIELD_TYPES.join(', ')}`;
    }
    const same = fields.find((field) => field.column === column || field.prop === prop);
    if (same) {
      return `field "${name}" is given twice (as ${same.prop} too: column "${same.column}", property "${same.prop}")`;
    }
    fields.push({ prop, column, type: type as FieldType, optional: optional === '?' });
  }
  return fields;
}
