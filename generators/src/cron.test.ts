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
    // Days that occur in at least one listed month (February 29 in leap years), or with a day of week.
    '0 0 29 2 *',
    '0 0 31 2,3 *',
    '0 0 31 4-6 *',
    '0 0 31 4/2 *',
    '0 0 31 */2 *',
    '0 0 30-31 1,feb *',
    '0 0 */30 2 *',
    '0 0 30 2 1',
    '0 0 30 feb mon-fri',
    '0 0 0 31 dec ?',
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
    // A day of month no listed month has: cron-parser (pg-boss) refuses it when the queue starts.
    ['0 0 30 2 *', 'day-of-month 30 never occurs in month feb (at most 29 days)'],
    ['0 0 31 4 *', 'day-of-month 31 never occurs in month apr (at most 30 days)'],
    ['0 0 30 feb *', 'day-of-month 30 never occurs in month feb'],
    ['0 0 30 FEB ?', 'day-of-month 30 never occurs in month feb'],
    ['0 0 31 4,6 *', 'day-of-month 31 never occurs in months apr, jun (at most 30 days)'],
    ['0 0 30-31 2 *', 'day-of-month 30,31 never occurs'],
    ['0 0 0 31 sep,nov ?', 'never occurs in months sep, nov'],
  ])('rejects %j (%s)', (expression, why) => {
    expect(checkCron(expression)).toContain(why);
  });
});
