import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import fc from 'fast-check';
import Fastify from 'fastify';
import Type, { type TSchema } from 'typebox';
import { describe, expect, it } from 'vitest';
import { convertLeavesValidValues, numericForms, typeBoxValidatorCompiler, useTypeBox } from './typebox.ts';

type Part = 'params' | 'querystring' | 'headers' | 'body';
const compile = (compiler: typeof typeBoxValidatorCompiler, schema: TSchema, httpPart: Part) =>
  compiler({ schema, httpPart, method: 'GET', url: '/x' } as never) as (value: unknown) => {
    value?: unknown;
    error?: Iterable<unknown>;
  };

const SCHEMAS: Record<string, TSchema> = {
  params: Type.Object({ id: Type.String({ pattern: '^[0-9]{1,12}$' }) }),
  optional: Type.Object({ q: Type.Optional(Type.String({ maxLength: 5 })), tag: Type.String() }),
  closed: Type.Object({ a: Type.String() }, { additionalProperties: false }),
  nested: Type.Object({ a: Type.Object({ b: Type.String() }) }),
  numbers: Type.Object({ limit: Type.Integer({ minimum: 1 }), flag: Type.Optional(Type.Boolean()) }),
  union: Type.Object({ v: Type.Union([Type.String(), Type.Number()]) }),
  extraNumbers: Type.Object({ a: Type.String() }, { additionalProperties: Type.Number() }),
};

// What routers, query parsers and header maps hand a validator, plus values that could only come from code.
const leaf = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.stringMatching(/^[0-9]{1,14}$/),
  fc.constantFrom('true', 'false', '', '1.5', 'null'),
  fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
);
const input = fc.oneof(
  fc.dictionary(fc.constantFrom('id', 'q', 'tag', 'a', 'limit', 'flag', 'v', 'x'), leaf, { maxKeys: 4 }),
  fc.record({ a: fc.dictionary(fc.constantFrom('b', 'c'), leaf, { maxKeys: 2 }) }),
  leaf,
);

const outcome = (result: { value?: unknown; error?: Iterable<unknown> }) =>
  result.error ? { error: [...result.error] } : { value: result.value };

describe('typeBoxValidatorCompiler', () => {
  it('skips conversion only for strings and objects of strings', () => {
    expect(convertLeavesValidValues(SCHEMAS.params)).toBe(true);
    expect(convertLeavesValidValues(SCHEMAS.optional)).toBe(true);
    expect(convertLeavesValidValues(SCHEMAS.closed)).toBe(true);
    expect(convertLeavesValidValues(SCHEMAS.nested)).toBe(true);
    expect(convertLeavesValidValues(SCHEMAS.numbers)).toBe(false);
    expect(convertLeavesValidValues(SCHEMAS.union)).toBe(false);
    expect(convertLeavesValidValues(SCHEMAS.extraNumbers)).toBe(false);
  });

  it("answers as the type provider's compiler does for any input and every part, except numbers not in decimal", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(SCHEMAS)),
        fc.constantFrom<Part>('params', 'querystring', 'headers', 'body'),
        input,
        (name, part, value) => {
          const schema = SCHEMAS[name] as TSchema;
          // The provider converts in place: each side gets its own copy, and must leave the same value.
          const ours = structuredClone(value);
          const theirs = structuredClone(value);
          const loose =
            part !== 'body' &&
            numericForms(schema).some(([key, form]) => {
              const raw = (value as Record<string, unknown> | null)?.[key];
              return typeof raw === 'string' && !form.test(raw);
            });
          const result = outcome(compile(typeBoxValidatorCompiler, schema, part)(ours));
          if (loose) {
            // Refused, not converted: the provider would have taken 1.5 for an integer as 1.
            expect(result.error?.length).toBeGreaterThan(0);
            expect(ours).toEqual(value);
            return;
          }
          const expected = outcome(compile(TypeBoxValidatorCompiler as never, schema, part)(theirs));
          expect(result).toEqual(expected);
          expect(ours).toEqual(theirs);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('still converts where the schema asks for it, through a route', async () => {
    const app = useTypeBox(Fastify());
    app.get(
      '/items/:id',
      { schema: { params: SCHEMAS.params, querystring: SCHEMAS.numbers } },
      async (request) => ({ params: request.params, query: request.query }),
    );
    const ok = await app.inject('/items/42?limit=3&flag=true');
    expect(ok.json()).toEqual({ params: { id: '42' }, query: { limit: 3, flag: true } });
    expect((await app.inject('/items/4x2?limit=3')).statusCode).toBe(400);
    expect((await app.inject('/items/42?limit=0')).statusCode).toBe(400);
    await app.close();
  });

  it('refuses an integer or number in a query, path or header not written in decimal, naming where', async () => {
    const app = useTypeBox(Fastify());
    app.get(
      '/items/:page',
      {
        schema: {
          params: Type.Object({ page: Type.Integer() }),
          querystring: Type.Object({
            limit: Type.Optional(Type.Integer()),
            ratio: Type.Optional(Type.Number()),
          }),
        },
      },
      async (request) => ({ page: request.params.page, query: request.query }),
    );
    const ok = await app.inject('/items/2?limit=-7&ratio=1.5e-3');
    expect(ok.json()).toEqual({ page: 2, query: { limit: -7, ratio: 0.0015 } });
    for (const query of [
      'limit=1.5',
      'limit=0x10',
      'limit=1e2',
      'limit=%2B5',
      'limit=%205',
      'limit=true',
      'ratio=0x10',
      'ratio=.5',
      'ratio=Infinity',
    ]) {
      const response = await app.inject(`/items/2?${query}`);
      expect(response.statusCode, query).toBe(400);
      expect(response.json().message, query).toMatch(/^querystring\/(limit|ratio) /);
    }
    expect((await app.inject('/items/1.5')).statusCode).toBe(400);
    await app.close();
  });
});
