import { auditLog } from '@rampart/db';
import { createTestDatabase, type TestDatabase } from '@rampart/db/testing';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp, MIGRATIONS } from '../src/app.ts';
import { parseEnv } from '../src/env.ts';

const first = {
  sku: 'first',
  available: 42,
};
const second = {
  sku: 'second',
  available: 7,
};

describe('/stock', () => {
  let app: FastifyInstance;
  let database: TestDatabase;
  let writer: string;
  let reader: string;
  let lines: string[];
  beforeEach(async () => {
    lines = [];
    database = await createTestDatabase({ migrations: MIGRATIONS });
    app = await buildApp({
      env: parseEnv({ LOAD_SHEDDING: 'off', LOG_LEVEL: 'debug' }),
      database,
      logDestination: { write: (line: string) => void lines.push(line) },
    });
    writer = (await app.apiKeys.create({ name: 'writer', scopes: ['stock:read', 'stock:write'] })).key;
    reader = (await app.apiKeys.create({ name: 'reader', scopes: ['stock:read'] })).key;
  });
  afterEach(async () => {
    await app.close();
    await database.close();
  });

  const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, key?: string, payload?: object) =>
    app.inject({
      method,
      url,
      ...(key ? { headers: { 'x-api-key': key } } : {}),
      ...(payload ? { payload } : {}),
    });

  it('creates, reads, updates, lists and deletes, auditing every write', async () => {
    const created = await call('POST', '/stock', writer, first);
    expect(created.statusCode).toBe(201);
    const { id } = created.json();
    expect(created.json()).toMatchObject(first);
    expect((await call('GET', `/stock/${id}`, reader)).json()).toMatchObject({ id, ...first });
    const updated = await call('PATCH', `/stock/${id}`, writer, second);
    expect(updated.statusCode).toBe(200);
    expect(updated.json()).toMatchObject({ id, ...second });
    const page = (await call('GET', '/stock', reader)).json();
    expect(page.items.map((row: { id: string }) => row.id)).toEqual([id]);
    expect(page.items[0]).toMatchObject(second);
    expect((await call('DELETE', `/stock/${id}`, writer)).statusCode).toBe(204);
    expect((await call('GET', `/stock/${id}`, reader)).statusCode).toBe(404);

    const trail = await database.db.select().from(auditLog);
    expect(trail.map((row) => row.action)).toEqual(['stock.create', 'stock.update', 'stock.delete']);
    expect(new Set(trail.map((row) => row.resourceId))).toEqual(new Set([id]));
  });

  it('pages with an opaque cursor', async () => {
    for (let n = 0; n < 3; n += 1) {
      expect((await call('POST', '/stock', writer, { sku: `sku-${n}`, available: n })).statusCode).toBe(201);
    }
    const firstPage = (await call('GET', '/stock?limit=2', reader)).json();
    expect(firstPage.items).toHaveLength(2);
    const after = encodeURIComponent(firstPage.nextCursor);
    const secondPage = (await call('GET', `/stock?limit=2&after=${after}`, reader)).json();
    expect(secondPage.items).toHaveLength(1);
    expect(secondPage.nextCursor).toBeNull();
  });

  it('answers 401 without a key and 403 without the scope, as problem+json', async () => {
    const anonymous = await call('POST', '/stock', undefined, first);
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['content-type']).toContain('application/problem+json');
    expect((await call('GET', '/stock')).statusCode).toBe(401);
    const forbidden = await call('POST', '/stock', reader, first);
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json()).toMatchObject({ code: 'RAMPART_SECURITY_SCOPE_MISSING' });
  });

  it('rejects bad input with 4xx problem+json, never 5xx', async () => {
    const created = (await call('POST', '/stock', writer, first)).json();
    for (const [response, status] of [
      [await call('POST', '/stock', writer, { ...first, unexpected: true }), 400],
      [await call('POST', '/stock', writer, { ...first, sku: '' }), 400],
      [await call('POST', '/stock', writer, { ...first, available: 1.5 }), 400],
      [await call('POST', '/stock', writer, { ...first, available: -1 }), 400],
      [await call('PATCH', `/stock/${created.id}`, writer, {}), 400],
      [await call('GET', '/stock/not-a-uuid', reader), 400],
      [await call('GET', '/stock?after=garbage', reader), 400],
      [await call('GET', '/stock/01890a5d-ac96-774b-bcce-b302099a8057', reader), 404],
      [await call('PATCH', '/stock/01890a5d-ac96-774b-bcce-b302099a8057', writer, second), 404],
    ] as const) {
      expect(response.statusCode).toBe(status);
      expect(response.headers['content-type']).toContain('application/problem+json');
    }
    const missing = await call('GET', '/stock/01890a5d-ac96-774b-bcce-b302099a8057', reader);
    expect(missing.json()).toMatchObject({ code: 'RAMPART_INVENTORY_STOCK_NOT_FOUND' });
  });

  it('keeps one row per SKU: a second one answers 409 with a code, never a 500', async () => {
    const created = (await call('POST', '/stock', writer, first)).json();
    const other = (await call('POST', '/stock', writer, second)).json();
    for (const response of [
      await call('POST', '/stock', writer, { ...first, available: 1 }),
      await call('PATCH', `/stock/${other.id}`, writer, { sku: first.sku }),
    ]) {
      expect(response.statusCode).toBe(409);
      expect(response.json()).toMatchObject({ code: 'RAMPART_INVENTORY_SKU_TAKEN' });
    }
    const page = (await call('GET', '/stock', reader)).json();
    expect(page.items.map((row: { sku: string }) => row.sku).sort()).toEqual(['first', 'second']);
    expect((await call('GET', `/stock/${created.id}`, reader)).json()).toMatchObject(first);
  });
});
