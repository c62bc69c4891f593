import { createHmac } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@rampart/db/testing';
import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { apiKeyIdAt, generateApiKey, parseApiKey } from './api-key-format.ts';
import { type ApiKeys, createApiKeys } from './api-keys.ts';
import { migrationsFolder, migrationsTable } from './migrations-folder.ts';
import { apiKeys as apiKeysTable } from './schema.ts';

const PEPPER = 'pepper-for-tests-0123456789abcdef0123';
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(options: { now?: () => Date; env?: string; cacheTtlMs?: number } = {}) {
  const database: TestDatabase = await createTestDatabase({
    migrations: [{ migrationsFolder, migrationsTable }],
  });
  cleanups.push(() => database.close());
  const keys: ApiKeys = createApiKeys({
    db: database.db,
    pepper: PEPPER,
    lastUsedFlushMs: 60_000,
    ...options,
  });
  cleanups.push(() => keys.close());
  return { database, keys };
}

describe('createApiKeys', () => {
  it('issues rk_<env>_<id>_<secret>, stores only a peppered hash, and verifies the key', async () => {
    const { database, keys } = await setup();
    const { key, record } = await keys.create({
      name: 'billing',
      scopes: ['invoices:read', 'invoices:read'],
    });
    const parsed = parseApiKey(key)!;
    expect(parsed).toMatchObject({ env: 'live', id: record.id });
    expect(record).not.toHaveProperty('secretHash');
    const [row] = await database.db.select().from(apiKeysTable).where(eq(apiKeysTable.id, record.id));
    expect(row!.secretHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(row)).not.toContain(parsed.secret);
    expect(await keys.verify(key)).toEqual({
      id: record.id,
      name: 'billing',
      env: 'live',
      scopes: ['invoices:read'],
    });
  });

  it('rejects wrong secrets, unknown ids, other environments and malformed keys', async () => {
    const { keys } = await setup();
    const { key } = await keys.create({ name: 'a' });
    const parsed = parseApiKey(key)!;
    const flipped = `rk_live_${parsed.id}_${parsed.secret.slice(0, -1)}${parsed.secret.endsWith('a') ? 'b' : 'a'}`;
    expect(await keys.verify(flipped)).toBeUndefined();
    expect(await keys.verify(`rk_live_${'A'.repeat(16)}_${parsed.secret}`)).toBeUndefined();
    expect(await keys.verify(`rk_test_${parsed.id}_${parsed.secret}`)).toBeUndefined();
    for (const bad of ['', 'rk_live', key.toUpperCase(), `${key}x`, `Bearer ${key}`, 'x'.repeat(10_000)]) {
      expect(await keys.verify(bad)).toBeUndefined();
    }
  });

  it('verifyCached answers without I/O exactly as verify does, and defers to it when the row is not cached', async () => {
    let now = new Date('2030-01-01T00:00:00Z');
    const { keys } = await setup({ now: () => now });
    const { key, record } = await keys.create({ name: 'a', expiresAt: new Date('2030-01-02T00:00:00Z') });
    const parsed = parseApiKey(key)!;
    const flipped = `rk_live_${parsed.id}_${parsed.secret.slice(0, -1)}${parsed.secret.endsWith('a') ? 'b' : 'a'}`;
    // Malformed keys need no row; an uncached id needs the store.
    expect(keys.verifyCached('rk_live')).toBeNull();
    expect(keys.verifyCached(key)).toBeUndefined();
    const verified = await keys.verify(key);
    expect(verified).toMatchObject({ id: record.id });
    // Cached now: the same identity object, and refusals for a wrong secret or another environment.
    expect(keys.verifyCached(key)).toBe(verified);
    expect(keys.verifyCached(flipped)).toBeNull();
    expect(keys.verifyCached(`rk_test_${parsed.id}_${parsed.secret}`)).toBeNull();
    now = new Date('2030-01-02T00:00:00Z');
    expect(keys.verifyCached(key)).toBeNull();
    expect(await keys.verify(key)).toBeUndefined();
    now = new Date('2030-01-01T12:00:00Z');
    await keys.revoke(record.id);
    expect(keys.verifyCached(key)).toBeUndefined();
    expect(await keys.verify(key)).toBeUndefined();
  });

  it('finds the id by position wherever the environment is 1 to 16 characters, and nothing off-length', () => {
    for (const env of ['a', 'live', 'x'.repeat(16)]) {
      const issued = generateApiKey(env);
      expect(apiKeyIdAt(issued.key)).toBe(issued.id);
      expect(apiKeyIdAt(issued.key)).toBe(parseApiKey(issued.key)?.id);
    }
    const longest = generateApiKey('x'.repeat(16)).key;
    expect(apiKeyIdAt(`${longest}a`)).toBeUndefined();
    expect(apiKeyIdAt(generateApiKey('a').key.slice(1))).toBeUndefined();
  });

  it('once a key has verified, a key differing from it anywhere is still refused', async () => {
    const { keys } = await setup();
    const { key } = await keys.create({ name: 'a' });
    const verified = await keys.verify(key);
    expect(verified).toBeDefined();
    // The verified text is remembered, so its next presentation skips the HMAC: every one-character change
    // (env, id, separators or secret) must still be refused, by verifyCached and by verify.
    for (let index = 0; index < key.length; index += 1) {
      const changed = `${key.slice(0, index)}${key[index] === 'a' ? 'b' : 'a'}${key.slice(index + 1)}`;
      expect(keys.verifyCached(changed) ?? null).toBeNull();
      expect(await keys.verify(changed)).toBeUndefined();
      expect(keys.verifyCached(key)).toBe(verified);
    }
    expect(await keys.verify(`${key}a`)).toBeUndefined();
    expect(await keys.verify(key.slice(0, -1))).toBeUndefined();
    expect(await keys.verify(key)).toBe(verified);
  });

  it('a different pepper cannot verify the same key', async () => {
    const { database, keys } = await setup();
    const { key } = await keys.create({ name: 'a' });
    const other = createApiKeys({ db: database.db, pepper: `${PEPPER}-other` });
    cleanups.push(() => other.close());
    expect(await other.verify(key)).toBeUndefined();
  });

  it('verifies keys whose hash was stored as createHmac(pepper) wrote it', async () => {
    // Hashes written before the prepared HMAC (one createHmac per key) must keep verifying.
    const { database, keys } = await setup();
    const id = 'Legacy0123456789';
    const secret = 'SSSSSSSSSSSSSSSSSSSSabcdefghijklmnopqrstuvw';
    await database.db.insert(apiKeysTable).values({
      id,
      name: 'legacy',
      env: 'live',
      secretHash: createHmac('sha256', PEPPER).update(secret).digest('hex'),
      scopes: ['a'],
    });
    expect(await keys.verify(`rk_live_${id}_${secret}`)).toMatchObject({ id, name: 'legacy' });
    expect(await keys.verify(`rk_live_${id}_${secret.slice(0, -1)}x`)).toBeUndefined();
  });

  it('hands out a frozen identity: one caller cannot widen the scopes the next one sees', async () => {
    const { keys } = await setup();
    const { key } = await keys.create({ name: 'a', scopes: ['read'] });
    const first = await keys.verify(key);
    expect(() => (first!.scopes as string[]).push('admin')).toThrow(TypeError);
    expect(() => Object.assign(first!, { name: 'b' })).toThrow(TypeError);
    expect(await keys.verify(key)).toEqual({ id: first!.id, name: 'a', env: 'live', scopes: ['read'] });
  });

  it('stops accepting a key once it expires', async () => {
    let now = new Date('2030-01-01T00:00:00Z');
    const { keys } = await setup({ now: () => now });
    const { key } = await keys.create({ name: 'temp', expiresAt: new Date('2030-01-02T00:00:00Z') });
    expect(await keys.verify(key)).toBeDefined();
    now = new Date('2030-01-02T00:00:00Z');
    expect(await keys.verify(key)).toBeUndefined();
  });

  it('revokes at once in this process, and rejects unknown ids with a coded error', async () => {
    const { keys } = await setup();
    const { key, record } = await keys.create({ name: 'a' });
    expect(await keys.verify(key)).toBeDefined();
    const revoked = await keys.revoke(record.id);
    expect(revoked.revokedAt).toBeInstanceOf(Date);
    expect(await keys.verify(key)).toBeUndefined();
    await expect(keys.revoke('nope')).rejects.toMatchObject({ code: 'RAMPART_SECURITY_KEY_NOT_FOUND' });
  });

  it('another process sees a revocation after at most the cache TTL', async () => {
    const { database, keys } = await setup({ cacheTtlMs: 50 });
    const elsewhere = createApiKeys({ db: database.db, pepper: PEPPER });
    cleanups.push(() => elsewhere.close());
    const { key, record } = await keys.create({ name: 'a' });
    expect(await keys.verify(key)).toBeDefined();
    await elsewhere.revoke(record.id);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(await keys.verify(key)).toBeUndefined();
  });

  it('keeps the most recently used keys when the cache is full (least recently used goes first)', async () => {
    const { database } = await setup();
    const keys = createApiKeys({ db: database.db, pepper: PEPPER, cacheSize: 2, cacheTtlMs: 60_000 });
    cleanups.push(() => keys.close());
    const elsewhere = createApiKeys({ db: database.db, pepper: PEPPER });
    cleanups.push(() => elsewhere.close());
    const [a, b, c] = [
      await keys.create({ name: 'a' }),
      await keys.create({ name: 'b' }),
      await keys.create({ name: 'c' }),
    ];
    // Cached in use order a, b; then a again (now most recent, twice: the second use changes nothing), then c
    // evicts the least recently used, b.
    for (const issued of [a, b, a, a, c]) expect(await keys.verify(issued!.key)).toBeDefined();
    // Revoked by another process: a cached key still verifies until its TTL, an evicted one is read again.
    await elsewhere.revoke(a!.record.id);
    await elsewhere.revoke(b!.record.id);
    expect(await keys.verify(a!.key)).toBeDefined();
    expect(await keys.verify(b!.key)).toBeUndefined();
  });

  it('rotates with an overlap: both keys work until the old one expires, then only the new one', async () => {
    let now = new Date('2030-01-01T00:00:00Z');
    const { keys } = await setup({ now: () => now });
    const first = await keys.create({ name: 'svc', scopes: ['a', 'b'] });
    const rotated = await keys.rotate(first.record.id, { overlapMs: 3_600_000 });
    expect(rotated.record).toMatchObject({ name: 'svc', scopes: ['a', 'b'], expiresAt: null });
    expect(rotated.previous).toMatchObject({
      replacedBy: rotated.record.id,
      expiresAt: new Date('2030-01-01T01:00:00Z'),
    });
    expect(await keys.verify(first.key)).toBeDefined();
    expect(await keys.verify(rotated.key)).toBeDefined();
    now = new Date('2030-01-01T01:00:00Z');
    expect(await keys.verify(first.key)).toBeUndefined();
    expect(await keys.verify(rotated.key)).toBeDefined();
    await expect(keys.rotate(first.record.id)).rejects.toMatchObject({
      code: 'RAMPART_SECURITY_KEY_NOT_FOUND',
    });
  });

  it('writes last-used times in one batch, not per request', async () => {
    const { database, keys } = await setup();
    const a = await keys.create({ name: 'a' });
    const b = await keys.create({ name: 'b' });
    for (let index = 0; index < 5; index += 1) {
      await keys.verify(a.key);
      await keys.verify(b.key);
    }
    const before = await keys.list();
    expect(before.every((row) => row.lastUsedAt === null)).toBe(true);
    expect(await keys.flushLastUsed()).toBe(2);
    expect(await keys.flushLastUsed()).toBe(0);
    const rows = await database.db.select().from(apiKeysTable);
    expect(rows.every((row) => row.lastUsedAt instanceof Date)).toBe(true);
  });

  it('lists keys without hashes', async () => {
    const { keys } = await setup();
    await keys.create({ name: 'one' });
    await keys.create({ name: 'two', scopes: ['x'] });
    const list = await keys.list();
    expect(list.map((row) => row.name).sort()).toEqual(['one', 'two']);
    expect(JSON.stringify(list)).not.toContain('secret');
  });

  it('rejects invalid options and create input with a coded error', async () => {
    const { database, keys } = await setup();
    for (const options of [
      { pepper: 'short' },
      { pepper: PEPPER, env: 'Live!' },
      { pepper: PEPPER, cacheSize: 0 },
    ]) {
      expect(() => createApiKeys({ db: database.db, ...options })).toThrow(
        expect.objectContaining({ code: 'RAMPART_SECURITY_OPTIONS_INVALID' }),
      );
    }
    for (const input of [
      { name: '' },
      { name: 'a', scopes: ['bad scope'] },
      { name: 'a', expiresAt: new Date(0) },
    ]) {
      await expect(keys.create(input)).rejects.toMatchObject({ code: 'RAMPART_SECURITY_OPTIONS_INVALID' });
    }
  });
});
