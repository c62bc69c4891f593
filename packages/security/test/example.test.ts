import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

describe('examples/quickstart.ts', () => {
  it('runs as documented and shows each answer a client gets', { timeout: 300_000 }, async () => {
    const script = fileURLToPath(new URL('../examples/quickstart.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [script], { timeout: 240_000 });
    const statuses = stdout
      .trim()
      .split('\n')
      .map((line) => Number(/ (\d{3}) /.exec(line)?.[1]));
    expect(statuses).toEqual([200, 401, 403, 200, 400, 200, 429]);
    expect(stdout).toContain('Validierung fehlgeschlagen');
  });
});
