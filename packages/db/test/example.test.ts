import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

describe('the README example', () => {
  it('runs as written', { timeout: 120_000 }, async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [fileURLToPath(new URL('../examples/quickstart.ts', import.meta.url))],
      { timeout: 120_000 },
    );
    expect(JSON.parse(stdout)).toEqual({ system: 'pglite', found: 'first', page: 1, chain: true });
  });
});
