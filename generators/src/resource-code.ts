import type { Field, FieldType } from './fields.ts';

/** Strings PostgreSQL can store: text refuses the NUL character, so the schema does too (400, not 500). */
const NO_NUL = "pattern: '^[^\\\\u0000]*$'";
// RFC 3339 with a 4-digit year from 1000, a Z or numeric offset and no leap second: what both JavaScript
// Dates and PostgreSQL read the same way. The format keyword adds the calendar check (no February 30).
const TIMESTAMP =
  "Type.String({ format: 'date-time', pattern: '^[1-9]\\\\d{3}-\\\\d{2}-\\\\d{2}T\\\\d{2}:[0-5]\\\\d:[0-5]\\\\d(\\\\.\\\\d{1,9})?(Z|[+-]\\\\d{2}:[0-5]\\\\d)$' })";

interface TypeCode {
  drizzle: string;
  column(name: string): string;
  /** TypeBox schema of a written value. */
  write: string;
  /** TypeBox schema of the value in a response. */
  read: string;
  samples: [string, string];
  /** A value the write schema refuses (400). */
  bad: string;
}

const TYPES: Record<FieldType, TypeCode> = {
  string: {
    drizzle: 'text',
    column: (name) => `text('${name}')`,
    write: `Type.String({ minLength: 1, maxLength: 200, ${NO_NUL} })`,
    read: 'Type.String()',
    samples: ["'first'", "'second'"],
    bad: "''",
  },
  text: {
    drizzle: 'text',
    column: (name) => `text('${name}')`,
    write: `Type.String({ maxLength: 10_000, ${NO_NUL} })`,
    read: 'Type.String()',
    samples: ["'Some longer text.'", "'Other text.'"],
    bad: '42',
  },
  integer: {
    drizzle: 'integer',
    column: (name) => `integer('${name}')`,
    write: 'Type.Integer({ minimum: -2_147_483_648, maximum: 2_147_483_647 })',
    read: 'Type.Integer()',
    samples: ['42', '-7'],
    bad: '1.5',
  },
  number: {
    drizzle: 'doublePrecision',
    column: (name) => `doublePrecision('${name}')`,
    write: 'Type.Number()',
    read: 'Type.Number()',
    samples: ['1.5', '-0.25'],
    bad: "'many'",
  },
  decimal: {
    drizzle: 'numeric',
    column: (name) => `numeric('${name}')`,
    // Exact decimals travel as strings: a JSON number would round through a double.
    write: "Type.String({ pattern: '^-?\\\\d{1,20}(\\\\.\\\\d{1,10})?$' })",
    read: 'Type.String()',
    samples: ["'12.50'", "'-3.125'"],
    bad: "'1e5'",
  },
  boolean: {
    drizzle: 'boolean',
    column: (name) => `boolean('${name}')`,
    write: 'Type.Boolean()',
    read: 'Type.Boolean()',
    samples: ['true', 'false'],
    bad: "'yes'",
  },
  timestamp: {
    drizzle: 'timestamp',
    column: (name) => `timestamp('${name}', { withTimezone: true })`,
    write: TIMESTAMP,
    read: 'Type.String()',
    samples: ["'2026-01-02T03:04:05.000Z'", "'2027-06-07T08:09:10.000Z'"],
    bad: "'0000-01-01T00:00:00Z'",
  },
  uuid: {
    drizzle: 'uuid',
    column: (name) => `uuid('${name}')`,
    write: "Type.String({ format: 'uuid' })",
    read: 'Type.String()',
    samples: ["'0b7e4a53-5a8c-4d4c-9a3e-1f2d3c4b5a69'", "'9c1f0e2d-3b4a-4c5d-8e6f-7a8b9c0d1e2f'"],
    bad: "'not-a-uuid'",
  },
  'encrypted-string': {
    drizzle: 'text',
    column: (name) => `text('${name}')`,
    write: 'Type.String({ minLength: 1, maxLength: 1_000 })',
    read: 'Type.String()',
    samples: ["'first-secret@example.com'", "'second-secret@example.com'"],
    bad: "''",
  },
};

/** Everything the resource templates print for one field, as TypeScript source. */
export function fieldCode(field: Field) {
  const code = TYPES[field.type];
  const { prop, column, optional } = field;
  const nullable = (schema: string) => (optional ? `Type.Union([${schema}, Type.Null()])` : schema);
  const body = `body.${prop}`;
  const value = (text: string) => (optional ? `${body} == null ? null : ${text}` : text);
  let toColumn = optional ? `${body} ?? null` : body;
  let fromRow = `row.${prop}`;
  if (field.type === 'timestamp') {
    toColumn = value(`new Date(${body})`);
    fromRow = optional ? `row.${prop}?.toISOString() ?? null` : `row.${prop}.toISOString()`;
  } else if (field.type === 'encrypted-string') {
    toColumn = value(`seal('${column}', ${body}, id)`);
    fromRow = optional
      ? `row.${prop} === null ? null : open('${column}', row.${prop}, row.id)`
      : `open('${column}', row.${prop}, row.id)`;
  }
  return {
    ...field,
    encrypted: field.type === 'encrypted-string',
    columnCode: `${code.column(column)}${optional ? '' : '.notNull()'}`,
    writeSchema: nullable(code.write),
    createSchema: optional ? `Type.Optional(${nullable(code.write)})` : code.write,
    readSchema: nullable(code.read),
    toColumn,
    // In a PATCH every field may be absent, so a required field's value is only set when present.
    patchColumn: toColumn.replace(`${body} ?? null`, body),
    fromRow,
    sample: code.samples[0],
    otherSample: code.samples[1],
    badValue: code.bad,
  };
}

/** The drizzle pg-core column builders the table needs, sorted, for its import line. */
export function drizzleImports(fields: readonly Field[]): string {
  const names = new Set(['pgTable', 'timestamp', ...fields.map((field) => TYPES[field.type].drizzle)]);
  return [...names].sort().join(', ');
}
