import { describe, expect, it } from 'vitest';
import { parseFields } from './fields.ts';

describe('parseFields', () => {
  it('reads names, types and optional markers', () => {
    expect(
      parseFields('title:string, amount:integer,due_at:timestamp?,contactEmail:encrypted-string'),
    ).toEqual([
      { prop: 'title', column: 'title', type: 'string', optional: false },
      { prop: 'amount', column: 'amount', type: 'integer', optional: false },
      { prop: 'dueAt', column: 'due_at', type: 'timestamp', optional: true },
      { prop: 'contactEmail', column: 'contact_email', type: 'encrypted-string', optional: false },
    ]);
  });

  it('takes names that are no property of every object, such as a drizzle table method', () => {
    expect(parseFields('enableRLS:boolean,getSQL:string')).toMatchObject([
      { prop: 'enableRLS', column: 'enable_r_l_s' },
      { prop: 'getSQL', column: 'get_s_q_l' },
    ]);
  });

  it("takes a column of exactly 63 bytes, PostgreSQL's limit", () => {
    const name = `${'a'.repeat(37)}${'B'.repeat(13)}`;
    expect(parseFields(`${name}:string`)).toEqual([
      { prop: name, column: `${'a'.repeat(37)}${'_b'.repeat(13)}`, type: 'string', optional: false },
    ]);
  });

  it.each([
    ['', 'fields are empty'],
    ['title', 'must look like name:type'],
    ['title:', 'unknown type ""'],
    ['title:varchar', 'unknown type "varchar"; types: string, text'],
    ['Title:string', 'must be camelCase or snake_case'],
    ['1st:string', 'must be camelCase or snake_case'],
    ['id:uuid', '"id" is reserved'],
    ['created_at:timestamp', '"created_at" is reserved'],
    ['updatedAt:timestamp', '"updatedAt" is reserved'],
    ['title:string,title:text', '"title" is given twice'],
    ['dueAt:timestamp,due_at:timestamp', '"due_at" is given twice'],
    ['a:string,,b:string', 'must look like name:type'],
    // Properties every object has: the generated types and PATCH's validation would break.
    ['toString:string', '"toString" is reserved: every object already has a property "toString"'],
    ['to_string:string', '"to_string" is reserved: every object already has a property "toString"'],
    ['valueOf:integer', '"valueOf" is reserved'],
    ['hasOwnProperty:boolean', '"hasOwnProperty" is reserved'],
    ['isPrototypeOf:string', '"isPrototypeOf" is reserved'],
    ['propertyIsEnumerable:string', '"propertyIsEnumerable" is reserved'],
    ['toLocaleString:string', '"toLocaleString" is reserved'],
    ['constructor:string', '"constructor" is reserved'],
    // Two names, one property: `foo_1` is `foo1` in JSON and TypeScript.
    ['foo_1:string,foo1:string', '"foo1" is given twice (as foo1 too'],
    ['foo1:string,foo_1:integer', '"foo_1" is given twice (as foo1 too'],
    // A column over PostgreSQL's 63 bytes (the name itself is 50 characters, within its own limit).
    [`${'a'.repeat(36)}${'B'.repeat(14)}:string`, `bytes: PostgreSQL allows at most 63`],
    [`${'aB'.repeat(25)}:string`, 'gives the column "a_ba_ba_b'],
  ])('rejects %j (%s)', (spec, why) => {
    const result = parseFields(spec);
    expect(typeof result).toBe('string');
    expect(result).toContain(why);
  });
});
