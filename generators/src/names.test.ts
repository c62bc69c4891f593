import { describe, expect, it } from 'vitest';
import { camelCase, checkName, pascalCase } from './names.ts';

describe('checkName', () => {
  it.each(['payments', 'order-events', 'v2-api', 'a1'])('accepts %s', (name) => {
    expect(checkName(name, 'service')).toBeUndefined();
  });

  it.each([
    ['', 'empty'],
    ['Payments', 'kebab-case'],
    ['order_events', 'kebab-case'],
    ['-lead', 'kebab-case'],
    ['trail-', 'kebab-case'],
    ['double--hyphen', 'kebab-case'],
    ['9lives', 'kebab-case'],
    ['a'.repeat(41), 'longer than 40'],
    ['utils', 'reserved'],
    ['crypto', 'reserved'],
    ['constructor', 'reserved'],
  ])('rejects %j (%s)', (name, why) => {
    expect(checkName(name, 'service')).toContain(why);
  });
});

describe('case helpers', () => {
  it('converts kebab-case names', () => {
    expect(pascalCase('order-events')).toBe('OrderEvents');
    expect(camelCase('order-events')).toBe('orderEvents');
  });
});
