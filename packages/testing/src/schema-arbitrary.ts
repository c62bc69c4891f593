import fc from 'fast-check';

type Schema = Record<string, unknown>;

const MAX_DEPTH = 4;

function asSchema(value: unknown): Schema | undefined {
  return typeof value === 'object' && value !== null ? (value as Schema) : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function stringArbitrary(schema: Schema): fc.Arbitrary<string> {
  const minLength = num(schema.minLength) ?? 0;
  const maxLength = Math.max(minLength, num(schema.maxLength) ?? Math.max(minLength, 24));
  switch (schema.format) {
    case 'uuid':
      return fc.uuid();
    case 'email':
      return fc.emailAddress();
    case 'date-time':
      return fc
        .date({
          min: new Date('1970-01-01T00:00:00Z'),
          max: new Date('2100-01-01T00:00:00Z'),
          noInvalidDate: true,
        })
        .map((date) => date.toISOString());
    case 'date':
      return fc
        .date({
          min: new Date('1970-01-01T00:00:00Z'),
          max: new Date('2100-01-01T00:00:00Z'),
          noInvalidDate: true,
        })
        .map((date) => date.toISOString().slice(0, 10));
    case 'uri':
    case 'url':
      return fc.webUrl();
    default:
      break;
  }
  if (typeof schema.pattern === 'string') {
    try {
      const matching = fc.stringMatching(new RegExp(schema.pattern));
      // Bounds apply only when the schema states them: a pattern such as a UUID's is longer than the default.
      const min = num(schema.minLength);
      const max = num(schema.maxLength);
      if (min === undefined && max === undefined) return matching;
      return matching.filter((value) => value.length >= (min ?? 0) && value.length <= (max ?? Infinity));
    } catch {
      // A pattern JavaScript cannot compile falls through to plain strings; validation then rejects them.
    }
  }
  // ASCII: JSON Schema counts code points, TypeBox UTF-16 units; astral characters would make them disagree.
  return fc.string({ minLength, maxLength });
}

function numberArbitrary(schema: Schema, integer: boolean): fc.Arbitrary<number> {
  let min = num(schema.minimum);
  let max = num(schema.maximum);
  const exclusiveMin = num(schema.exclusiveMinimum);
  const exclusiveMax = num(schema.exclusiveMaximum);
  if (integer) {
    if (exclusiveMin !== undefined) min = Math.floor(exclusiveMin) + 1;
    if (exclusiveMax !== undefined) max = Math.ceil(exclusiveMax) - 1;
    return fc.integer({
      min: Math.max(min ?? -1_000_000, Number.MIN_SAFE_INTEGER),
      max: Math.min(max ?? 1_000_000, Number.MAX_SAFE_INTEGER),
    });
  }
  if (exclusiveMin !== undefined) min = exclusiveMin;
  if (exclusiveMax !== undefined) max = exclusiveMax;
  return fc.double({
    min: min ?? -1e9,
    max: max ?? 1e9,
    minExcluded: exclusiveMin !== undefined,
    maxExcluded: exclusiveMax !== undefined,
    noNaN: true,
    noDefaultInfinity: true,
  });
}

function objectArbitrary(schema: Schema, depth: number): fc.Arbitrary<Record<string, unknown>> {
  const properties = asSchema(schema.properties) ?? {};
  const required = Array.isArray(schema.required) ? (schema.required as string[]) : [];
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, property] of Object.entries(properties)) {
    model[name] = arbitraryFromSchema(property, depth + 1);
  }
  for (const name of required) model[name] ??= fc.jsonValue({ maxDepth: 1 });
  return fc.record(model, { requiredKeys: required.filter((name) => name in model) });
}

/**
 * Values that satisfy a JSON Schema (TypeBox schemas are JSON Schema): type, enum, const, anyOf/oneOf,
 * string formats and patterns, numeric bounds, arrays and objects with their required keys. Keywords it
 * does not model widen to arbitrary JSON, so the sweep also sends some values the route must reject.
 */
export function arbitraryFromSchema(input: unknown, depth = 0): fc.Arbitrary<unknown> {
  const schema = asSchema(input);
  if (!schema || depth > MAX_DEPTH) return fc.jsonValue({ maxDepth: 1 });
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return fc.constantFrom(...schema.enum);
  const union = Array.isArray(schema.anyOf)
    ? schema.anyOf
    : Array.isArray(schema.oneOf)
      ? schema.oneOf
      : undefined;
  if (union && union.length > 0)
    return fc.oneof(...union.map((member) => arbitraryFromSchema(member, depth + 1)));
  if (Array.isArray(schema.allOf) && schema.allOf.length > 0)
    return arbitraryFromSchema(schema.allOf[0], depth + 1);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string':
      return stringArbitrary(schema);
    case 'integer':
      return numberArbitrary(schema, true);
    case 'number':
      return numberArbitrary(schema, false);
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const minLength = num(schema.minItems) ?? 0;
      const maxLength = Math.max(minLength, num(schema.maxItems) ?? Math.max(minLength, 4));
      return fc.array(arbitraryFromSchema(schema.items, depth + 1), { minLength, maxLength });
    }
    case 'object':
      return objectArbitrary(schema, depth);
    default:
      return schema.properties ? objectArbitrary(schema, depth) : fc.jsonValue({ maxDepth: 2 });
  }
}

/** Schema-shaped values most of the time, and arbitrary JSON the rest, which the route must refuse with a 4xx. */
export function sweepArbitrary(schema: unknown): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 4, arbitrary: arbitraryFromSchema(schema) },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  );
}
