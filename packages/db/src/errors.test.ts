import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DB_ERRORS, DbError, isDbError } from './errors.ts';

function readmeTable(): Array<{ code: string; status: number }> {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## Errors'));
  return [...section.matchAll(/^\|\s*`(RAMPART_DB_[A-Z_]+)`\s*\|\s*(\d{3})\s*\|/gm)].map((match) => ({
    code: match[1]!,
    status: Number(match[2]),
  }));
}

describe('errors', () => {
  it('match the README errors table, code for code and status for status', () => {
    const documented = readmeTable();
    const exported = Object.entries(DB_ERRORS).map(([code, entry]) => ({ code, status: entry.status }));
    expect(documented).toEqual(exported);
  });

  it('carry code, status and cause, and are recognised by code', () => {
    const cause = new Error('root');
    const error = new DbError('RAMPART_DB_CURSOR_INVALID', { detail: 'not base64', cause });
    expect(error).toMatchObject({ code: 'RAMPART_DB_CURSOR_INVALID', statusCode: 400, cause });
    expect(error.message).toBe('the pagination cursor is malformed: not base64');
    expect(isDbError(error)).toBe(true);
    expect(isDbError(error, 'RAMPART_DB_CLOSED')).toBe(false);
    expect(isDbError({ code: 'RAMPART_DB_CLOSED' }, 'RAMPART_DB_CLOSED')).toBe(true);
    expect(isDbError(new Error('x'))).toBe(false);
  });
});
