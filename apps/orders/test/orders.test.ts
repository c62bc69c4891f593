import { auditLog } from '@rampart/db';
import { createTestDatabase, type TestDatabase } from '@rampart/db/testing';
import { eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp, MIGRATIONS } from '../src/app.ts';
import { parseEnv } from '../src/env.ts';
import { orders } from '../src/orders/schema.ts';
import { type RunningInventory, startInventory } from './support/inventory.ts';

const first = {
  customerEmail: 'first-secret@example.com',
  sku: 'first',
  quantity: 4,
};
const second = {
  customerEmail: 'second-secret@example.com',
  sku: 'second',
  quantity: 1,
};

describe('/orders', () => {
  let app: FastifyInstance;
  let database: TestDatabase;
  let writer: string;
  let reader: string;
  let lines: string[];
  let inventory: RunningInventory;
  beforeEach(async () => {
    lines = [];
    inventory = await startInventory();
    await inventory.stock('first', 100);
    await inventory.stock('second', 100);
    database = await createTestDatabase({ migrations: MIGRATIONS });
    app = await buildApp({
      env: parseEnv({
        LOAD_SHEDDING: 'off',
        LOG_LEVEL: 'debug',
        INVENTORY_URL: inventory.url,
        INVENTORY_API_KEY: inventory.apiKey,
        // Generous: these tests share two loaded cores with the inventory app in the same process.
        INVENTORY_TIMEOUT_MS: '5000',
        // Run the tasks here on PostgreSQL too (TEST_DATABASE_URL), as embedded PGlite does by default.
        TASKS_IN_PROCESS: 'true',
      }),
      database,
      logDestination: { write: (line: string) => void lines.push(line) },
    });
    writer = (await app.apiKeys.create({ name: 'writer', scopes: ['orders:read', 'orders:write'] })).key;
    reader = (await app.apiKeys.create({ name: 'reader', scopes: ['orders:read'] })).key;
  });
  afterEach(async () => {
    await app.close();
    await database.close();
    await inventory.close();
  });

  const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, key?: string, payload?: object) =>
    app.inject({
      method,
      url,
      ...(key ? { headers: { 'x-api-key': key } } : {}),
      ...(payload ? { payload } : {}),
    });

  it('places an order holding its stock, reads, updates the email, lists and deletes it, auditing every write', {
    timeout: 120_000,
  }, async () => {
    const created = await call('POST', '/orders', writer, first);
    expect(created.statusCode).toBe(201);
    const { id } = created.json();
    expect(created.json()).toMatchObject(first);
    expect(await inventory.available('first')).toBe(96);
    expect((await call('GET', `/orders/${id}`, reader)).json()).toMatchObject({ id, ...first });
    const updated = await call('PATCH', `/orders/${id}`, writer, { customerEmail: second.customerEmail });
    expect(updated.statusCode).toBe(200);
    expect(updated.json()).toMatchObject({ id, ...first, customerEmail: second.customerEmail });
    // What an order holds in inventory is fixed once placed.
    expect((await call('PATCH', `/orders/${id}`, writer, { quantity: 1 })).statusCode).toBe(400);
    const page = (await call('GET', '/orders', reader)).json();
    expect(page.items.map((row: { id: string }) => row.id)).toEqual([id]);
    expect((await call('DELETE', `/orders/${id}`, writer)).statusCode).toBe(204);
    expect((await call('GET', `/orders/${id}`, reader)).statusCode).toBe(404);
    // The release runs as a task in this process: the stock comes back, and the task audits it once
    // inventory has answered.
    const released = async () =>
      (await database.db.select().from(auditLog)).some((row) => row.action === 'orders.reservation-released');
    for (let tries = 0; tries < 400 && !(await released()); tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await released()).toBe(true);
    expect(await inventory.available('first')).toBe(100);

    const trail = await database.db.select().from(auditLog);
    expect(trail.map((row) => row.action)).toEqual([
      'orders.create',
      'orders.update',
      'orders.delete',
      'orders.reservation-released',
    ]);
    expect(new Set(trail.map((row) => row.resourceId))).toEqual(new Set([id]));
  });

  it('answers out of stock (409) and an unknown SKU (422) with codes, writing nothing', async () => {
    const short = await call('POST', '/orders', writer, { ...first, quantity: 101 });
    expect(short.statusCode).toBe(409);
    expect(short.json()).toMatchObject({ code: 'RAMPART_ORDERS_OUT_OF_STOCK' });
    const unknown = await call('POST', '/orders', writer, { ...first, sku: 'nope' });
    expect(unknown.statusCode).toBe(422);
    expect(unknown.json()).toMatchObject({ code: 'RAMPART_ORDERS_SKU_UNKNOWN' });
    expect(await database.db.select().from(orders)).toEqual([]);
    expect(await inventory.available('first')).toBe(100);
  });

  it('fails fast with 503 problem+json while inventory is down, and recovers without a restart', {
    timeout: 120_000,
  }, async () => {
    await inventory.stop();
    // Refused connections fail each attempt at once; the policy's deadline bounds the call (never a hang).
    const down = await call('POST', '/orders', writer, first);
    expect(down.statusCode).toBeGreaterThanOrEqual(502);
    expect(down.statusCode).toBeLessThanOrEqual(504);
    expect(down.headers['content-type']).toContain('application/problem+json');
    expect(down.json().code).toMatch(/^RAMPART_RESILIENCE_/);
    expect(down.body).not.toContain('127.0.0.1');
    expect(await database.db.select().from(orders)).toEqual([]);
    // Readiness reports the dependency but stays 200: an inventory outage must not take orders out of rotation.
    expect((await call('GET', '/health/ready')).statusCode).toBe(200);

    await inventory.start();
    let placed = 0;
    for (let tries = 0; tries < 100 && placed !== 201; tries += 1) {
      placed = (await call('POST', '/orders', writer, first)).statusCode;
      if (placed !== 201) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(placed).toBe(201);
  });

  it('answers 503 with a code when no inventory key is configured', async () => {
    const unconfigured = await buildApp({
      env: parseEnv({ LOAD_SHEDDING: 'off', LOG_LEVEL: 'silent', INVENTORY_URL: inventory.url }),
      database,
    });
    try {
      const key = (await unconfigured.apiKeys.create({ name: 'w', scopes: ['orders:write'] })).key;
      const response = await unconfigured.inject({
        method: 'POST',
        url: '/orders',
        headers: { 'x-api-key': key },
        payload: first,
      });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toMatchObject({ code: 'RAMPART_ORDERS_INVENTORY_UNCONFIGURED' });
    } finally {
      await unconfigured.close();
    }
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
      [await call('POST', '/orders', writer, { ...first, quantity: 0 }), 400],
      [await call('POST', '/orders', writer, { ...first, customerEmail: 'not-an-email' }), 400],
      [await call('PATCH', `/orders/${created.id}`, writer, {}), 400],
      [await call('GET', '/orders/not-a-uuid', reader), 400],
      [await call('GET', '/orders?after=garbage', reader), 400],
      [await call('GET', '/orders/01890a5d-ac96-774b-bcce-b302099a8057', reader), 404],
      [
        await call('PATCH', '/orders/01890a5d-ac96-774b-bcce-b302099a8057', writer, {
          customerEmail: second.customerEmail,
        }),
        404,
      ],
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

  it('refuses to start in production without FIELD_ENCRYPTION_KEYS or INVENTORY_API_KEY, hiding secrets', () => {
    expect(() => parseEnv({ NODE_ENV: 'production', API_KEY_PEPPER: 'p'.repeat(32) })).toThrow(
      /FIELD_ENCRYPTION_KEYS="": is required when NODE_ENV=production/,
    );
    expect(() => parseEnv({ NODE_ENV: 'production', API_KEY_PEPPER: 'p'.repeat(32) })).toThrow(
      /INVENTORY_API_KEY="": is required when NODE_ENV=production/,
    );
    expect(() => parseEnv({ WEBHOOK_URL: 'http://127.0.0.1:9/hooks' })).toThrow(
      /WEBHOOK_SECRET="": is required/,
    );
    expect(() => parseEnv({ INVENTORY_API_KEY: 'short' })).toThrow(/INVENTORY_API_KEY=<hidden>/);
  });
});
