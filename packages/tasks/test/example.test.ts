import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

describe('examples/embedded.ts', () => {
  it('runs: the committed order is notified once, the rolled-back one never', async () => {
    const example = fileURLToPath(new URL('../examples/embedded.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [example], { timeout: 50_000 });
    expect(stdout).toBe('order 1 (key order-1, attempt 1)\n');
  });
});
