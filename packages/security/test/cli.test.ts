import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createDb } from '@rampart/db';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApiKeys } from '../src/api-keys.ts';
import { PEPPER } from './app.ts';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
// Each test gets its own PGlite directory. Every command is a fresh process opening PGlite, which takes seconds
// on two busy cores, hence the long per-test timeout.
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rampart-security-cli-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));
const SLOW = { timeout: 300_000 };

async function cli(...args: string[]) {
  return cliWith({ RAMPART_API_KEY_PEPPER: PEPPER }, ...args);
}

async function cliWith(env: Record<string, string>, ...args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH, RAMPART_DATA_DIR: join(dir, 'db'), ...env },
      timeout: 150_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

async function verifyInDirectory(presented: string[]) {
  const database = await createDb({ dataDir: join(dir, 'db') });
  const keys = createApiKeys({ db: database.db, pepper: PEPPER });
  try {
    return await Promise.all(presented.map((key) => keys.verify(key)));
  } finally {
    await keys.close();
    await database.close();
  }
}

describe('rampart-security keys (a real child process on a PGlite directory)', () => {
  it(
    'creates, lists, rotates and revokes keys; the secret is printed once and never listed',
    SLOW,
    async () => {
      const created = await cli('keys', 'create', '--name', 'ci', '--scopes', 'orders:read, orders:write');
      expect(created.code).toBe(0);
      const { key, record } = JSON.parse(created.stdout);
      expect(key).toMatch(/^rk_live_[A-Za-z0-9]{16}_[A-Za-z0-9]{43}$/);
      expect(record.scopes).toEqual(['orders:read', 'orders:write']);

      const listed = await cli('keys', 'list');
      expect(JSON.parse(listed.stdout).map((row: { id: string }) => row.id)).toEqual([record.id]);
      expect(listed.stdout).not.toContain(key.split('_').at(-1));

      const rotated = JSON.parse((await cli('keys', 'rotate', record.id, '--overlap-hours', '0')).stdout);
      expect(rotated.previous.replacedBy).toBe(rotated.record.id);
      expect(await verifyInDirectory([key, rotated.key])).toEqual([
        undefined,
        expect.objectContaining({ id: rotated.record.id }),
      ]);

      const revoked = JSON.parse((await cli('keys', 'revoke', rotated.record.id)).stdout);
      expect(revoked.revokedAt).toEqual(expect.any(String));
    },
  );

  it('exits 1 with a coded message for an unknown id and 2 with usage for bad arguments', SLOW, async () => {
    const missing = await cli('keys', 'revoke', 'nope');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('RAMPART_SECURITY_KEY_NOT_FOUND');
    const usage = await cli('keys', 'create');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('create needs --name');
    expect((await cli('keys', 'create', '--name', 'x', '--expires-in-days', '-1')).code).toBe(2);
  });

  it('refuses a missing, short or weak pepper before it creates a database', async () => {
    const unset = await cliWith({}, 'keys', 'list');
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain('set RAMPART_API_KEY_PEPPER');
    const short = await cliWith({ RAMPART_API_KEY_PEPPER: 'too-short' }, 'keys', 'create', '--name', 'x');
    expect(short.code).toBe(1);
    expect(short.stderr).toContain('RAMPART_SECURITY_OPTIONS_INVALID');
    expect(short.stderr).toContain('pepper must be at least 32 characters');
    const weak = await cliWith({ RAMPART_API_KEY_PEPPER: 'a'.repeat(32) }, 'keys', 'create', '--name', 'x');
    expect(weak.code).toBe(1);
    expect(weak.stderr).toContain('pepper is too weak');
    expect(weak.stderr).toContain('openssl rand -base64 48');
    expect(existsSync(join(dir, 'db'))).toBe(false);
  });
});
