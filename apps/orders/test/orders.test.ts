import { auditLog } from '@rampart/db';
import { createTestDatabase, type TestDatabase } from '@rampart/db/testing';
import { eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp, MIGRATIONS } from '../src/app.ts';
import { parseEnv } from '../src/env.ts';
import { orders } from '../src/orders/schema.ts';

const first = {
  customerEmail: 'first-secret@example.com',
  sku: 'first',
  quantity: 42,
};
const second = {
  customerEmail: 'second-secret@example.com',
  sku: 'second',
  quantity: -7,
};

describe('/orders', () => {
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
    writer = (await app.apiKeys.create({ name: 'writer', scopes: ['orders:read', 'orders:write'] })).key;
    reader = (await app.apiKeys.create({ name: 'reader', scopes: ['orders:read'] })).key;
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
    const created = await call('POST', '/orders', writer, first);
    expect(created.statusCode).toBe(201);
    const { id } = created.json();
    expect(created.json()).toMatchObject(first);
    expect((await call('GET', `/orders/${id}`, reader)).json()).toMatchObject({ id, ...first });
    const updated = await call('PATCH', `/orders/${id}`, writer, second);
    expect(updated.statusCode).toBe(200);
    expect(updated.json()).toMatchObject({ id, ...second });
    const page = (await call('GET', '/orders', reader)).json();
    expect(page.items.map((row: { id: string }) => row.id)).toEqual([id]);
    expect(page.items[0]).toMatchObject(second);
    expect((await call('DELETE', `/orders/${id}`, writer)).statusCode).toBe(204);
    expect((await call('GET', `/orders/${id}`, reader)).statusCode).toBe(404);

    const trail = await database.db.select().from(auditLog);
    expect(trail.map((row) => row.action)).toEqual(['orders.create', 'orders.update', 'orders.delete']);
    expect(new Set(trail.map((row) => row.resourceId))).toEqual(new Set([id]));
  });

  it('pages with an opaque cursor', async () => {
    for (let n = 0; n < 3; n += 1)
      expect((await call('POST', '/orders', writer, first)).statusCode).toBe(201);
    const firstPage = (await call('GET', '/orders?limit=2', reader)).json();
    expect(firstPage.items).toHaveLength(2);
    const after = encodeURIComponent(firstPage.nextCursor);
    const secondPage = (await call('GET', `/orders?limit=2&after=${after}`, reader)).json();
    expect(secondPage.items).toHaveLength(1);
    expect(secondPage.nextCursor).toBeNull();
  });

  it('answers 401 without a key and 403 without the scope, as problem+json', async () => {
    const anonymous = await call('POST', '/orders', undefined, first);
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['content-type']).toContain('application/problem+json');
    expect((await call('GET', '/orders')).statusCode).toBe(401);
    const forbidden = await call('POST', '/orders', reader, first);
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json()).toMatchObject({ code: 'RAMPART_SECURITY_SCOPE_MISSING' });
  });

  it('rejects bad input with 4xx problem+json, never 5xx', async () => {
    const created = (await call('POST', '/orders', writer, first)).json();
    for (const [response, status] of [
      [await call('POST', '/orders', writer, { ...first, unexpected: true }), 400],
      [await call('POST', '/orders', writer, { ...first, customerEmail: '' }), 400],
      [await call('POST', '/orders', writer, { ...first, sku: '' }), 400],
      [await call('POST', '/orders', writer, { ...first, quantity: 1.5 }), 400],
      [await call('PATCH', `/orders/${created.id}`, writer, {}), 400],
      [await call('GET', '/orders/not-a-uuid', reader), 400],
      [await call('GET', '/orders?after=garbage', reader), 400],
      [await call('GET', '/orders/01890a5d-ac96-774b-bcce-b302099a8057', reader), 404],
      [await call('PATCH', '/orders/01890a5d-ac96-774b-bcce-b302099a8057', writer, second), 404],
    ] as const) {
      expect(response.statusCode).toBe(status);
      expect(response.headers['content-type']).toContain('application/problem+json');
    }
    const missing = await call('GET', '/orders/01890a5d-ac96-774b-bcce-b302099a8057', reader);
    expect(missing.json()).toMatchObject({ code: 'RAMPART_ORDERS_ORDERS_NOT_FOUND' });
  });

  it('stores encrypted fields as ciphertext bound to their row, and never logs them', async () => {
    const created = (await call('POST', '/orders', writer, first)).json();
    const [stored] = await database.db.select().from(orders).where(eq(orders.id, created.id));
    expect(stored!.customerEmail).toMatch(/^enc:v1:/);
    expect(stored!.customerEmail).not.toContain(first.customerEmail);
    expect(lines.join('\n')).not.toContain(first.customerEmail);
    expect(lines.join('\n')).not.toContain(stored!.customerEmail);

    // A ciphertext copied to another row no longer opens: reading it fails closed, telling nothing.
    const other = (await call('POST', '/orders', writer, second)).json();
    await database.db
      .update(orders)
      .set({ customerEmail: stored!.customerEmail })
      .where(eq(orders.id, other.id));
    const moved = await call('GET', `/orders/${other.id}`, reader);
    expect(moved.statusCode).toBe(500);
    expect(moved.headers['content-type']).toContain('application/problem+json');
    expect(moved.body).not.toContain('enc:v1:');
    expect(lines.join('\n')).not.toContain(stored!.customerEmail);
  });

  it('refuses to start in production without FIELD_ENCRYPTION_KEYS', () => {
    expect(() => parseEnv({ NODE_ENV: 'production', API_KEY_PEPPER: 'p'.repeat(32) })).toThrow(
      /FIELD_ENCRYPTION_KEYS="": is required when NODE_ENV=production/,
    );
  });
});
