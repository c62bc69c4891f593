import fc from 'fast-check';
import { Type } from 'typebox';
import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { arbitraryFromSchema } from './schema-arbitrary.ts';

describe('arbitraryFromSchema', () => {
  it('generates values that satisfy TypeBox schemas, patterns included', () => {
    const schema = Type.Object({
      // A UUIDv7 pattern with no maxLength: longer than the default string bound (regression: sampling hung).
      id: Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' }),
      code: Type.String({ pattern: '^[A-Z]{2,3}$', maxLength: 3 }),
      name: Type.String({ minLength: 1, maxLength: 200 }),
      at: Type.String({ format: 'date-time' }),
      ref: Type.String({ format: 'uuid' }),
      count: Type.Integer({ minimum: 1, maximum: 100 }),
      ratio: Type.Number({ exclusiveMinimum: 0, maximum: 1 }),
      kind: Type.Union([Type.Literal('a'), Type.Literal('b')]),
      tags: Type.Array(Type.String({ maxLength: 5 }), { maxItems: 3 }),
      note: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    });
    for (const value of fc.sample(arbitraryFromSchema(schema), { numRuns: 200, seed: 3 })) {
      expect(Value.Check(schema, value), JSON.stringify(value)).toBe(true);
    }
  });
});
