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
  return undefined;
}
