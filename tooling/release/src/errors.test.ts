import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isReleaseError, RELEASE_ERRORS, ReleaseError } from './errors.ts';

describe('release error codes', () => {
  it('are the ones the README lists, with the same status and meaning', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const rows = [
      ...readme.matchAll(/^\|\s*`(RAMPART_RELEASE_[A-Z_]+)`\s*\|\s*(\d+)\s*\|\s*(.+?)\s*\|$/gm),
    ].map((match) => [match[1], { status: Number(match[2]), message: match[3] }]);
    expect(Object.fromEntries(rows)).toEqual(RELEASE_ERRORS);
  });

  it('carry their code, status and cause, and are recognised by code', () => {
    const cause = new Error('git exited 128');
    const error = new ReleaseError('RAMPART_RELEASE_DIRTY_TREE', ' M package.json', { cause });
    expect(error).toMatchObject({ code: 'RAMPART_RELEASE_DIRTY_TREE', status: 409, cause });
    expect(error.message).toBe(`${RELEASE_ERRORS.RAMPART_RELEASE_DIRTY_TREE.message}:  M package.json`);
    expect(isReleaseError(error)).toBe(true);
    expect(isReleaseError(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBe(false);
    expect(isReleaseError({ code: 'RAMPART_RELEASE_DIRTY_TREE' })).toBe(false);
  });
});
