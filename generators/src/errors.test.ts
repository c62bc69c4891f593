import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GEN_ERRORS } from './errors.ts';

describe('error codes', () => {
  it('are the ones the README lists, with the same meaning', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const rows = [...readme.matchAll(/^\| `(RAMPART_GEN_[A-Z_]+)`\s*\| (.+?)\s*\| .+\|$/gm)].map((match) => [
      match[1],
      match[2],
    ]);
    expect(Object.fromEntries(rows)).toEqual(GEN_ERRORS);
  });
});
