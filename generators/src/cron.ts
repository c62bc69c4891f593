/** One cron field: its name, the values it allows, and the names it accepts for them. */
interface Field {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  /** Names start counting at this value (months at 1, weekdays at 0). */
  namesFrom?: number;
}

const SECOND: Field = { name: 'second', min: 0, max: 59 };
const FIVE_FIELDS: readonly Field[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  {
    name: 'month',
    min: 1,
    max: 12,
    names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'],
    namesFrom: 1,
  },
  // 0 and 7 are both Sunday, as in cron-parser (what pg-boss evaluates schedules with).
  {
    name: 'day-of-week',
    min: 0,
    max: 7,
    names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'],
    namesFrom: 0,
  },
];

const ITEM = /^(\*|[a-z0-9]+)(?:-([a-z0-9]+))?(?:\/(\d+))?$/;

function fieldValue(text: string, field: Field): number | undefined {
  if (/^\d+$/.test(text)) return Number(text);
  const index = field.names?.indexOf(text) ?? -1;
  return index === -1 ? undefined : index + (field.namesFrom ?? 0);
}

function checkField(text: string, field: Field): string | undefined {
  const range = `${field.min}-${field.max}`;
  if (text === '?' && (field.name === 'day-of-month' || field.name === 'day-of-week')) return undefined;
  for (const item of text.toLowerCase().split(',')) {
    const match = ITEM.exec(item);
    if (!match) {
      return `${field.name} "${text}" is not a value, range (a-b), step (*/n, a-b/n) or list (a,b)`;
    }
    const [, start, end, step] = match;
    if (step !== undefined && (Number(step) < 1 || Number(step) > field.max)) {
      return `${field.name} step "/${step}" must be from 1 to ${field.max}`;
    }
    if (start === '*') {
      if (end !== undefined) return `${field.name} "${item}": "*" cannot start a range`;
      continue;
    }
    const from = fieldValue(start!, field);
    if (from === undefined || from < field.min || from > field.max) {
      return `${field.name} "${start}" is out of range ${range}${field.names ? ` (or ${field.names[0]}-${field.names.at(-1)})` : ''}`;
    }
    if (end !== undefined) {
      const to = fieldValue(end, field);
      if (to === undefined || to < field.min || to > field.max) {
        return `${field.name} "${end}" is out of range ${range}`;
      }
      if (to < from) return `${field.name} range "${item}" runs backwards`;
    }
  }
  return undefined;
}

/** The values a checked field's text lists (`*` and `?` list every value). */
function listedValues(text: string, field: Field): number[] {
  const values = new Set<number>();
  if (text === '?') text = '*';
  for (const item of text.toLowerCase().split(',')) {
    const [, start, end, step] = ITEM.exec(item)!;
    const from = start === '*' ? field.min : fieldValue(start!, field)!;
    const to =
      end !== undefined ? fieldValue(end, field)! : start === '*' || step !== undefined ? field.max : from;
    for (let value = from; value <= to; value += Number(step ?? 1)) values.add(value);
  }
  return [...values].sort((a, b) => a - b);
}

/** The most days each month can have (February in a leap year). */
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const MONTH_NAMES = FIVE_FIELDS[3]!.names!;

/**
 * A day of month no listed month has (`0 0 30 2 *`): cron-parser, which pg-boss reads schedules with,
 * refuses the schedule when the task queue starts. Only when the day of week is `*` or `?`: a restricted
 * day of week runs on its own days too (the two combine with OR), as cron-parser reads it.
 */
function unreachableDay(dayOfMonth: string, month: string, dayOfWeek: string): string | undefined {
  if (dayOfWeek !== '*' && dayOfWeek !== '?') return undefined;
  const days = listedValues(dayOfMonth, FIVE_FIELDS[2]!);
  const months = listedValues(month, FIVE_FIELDS[3]!);
  const longest = Math.max(...months.map((value) => DAYS_IN_MONTH[value - 1]!));
  const first = days[0]!;
  if (first <= longest) return undefined;
  const names = months.map((value) => MONTH_NAMES[value - 1]).join(', ');
  return `day-of-month ${days.join(',')} never occurs in ${months.length === 1 ? 'month' : 'months'} ${names} (at most ${longest} days), so the schedule would never run`;
}

/**
 * Checks a cron expression the way a schedule is read at run time: 5 fields (minute hour day-of-month month
 * day-of-week), or 6 with seconds first; each a value, name (jan, mon), range, step or list. Returns what
 * is wrong, or undefined when it is fine.
 */
export function checkCron(expression: string): string | undefined {
  const fields = expression.trim().split(/\s+/).filter(Boolean);
  if (fields.length !== 5 && fields.length !== 6) {
    return `cron "${expression}" must have 5 fields (minute hour day-of-month month day-of-week) or 6 (seconds first); it has ${fields.length}`;
  }
  const shape = fields.length === 6 ? [SECOND, ...FIVE_FIELDS] : FIVE_FIELDS;
  for (const [index, text] of fields.entries()) {
    const problem = checkField(text, shape[index]!);
    if (problem) return `cron "${expression}": ${problem}`;
  }
  const [dayOfMonth, month, dayOfWeek] = fields.slice(-3) as [string, string, string];
  const never = unreachableDay(dayOfMonth, month, dayOfWeek);
  return never ? `cron "${expression}": ${never}` : undefined;
}
