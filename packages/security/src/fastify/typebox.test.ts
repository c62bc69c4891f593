import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import fc from 'fast-check';
import Fastify from 'fastify';
import Type, { type TSchema } from 'typebox';
import { Value } from 'typebox/value';
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
  intOrAll: Type.Object({ v: Type.Union([Type.Integer(), Type.Literal('all')]) }),
  intArray: Type.Object({
    limit: Type.Optional(Type.Array(Type.Integer())),
    q: Type.Optional(Type.String()),
  }),
  extraNumbers: Type.Object({ a: Type.String() }, { additionalProperties: Type.Number() }),
};

// What routers, query parsers and header maps hand a validator, plus values that could only come from code.
const leaf = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.stringMatching(/^[0-9]{1,14}$/),
  fc.constantFrom('true', 'false', '', '1.5', 'null', '0x10', '+5', '1e2', 'all', '-7'),
  fc.array(fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('1.5', '0x10', '3')), { maxLength: 3 }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
);
const input = fc.oneof(
  fc.dictionary(fc.constantFrom('id', 'q', 'tag', 'a', 'limit', 'flag', 'v', 'x'), leaf, { maxKeys: 4 }),
  fc.record({ a: fc.dictionary(fc.constantFrom('b', 'c'), leaf, { maxKeys: 2 }) }),
  leaf,
);

/**
 * Whether TypeBox's own conversion would turn a string not written in decimal into a number somewhere in
 * `value` (a property, or an item of a repeated parameter): what the compiler refuses instead.
 */
function convertsLooseString(schema: TSchema, value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const converted = Value.Convert(schema, structuredClone(value)) as Record<string, unknown>;
  return numericForms(schema).some(([key, form]) => {
    const raw = (value as Record<string, unknown>)[key];
    const made = converted?.[key];
    const rawItems = Array.isArray(raw) ? raw : [raw];
    const madeItems = Array.isArray(made) ? made : [made];
    return rawItems.some(
      (item, index) => typeof item === 'string' && !form.test(item) && typeof madeItems[index] === 'number',
    );
  });
}

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
          const loose = part !== 'body' && convertsLooseString(schema, value);
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

  it('holds an integer inside a union or an array, and a repeated parameter, to the same decimal form', async () => {
    const app = useTypeBox(Fastify());
    app.get(
      '/union',
      { schema: { querystring: Type.Object({ n: Type.Union([Type.Integer(), Type.Literal('all')]) }) } },
      async (request) => request.query,
    );
    app.get(
      '/array',
      { schema: { querystring: Type.Object({ n: Type.Array(Type.Integer()) }) } },
      async (request) => request.query,
    );
    app.get(
      '/either',
      {
        schema: { querystring: Type.Object({ n: Type.Optional(Type.Union([Type.Integer(), Type.Null()])) }) },
      },
      async (request) => request.query,
    );
    app.get(
      '/text',
      { schema: { querystring: Type.Object({ n: Type.Union([Type.Integer(), Type.String()]) }) } },
      async (request) => request.query,
    );
    for (const url of [
      '/union?n=1.5',
      '/union?n=0x10',
      '/union?n=%2B5',
      '/union?n=1e2',
      '/array?n=1.5',
      '/array?n=1.5&n=0x10',
      '/array?n=2&n=%2B5',
      '/either?n=0x10',
    ]) {
      const response = await app.inject(url);
      expect(response.statusCode, url).toBe(400);
      expect(response.json().message, url).toMatch(/^querystring\/n/);
    }
    expect((await app.inject('/union?n=7')).json()).toEqual({ n: 7 });
    expect((await app.inject('/union?n=all')).json()).toEqual({ n: 'all' });
    expect((await app.inject('/array?n=-2&n=3')).json()).toEqual({ n: [-2, 3] });
    expect((await app.inject('/array?n=4')).json()).toEqual({ n: [4] });
    expect((await app.inject('/either?n=5')).json()).toEqual({ n: 5 });
    // A string variant takes the text as it is: nothing is converted, so nothing is refused.
    expect((await app.inject('/text?n=0x10')).json()).toEqual({ n: '0x10' });
    await app.close();
  });
});
