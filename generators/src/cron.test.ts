import { describe, expect, it } from 'vitest';
import { checkCron } from './cron.ts';

describe('checkCron', () => {
  it.each([
    '*/5 * * * *',
    '0 3 * * *',
    '17 * * * *',
    '0 9 * * mon-fri',
    '0 0 1 jan,jul *',
    '30 0 9 * * 1',
    '0 0 ? * 7',
    '0-30/10 8-18 1,15 * *',
  ])('accepts %s', (expression) => {
    expect(checkCron(expression)).toBeUndefined();
  });

  it.each([
    ['', 'must have 5 fields'],
    ['every day', 'it has 2'],
    ['* * * *', 'it has 4'],
    ['* * * * * * *', 'it has 7'],
    ['60 * * * *', 'minute "60" is out of range 0-59'],
    ['* 24 * * *', 'hour "24" is out of range 0-23'],
    ['* * 0 * *', 'day-of-month "0" is out of range 1-31'],
    ['* * * 13 *', 'month "13" is out of range 1-12'],
    ['* * * * 8', 'day-of-week "8" is out of range 0-7'],
    ['* * * * funday', 'day-of-week "funday" is out of range'],
    ['*/0 * * * *', 'step "/0" must be from 1'],
    ['30-10 * * * *', 'runs backwards'],
    ['@daily * * * *', 'is not a value, range'],
    ['? * * * *', 'is not a value, range'],
  ])('rejects %j (%s)', (expression, why) => {
    expect(checkCron(expression)).toContain(why);
  });
});
