import { type TypeBoxTypeProvider, TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifySchema, FastifySchemaCompiler } from 'fastify';
import Type, { type TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import { Value } from 'typebox/value';

/**
 * Whether `Value.Convert` leaves alone every value that already passes the schema: strings, and objects of
 * those (extra keys are converted only under a schema-valued `additionalProperties`). Params are always
 * strings, so route params are the common case; anything else (numbers, unions, literals...) says no.
 */
export function convertLeavesValidValues(schema: unknown): boolean {
  if (Type.IsString(schema)) return true;
  if (!Type.IsObject(schema)) return false;
  const extra = (schema as { additionalProperties?: unknown }).additionalProperties;
  if (typeof extra === 'object' && extra !== null && !convertLeavesValidValues(extra)) return false;
  return Object.values(schema.properties).every(convertLeavesValidValues);
}

/** How a client writes an integer or a number in a query string, a path or a header: decimal, nothing else. */
const DECIMAL = { integer: /^-?\d+$/, number: /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/ } as const;

/** The numbers a schema can take where a string is given: integers, any number, or none. */
function numericKind(schema: unknown, depth = 0): 'integer' | 'number' | undefined {
  if (Type.IsNumber(schema)) return 'number';
  if (Type.IsInteger(schema)) return 'integer';
  if (depth > 8) return undefined;
  // A repeated query parameter (`n=1&n=2`) is an array; a union (`Integer | 'all'`) may hold a number too.
  if (Type.IsArray(schema)) return numericKind(schema.items, depth + 1);
  if (Type.IsUnion(schema)) {
    let kind: 'integer' | 'number' | undefined;
    for (const variant of schema.anyOf) {
      const found = numericKind(variant, depth + 1);
      if (found === 'number') return 'number';
      kind ??= found;
    }
    return kind;
  }
  return undefined;
}

/**
 * The properties of an object schema that TypeBox converts from strings to numbers (plain, optional, inside a
 * union or an array), each with the form the string must have. `Value.Convert` alone takes `1.5` for an
 * integer (truncating it to 1), and `0x10`, `1e2`, `+5` or ` 5` for either: a client's typo would quietly
 * mean something else.
 */
export function numericForms(schema: unknown): Array<[string, RegExp]> {
  if (!Type.IsObject(schema)) return [];
  return Object.entries(schema.properties).flatMap(([key, property]): Array<[string, RegExp]> => {
    const kind = numericKind(property);
    return kind === undefined ? [] : [[key, DECIMAL[kind]]];
  });
}

/** Whether a raw value (a string, or a repeated parameter's strings) has a string not in `form`. */
function notDecimal(raw: unknown, form: RegExp): boolean {
  if (typeof raw === 'string') return !form.test(raw);
  if (!Array.isArray(raw)) return false;
  for (const item of raw) if (typeof item === 'string' && !form.test(item)) return true;
  return false;
}

/**
 * Puts back, in `converted`, each string of `raw` not written in decimal that conversion made a number:
 * true if it put any back. A string conversion left alone (a union's string variant took it) stays.
 */
function restoreLoose(raw: unknown, converted: Record<string, unknown>, key: string, form: RegExp): boolean {
  const value = converted[key];
  if (typeof raw === 'string') {
    // A lone value for an array schema comes back wrapped: `n=1.5` as [1].
    const made = Array.isArray(value) && value.length === 1 ? value[0] : value;
    if (typeof made !== 'number' || form.test(raw)) return false;
    converted[key] = Array.isArray(value) ? [raw] : raw;
    return true;
  }
  if (!Array.isArray(raw) || !Array.isArray(value)) return false;
  let restored = false;
  raw.forEach((item, index) => {
    if (typeof item === 'string' && typeof value[index] === 'number' && !form.test(item)) {
      value[index] = item;
      restored = true;
    }
  });
  return restored;
}

/**
 * The type provider's validator compiler, except in two ways for params, querystring and headers. A schema of
 * strings only is checked before anything is converted: `Value.Convert` walks the value (building a RegExp
 * per property) on every request, about 3 µs for a one-property params object in bench/, while the compiled
 * check alone is 0.1 µs; a value that passes is exactly what converting it would have given, and one that
 * fails takes the provider's own path (convert, check, errors). And an integer or number property given as a
 * string not written in decimal (numericForms) fails as that string, with the schema's own error, instead of
 * being converted; every other answer is the provider's.
 */
export const typeBoxValidatorCompiler: FastifySchemaCompiler<FastifySchema> = (route) => {
  const provider = () => TypeBoxValidatorCompiler(route as Parameters<typeof TypeBoxValidatorCompiler>[0]);
  if (route.httpPart === 'body') return provider();
  const schema = route.schema as TSchema;
  if (!convertLeavesValidValues(schema)) {
    const forms = numericForms(schema);
    if (forms.length === 0) return provider();
    const convertAndCheck = provider();
    const check = Compile(schema);
    return (value: unknown) => {
      const raw = value as Record<string, unknown>;
      // The common case, every numeric parameter absent or in decimal: the provider's path, nothing more.
      if (!forms.some(([key, form]) => notDecimal(raw?.[key], form))) return convertAndCheck(value);
      // A string not in decimal where a number may go: refused if conversion would have made it a number.
      const converted = Value.Convert(schema, structuredClone(value)) as Record<string, unknown>;
      let restored = false;
      for (const [key, form] of forms) restored = restoreLoose(raw[key], converted, key, form) || restored;
      if (!restored) return convertAndCheck(value);
      return check.Check(converted) ? { value: converted } : ({ error: check.Errors(converted) } as never);
    };
  }
  const check = Compile(schema);
  return (value: unknown) => {
    if (check.Check(value)) return { value };
    // The provider's path, line for line (@fastify/type-provider-typebox 6.3 TypeBoxValidatorCompiler).
    const converted = Value.Convert(schema, value);
    if (check.Check(converted)) return { value: converted };
    return { error: check.Errors(converted) } as never;
  };
};

/**
 * Validates every schema with TypeBox's compiler and types routes from their TypeBox schemas. Bodies are
 * never coerced: a string where an object belongs fails validation instead of slipping through.
 *
 * @example
 * const app = useTypeBox(Fastify());
 * app.post('/items', { schema: { body: Type.Object({ name: Type.String() }) }, config: { auth: 'public' } },
 *   async (request) => request.body.name);
 */
export function useTypeBox<T extends FastifyInstance>(app: T) {
  return app.setValidatorCompiler(typeBoxValidatorCompiler).withTypeProvider<TypeBoxTypeProvider>();
}

export type { TypeBoxTypeProvider };
