import { auditLog } from '@rampart/db';
import { createTestDatabase, type TestDatabase } from '@rampart/db/testing';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp, MIGRATIONS } from '../src/app.ts';
import { parseEnv } from '../src/env.ts';

describe('/items', () => {
  let app: FastifyInstance;
  let database: TestDatabase;
  let writer: string;
  let reader: string;
  beforeEach(async () => {
    database = await createTestDatabase({ migrations: MIGRATIONS });
    app = await buildApp({ env: parseEnv({ LOG_LEVEL: 'silent', LOAD_SHEDDING: 'off' }), database });
    writer = (await app.apiKeys.create({ name: 'writer', scopes: ['items:read', 'items:write'] })).key;
    reader = (await app.apiKeys.create({ name: 'reader', scopes: ['items:read'] })).key;
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

  it('creates, reads, updates, lists and deletes an item, auditing every write', async () => {
    const created = await call('POST', '/items', writer, { name: 'first' });
    expect(created.statusCode).toBe(201);
    const { id } = created.json();
    expect((await call('GET', `/items/${id}`, reader)).json()).toMatchObject({ id, name: 'first' });
    expect((await call('PATCH', `/items/${id}`, writer, { name: 'renamed' })).json()).toMatchObject({
      name: 'renamed',
    });
    const page = (await call('GET', '/items', reader)).json();
    expect(page.items.map((item: { id: string }) => item.id)).toEqual([id]);
    expect((await call('DELETE', `/items/${id}`, writer)).statusCode).toBe(204);
    expect((await call('GET', `/items/${id}`, reader)).statusCode).toBe(404);

    const trail = await database.db.select().from(auditLog);
    expect(trail.map((row) => row.action)).toEqual(['item.create', 'item.update', 'item.delete']);
    expect(new Set(trail.map((row) => row.resourceId))).toEqual(new Set([id]));
  });

  it('pages with an opaque cursor', async () => {
    for (const name of ['a', 'b', 'c']) await call('POST', '/items', writer, { name });
    const first = (await call('GET', '/items?limit=2', reader)).json();
    expect(first.items).toHaveLength(2);
    const second = (
      await call('GET', `/items?limit=2&after=${encodeURIComponent(first.nextCursor)}`, reader)
    ).json();
    expect(second.items).toHaveLength(1);
    expect(second.nextCursor).toBeNull();
  });

  it('answers 401 without a key and 403 without the scope, as problem+json', async () => {
    const anonymous = await call('POST', '/items', undefined, { name: 'x' });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['content-type']).toContain('application/problem+json');
    const forbidden = await call('POST', '/items', reader, { name: 'x' });
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json()).toMatchObject({ code: 'RAMPART_SECURITY_SCOPE_MISSING' });
  });

  it('rejects bad input with 4xx problem+json, never 5xx', async () => {
    for (const [response, status] of [
      [await call('POST', '/items', writer, { name: '' }), 400],
      [await call('POST', '/items', writer, { name: 'x', extra: true }), 400],
      [await call('GET', '/items/not-a-uuid', reader), 400],
      [await call('GET', '/items?after=garbage', reader), 400],
      [await call('GET', '/items/01890a5d-ac96-774b-bcce-b302099a8057', reader), 404],
    ] as const) {
      expect(response.statusCode).toBe(status);
      expect(response.headers['content-type']).toContain('application/problem+json');
    }
    const missing = await call('GET', '/items/01890a5d-ac96-774b-bcce-b302099a8057', reader);
    expect(missing.json()).toMatchObject({ code: 'RAMPART_ORDERS_ITEM_NOT_FOUND' });
  });
});
