import { auditLog } from '@rampart/db';
import { createTestDatabase, type TestDatabase } from '@rampart/db/testing';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp, MIGRATIONS } from '../src/app.ts';
import { parseEnv } from '../src/env.ts';

const first = {
  orderId: '0b7e4a53-5a8c-4d4c-9a3e-1f2d3c4b5a69',
  sku: 'first',
  quantity: 42,
};
const second = {
  orderId: '9c1f0e2d-3b4a-4c5d-8e6f-7a8b9c0d1e2f',
  sku: 'second',
  quantity: -7,
};

describe('/reservations', () => {
  let app: FastifyInstance;
  let database: TestDatabase;
  let writer: string;
  let reader: string;
  let lines: string[];
  beforeEach(async () => {
    lines = [];
    database = await createTestDatabase({ migrations: MIGRATIONS });
    app = await buildApp({
      env: parseEnv({ LOG_LEVEL: 'debug' }),
      database,
      logDestination: { write: (line: string) => void lines.push(line) },
    });
    writer = (
      await app.apiKeys.create({ name: 'writer', scopes: ['reservations:read', 'reservations:write'] })
    ).key;
    reader = (await app.apiKeys.create({ name: 'reader', scopes: ['reservations:read'] })).key;
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
    const created = await call('POST', '/reservations', writer, first);
    expect(created.statusCode).toBe(201);
    const { id } = created.json();
    expect(created.json()).toMatchObject(first);
    expect((await call('GET', `/reservations/${id}`, reader)).json()).toMatchObject({ id, ...first });
    const updated = await call('PATCH', `/reservations/${id}`, writer, second);
    expect(updated.statusCode).toBe(200);
    expect(updated.json()).toMatchObject({ id, ...second });
    const page = (await call('GET', '/reservations', reader)).json();
    expect(page.items.map((row: { id: string }) => row.id)).toEqual([id]);
    expect(page.items[0]).toMatchObject(second);
    expect((await call('DELETE', `/reservations/${id}`, writer)).statusCode).toBe(204);
    expect((await call('GET', `/reservations/${id}`, reader)).statusCode).toBe(404);

    const trail = await database.db.select().from(auditLog);
    expect(trail.map((row) => row.action)).toEqual([
      'reservations.create',
      'reservations.update',
      'reservations.delete',
    ]);
    expect(new Set(trail.map((row) => row.resourceId))).toEqual(new Set([id]));
  });

  it('pages with an opaque cursor', async () => {
    for (let n = 0; n < 3; n += 1)
      expect((await call('POST', '/reservations', writer, first)).statusCode).toBe(201);
    const firstPage = (await call('GET', '/reservations?limit=2', reader)).json();
    expect(firstPage.items).toHaveLength(2);
    const after = encodeURIComponent(firstPage.nextCursor);
    const secondPage = (await call('GET', `/reservations?limit=2&after=${after}`, reader)).json();
    expect(secondPage.items).toHaveLength(1);
    expect(secondPage.nextCursor).toBeNull();
  });

  it('answers 401 without a key and 403 without the scope, as problem+json', async () => {
    const anonymous = await call('POST', '/reservations', undefined, first);
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['content-type']).toContain('application/problem+json');
    expect((await call('GET', '/reservations')).statusCode).toBe(401);
    const forbidden = await call('POST', '/reservations', reader, first);
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json()).toMatchObject({ code: 'RAMPART_SECURITY_SCOPE_MISSING' });
  });

  it('rejects bad input with 4xx problem+json, never 5xx', async () => {
    const created = (await call('POST', '/reservations', writer, first)).json();
    for (const [response, status] of [
      [await call('POST', '/reservations', writer, { ...first, unexpected: true }), 400],
      [await call('POST', '/reservations', writer, { ...first, orderId: 'not-a-uuid' }), 400],
      [await call('POST', '/reservations', writer, { ...first, sku: '' }), 400],
      [await call('POST', '/reservations', writer, { ...first, quantity: 1.5 }), 400],
      [await call('PATCH', `/reservations/${created.id}`, writer, {}), 400],
      [await call('GET', '/reservations/not-a-uuid', reader), 400],
      [await call('GET', '/reservations?after=garbage', reader), 400],
      [await call('GET', '/reservations/01890a5d-ac96-774b-bcce-b302099a8057', reader), 404],
      [await call('PATCH', '/reservations/01890a5d-ac96-774b-bcce-b302099a8057', writer, second), 404],
    ] as const) {
      expect(response.statusCode).toBe(status);
      expect(response.headers['content-type']).toContain('application/problem+json');
    }
    const missing = await call('GET', '/reservations/01890a5d-ac96-774b-bcce-b302099a8057', reader);
    expect(missing.json()).toMatchObject({ code: 'RAMPART_INVENTORY_RESERVATIONS_NOT_FOUND' });
  });
});
