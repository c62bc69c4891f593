import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createScratch, type Scratch } from './scratch.ts';

describe('gen service', () => {
  let scratch: Scratch;
  beforeAll(() => {
    scratch = createScratch();
  });
  afterAll(() => scratch.remove());

  it('writes a service that installs offline, passes its own checks and boots', async () => {
    const generated = scratch.gen(
      'service',
      'payments',
      '--port',
      '3100',
      '--description',
      'Takes payments.',
    );
    expect(generated.stderr).toBe('');
    expect(generated.code).toBe(0);
    const dir = join(scratch.dir, 'apps/payments');

    const manifest = JSON.parse(readFileSync(join(dir, 'rampart.json'), 'utf8'));
    expect(manifest).toEqual({
      generator: 'service',
      templateVersion: expect.any(Number),
      answers: { name: 'payments', port: 3100, description: 'Takes payments.' },
    });
    const dockerfile = readFileSync(join(dir, 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain('prune @rampart/payments --docker');
    expect(dockerfile).toContain('USER node');
    expect(dockerfile).toMatch(/HEALTHCHECK .*\n.*\/health\/live/);

    const install = scratch.run('pnpm', ['install', '--offline', '--reporter=silent']);
    expect(install.code, install.output).toBe(0);
    // turbo picks the new service up with no hand edits.
    const turbo = scratch.run('pnpm', [
      'turbo',
      'run',
      'typecheck',
      'lint',
      'test',
      '--filter=@rampart/payments',
    ]);
    expect(turbo.code, turbo.output).toBe(0);
    expect(turbo.output).toContain('@rampart/payments:test');

    const child = spawn(process.execPath, [join(dir, 'src/server.ts')], {
      env: { PATH: process.env.PATH, PORT: '0', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      let address: string | undefined;
      for await (const chunk of child.stdout) {
        out += String(chunk);
        address = /payments listening on (http:\/\/\S+)/.exec(out)?.[1];
        if (address) break;
      }
      expect(address, out).toBeDefined();
      const ready = await fetch(`${address}/health/ready`);
      expect(ready.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('picks the next free port when none is given', () => {
    const result = scratch.gen('service', 'billing', '--dry-run');
    expect(result.code).toBe(0);
    const other = scratch.gen('service', 'billing');
    expect(other.code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(scratch.dir, 'apps/billing/rampart.json'), 'utf8'));
    expect(manifest.answers.port).not.toBe(3000); // apps/api's
    expect(manifest.answers.port).toBeGreaterThanOrEqual(3000);
  });

  it('refuses a port another service already uses, writing nothing', () => {
    const before = scratch.status();
    const result = scratch.gen('service', 'ledger', '--port', '3000');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('port 3000 is already the default of another service');
    expect(scratch.status()).toBe(before);
  });
});
