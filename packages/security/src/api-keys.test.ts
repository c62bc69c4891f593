import { createHmac, randomBytes } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '@rampart/db/testing';
import { eq } from 'drizzle-orm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { apiKeyIdAt, generateApiKey, parseApiKey } from './api-key-format.ts';
import { type ApiKeys, createApiKeys } from './api-keys.ts';
import { migrationsFolder, migrationsTable } from './migrations-folder.ts';
import { apiKeys as apiKeysTable } from './schema.ts';

const PEPPER = 'pepper-for-tests-0123456789abcdef0123';
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(
  options: { now?: () => Date; env?: string; cacheTtlMs?: number; selects?: string[] } = {},
) {
  const { selects, ...keyOptions } = options;
  const database: TestDatabase = await createTestDatabase({
    migrations: [{ migrationsFolder, migrationsTable }],
    // Every statement the real database ran, so a test can count the reads a verify cost.
    ...(selects ? { observer: { onQuery: (event) => void selects.push(event.operation) } } : {}),
  });
  cleanups.push(() => database.close());
  const keys: ApiKeys = createApiKeys({
    db: database.db,
    pepper: PEPPER,
    lastUsedFlushMs: 60_000,
    ...keyOptions,
  });
  cleanups.push(() => keys.close());
  return { database, keys };
}

/**
 * The same real database, except that the answer to each SELECT is handed back only once the test calls
 * `release()`: the network latency during which a revoke() can overtake a read, made deterministic.
 */
function holdingReads(db: TestDatabase['db']) {
  const held: (() => void)[] = [];
  const wrap = (builder: object): object =>
    new Proxy(builder, {
      get(target, property) {
        const value = Reflect.get(target, property, target) as unknown;
        if (typeof value !== 'function') return value;
        if (property === 'then') {
          return (resolve: (rows: unknown) => unknown, reject: (error: unknown) => unknown) =>
            (value as PromiseLike<unknown>['then'])
              .call(target, (rows) => new Promise((done) => held.push(() => done(rows))))
              .then(resolve, reject);
        }
        return (...args: unknown[]) => {
          const result = (value as (...a: unknown[]) => unknown).apply(target, args);
          return typeof result === 'object' && result !== null ? wrap(result) : result;
        };
      },
    });
  const proxied = new Proxy(db, {
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (property !== 'select') return value;
      return (...args: unknown[]) => wrap((value as (...a: unknown[]) => object).apply(target, args));
    },
  });
  const waitHeld = () => vi.waitFor(() => expect(held.length).toBeGreaterThan(0));
  return {
    db: proxied,
    /** Resolves once a read has its answer waiting. */
    held: waitHeld,
    /** Waits until a read has its answer, then hands it over. */
    async release() {
      await waitHeld();
      held.shift()!();
    },
  };
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

  it('refuses an obviously weak pepper, saying what is wrong and how to make a good one', async () => {
    const { database } = await setup();
    for (const [pepper, reason] of [
      ['a'.repeat(32), /1 distinct characters, at least 8 needed/],
      ['abc'.repeat(11), /3 distinct characters/],
      ['password'.repeat(4), /7 distinct characters/],
      ['abcdefgh'.repeat(4), /a unit of 8 characters repeated/],
      [`${'0123456789abcdef'.repeat(2)}01`, /a unit of 16 characters repeated/],
      ['d72409ee2f73b434f5cf9b583be2c91b'.repeat(2), /a unit of 32 characters repeated/],
    ] as const) {
      let thrown: unknown;
      try {
        createApiKeys({ db: database.db, pepper });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toMatchObject({
        code: 'RAMPART_SECURITY_OPTIONS_INVALID',
        message: expect.stringMatching(reason),
      });
      expect((thrown as Error).message).toContain('openssl rand -base64 48');
      // The message reaches logs: it never repeats the pepper.
      expect((thrown as Error).message).not.toContain(pepper.slice(0, 8));
    }
  });

  it("accepts random peppers and every pepper this repository's services, tests and benches use", async () => {
    const { database } = await setup();
    const canary = `rk_canary_${randomBytes(8).toString('hex')}_${randomBytes(22).toString('hex')}`;
    const peppers = [
      // openssl rand -hex 32, openssl rand -base64 48
      'd72409ee2f73b434f5cf9b583be2c91bb2a3102d59f632a073521ba17aa8a772',
      'UvkQ1GHeH9a5NUdtoM5YkYEnFqAMNmFY0NDVsNJqPuTvkq7i6Jw5l7yAOA/eC/67',
      // DEVELOPMENT_PEPPER in apps/*/src/env.ts and the service template
      'development-only-pepper-never-use-in-production',
      // packages/security tests, bench/src/cold-start.ts, apps/*/test/bundle*.test.ts, tooling/reliability
      PEPPER,
      `${PEPPER}-other`,
      'bench-pepper-0123456789abcdef0123456789abcdef',
      'bundle-test-pepper-0123456789abcdef0123456789',
      'reliability-pepper-0123456789abcdef0123456789',
      // @rampart/testing's canary secret, as the hardening tests pass it, and its fixture app's pepper
      canary,
      `${canary}-pepper-padding`,
      // examples/quickstart.ts, bench/run.ts
      randomBytes(32).toString('hex'),
    ];
    for (let index = 0; index < 200; index += 1) {
      peppers.push(randomBytes(32).toString('hex'), randomBytes(48).toString('base64'));
    }
    for (const pepper of peppers) {
      const keys = createApiKeys({ db: database.db, pepper, lastUsedFlushMs: 60_000 });
      await keys.close();
    }
  });

  it('rejects invalid options and create input with a coded error', async () => {
    const { database, keys } = await setup();
    for (const options of [
      { pepper: 'short' },
      { pepper: PEPPER, env: 'Live!' },
      { pepper: PEPPER, cacheSize: 0 },
      { pepper: PEPPER, db: undefined as never },
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

  it('a read that revoke() or rotate() overtook does not put the old row back in the cache', async () => {
    const { database, keys } = await setup();
    const reads = holdingReads(database.db);
    const racing = createApiKeys({ db: reads.db, pepper: PEPPER, lastUsedFlushMs: 60_000 });
    cleanups.push(() => racing.close());
    for (const change of ['revoke', 'rotate'] as const) {
      const { key, record } = await keys.create({ name: change });
      // A cache miss: the row is read before the change and its answer arrives after it.
      const before = racing.verify(key);
      await reads.held();
      if (change === 'revoke') await racing.revoke(record.id);
      else await racing.rotate(record.id, { overlapMs: 0 });
      await reads.release();
      // The request that started before the change may still pass; nothing after it does.
      await before;
      expect(racing.verifyCached(key)).toBeUndefined();
      const after = racing.verify(key);
      await reads.release();
      expect(await after).toBeUndefined();
    }
  });

  it('concurrent first requests for one key share one read, and an unknown id is remembered', async () => {
    const selects: string[] = [];
    const { keys } = await setup({ selects });
    const { key } = await keys.create({ name: 'a' });
    selects.length = 0;
    const results = await Promise.all(Array.from({ length: 50 }, () => keys.verify(key)));
    expect(results.every((result) => result?.name === 'a')).toBe(true);
    expect(selects).toEqual(['select']);

    selects.length = 0;
    const unknown = generateApiKey('live').key;
    const misses = await Promise.all(Array.from({ length: 20 }, () => keys.verify(unknown)));
    expect(misses.every((result) => result === undefined)).toBe(true);
    for (let index = 0; index < 20; index += 1) expect(await keys.verify(unknown)).toBeUndefined();
    // Known to be unknown: answered without I/O, as verify answers.
    expect(keys.verifyCached(unknown)).toBeNull();
    expect(selects).toEqual(['select']);
  });

  it('unknown ids are remembered in a bounded map of their own: a flood does not evict verified keys', async () => {
    const selects: string[] = [];
    const { database } = await setup({ selects });
    const keys = createApiKeys({ db: database.db, pepper: PEPPER, cacheSize: 4, lastUsedFlushMs: 60_000 });
    cleanups.push(() => keys.close());
    const { key } = await keys.create({ name: 'a' });
    expect(await keys.verify(key)).toBeDefined();
    const guesses = Array.from({ length: 10 }, () => generateApiKey('live').key);
    for (const guess of guesses) expect(await keys.verify(guess)).toBeUndefined();
    selects.length = 0;
    expect(keys.verifyCached(key)).toMatchObject({ name: 'a' });
    // The 4 most recent guesses are remembered, the older ones were dropped.
    expect(guesses.slice(-4).map((guess) => keys.verifyCached(guess))).toEqual([null, null, null, null]);
    expect(keys.verifyCached(guesses[0]!)).toBeUndefined();
    expect(selects).toEqual([]);
  });

  it('cache lifetimes follow a monotonic clock: a wall-clock step back does not keep a row cached', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'performance'] });
    cleanups.push(async () => vi.useRealTimers());
    vi.setSystemTime(new Date('2030-01-01T12:00:00Z'));
    const { database, keys } = await setup({ cacheTtlMs: 10_000 });
    const elsewhere = createApiKeys({ db: database.db, pepper: PEPPER });
    cleanups.push(() => elsewhere.close());
    const { key, record } = await keys.create({ name: 'a' });
    expect(await keys.verify(key)).toBeDefined();
    await elsewhere.revoke(record.id);
    // The wall clock is stepped back an hour (NTP, a VM resumed) while 11 s really pass.
    vi.setSystemTime(new Date('2030-01-01T11:00:00Z'));
    vi.advanceTimersByTime(11_000);
    expect(keys.verifyCached(key)).toBeUndefined();
    expect(await keys.verify(key)).toBeUndefined();
  });

  it('refuses scopes that are not an array of literal scope strings, and an overlap past a year', async () => {
    const { keys } = await setup();
    for (const input of [
      { name: 'a', scopes: 'orders:read' as never },
      { name: 'a', scopes: ['*'] },
      { name: 'a', scopes: ['orders:*'] },
      { name: 'a', scopes: [42 as never] },
    ]) {
      await expect(keys.create(input)).rejects.toMatchObject({ code: 'RAMPART_SECURITY_OPTIONS_INVALID' });
    }
    const { record } = await keys.create({ name: 'a', scopes: ['orders:read'] });
    for (const overlapMs of [1e20, 366 * 24 * 3_600_000, -1, 1.5]) {
      await expect(keys.rotate(record.id, { overlapMs })).rejects.toMatchObject({
        code: 'RAMPART_SECURITY_OPTIONS_INVALID',
      });
    }
    expect((await keys.rotate(record.id, { overlapMs: 365 * 24 * 3_600_000 })).record.scopes).toEqual([
      'orders:read',
    ]);
  });
});
