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
  ])('rejects %j (%s)', (spec, why) => {
    const result = parseFields(spec);
    expect(typeof result).toBe('string');
    expect(result).toContain(why);
  });
});
