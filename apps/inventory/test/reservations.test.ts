import { auditLog } from '@rampart/db';
import { createTestDatabase, type TestDatabase } from '@rampart/db/testing';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp, MIGRATIONS } from '../src/app.ts';
import { parseEnv } from '../src/env.ts';

const ORDER_A = '01890a5d-ac96-774b-bcce-b302099a8057';
const ORDER_B = '01890a5d-ac96-774b-bcce-b302099a8058';

describe('/reservations', () => {
  let app: FastifyInstance;
  let database: TestDatabase;
  let clerk: string;
  let orders: string;
  let reader: string;
  beforeEach(async () => {
    database = await createTestDatabase({ migrations: MIGRATIONS });
    app = await buildApp({ env: parseEnv({ LOAD_SHEDDING: 'off', LOG_LEVEL: 'silent' }), database });
    clerk = (await app.apiKeys.create({ name: 'clerk', scopes: ['stock:read', 'stock:write'] })).key;
    // What the orders service holds: it may reserve, nothing else.
    orders = (await app.apiKeys.create({ name: 'orders', scopes: ['reservations:write'] })).key;
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

  async function stockOf(sku: string, available: number): Promise<string> {
    const response = await call('POST', '/stock', clerk, { sku, available });
    expect(response.statusCode).toBe(201);
    return response.json().id;
  }
  const available = async (id: string) => (await call('GET', `/stock/${id}`, clerk)).json().available;

  it('takes stock for an order, once however often the order retries, and audits it', async () => {
    const widget = await stockOf('widget', 5);
    const reservation = { orderId: ORDER_A, sku: 'widget', quantity: 2 };
    const made = await call('POST', '/reservations', orders, reservation);
    expect(made.statusCode).toBe(201);
    expect(made.json()).toMatchObject(reservation);
    // The caller lost our answer and asks again: the same reservation, nothing taken twice.
    const replayed = await call('POST', '/reservations', orders, reservation);
    expect(replayed.statusCode).toBe(200);
    expect(replayed.json().id).toBe(made.json().id);
    expect(await available(widget)).toBe(3);
    expect((await call('GET', `/reservations/${made.json().id}`, reader)).json()).toMatchObject(reservation);

    const trail = await database.db.select().from(auditLog);
    expect(trail.filter((row) => row.action === 'reservations.create')).toHaveLength(1);
  });

  it('refuses what it cannot hold, with codes, taking nothing', async () => {
    const widget = await stockOf('widget', 1);
    for (const [body, status, code] of [
      [{ orderId: ORDER_A, sku: 'widget', quantity: 2 }, 409, 'RAMPART_INVENTORY_OUT_OF_STOCK'],
      [{ orderId: ORDER_A, sku: 'gadget', quantity: 1 }, 404, 'RAMPART_INVENTORY_SKU_UNKNOWN'],
      [{ orderId: ORDER_A, sku: 'widget', quantity: 0 }, 400, 'RAMPART_SECURITY_VALIDATION_FAILED'],
      [{ orderId: 'not-a-uuid', sku: 'widget', quantity: 1 }, 400, 'RAMPART_SECURITY_VALIDATION_FAILED'],
    ] as const) {
      const response = await call('POST', '/reservations', orders, body);
      expect(response.statusCode).toBe(status);
      expect(response.json()).toMatchObject({ code });
    }
    expect(await available(widget)).toBe(1);
    // A refused order left no reservation behind: it may try again with what is there.
    expect(
      (await call('POST', '/reservations', orders, { orderId: ORDER_A, sku: 'widget', quantity: 1 }))
        .statusCode,
    ).toBe(201);
    const conflicting = await call('POST', '/reservations', orders, {
      orderId: ORDER_A,
      sku: 'widget',
      quantity: 3,
    });
    expect(conflicting.statusCode).toBe(409);
    expect(conflicting.json()).toMatchObject({ code: 'RAMPART_INVENTORY_RESERVATION_CONFLICT' });
  });

  it('never oversells when orders race for the last units', async () => {
    const widget = await stockOf('widget', 5);
    const orderIds = Array.from(
      { length: 20 },
      (_, n) => `01890a5d-ac96-774b-bcce-${n.toString(16).padStart(12, '0')}`,
    );
    const answers = await Promise.all(
      orderIds.map((orderId) =>
        call('POST', '/reservations', orders, { orderId, sku: 'widget', quantity: 1 }),
      ),
    );
    const statuses = answers.map((response) => response.statusCode);
    expect(statuses.filter((status) => status === 201)).toHaveLength(5);
    expect(statuses.filter((status) => status === 409)).toHaveLength(15);
    expect(await available(widget)).toBe(0);
  });

  it('releasing a reservation puts its stock back; reservations are never edited', async () => {
    const widget = await stockOf('widget', 4);
    const made = (
      await call('POST', '/reservations', orders, { orderId: ORDER_B, sku: 'widget', quantity: 3 })
    ).json();
    expect(await available(widget)).toBe(1);
    // No route edits a reservation: the path is read and released only (405, with Allow saying so).
    const edit = await call('PATCH', `/reservations/${made.id}`, orders, { quantity: 1 });
    expect(edit.statusCode).toBe(405);
    expect(edit.headers.allow).toBe('GET, HEAD, DELETE');
    expect((await call('DELETE', `/reservations/${made.id}`, orders)).statusCode).toBe(204);
    expect(await available(widget)).toBe(4);
    expect((await call('DELETE', `/reservations/${made.id}`, orders)).statusCode).toBe(404);
    const actions = (await database.db.select().from(auditLog)).map((row) => row.action);
    expect(actions.filter((action) => action.startsWith('reservations.'))).toEqual([
      'reservations.create',
      'reservations.delete',
    ]);
  });

  it('answers 401 without a key and 403 without the scope, as problem+json', async () => {
    const body = { orderId: ORDER_A, sku: 'widget', quantity: 1 };
    expect((await call('POST', '/reservations', undefined, body)).statusCode).toBe(401);
    const forbidden = await call('POST', '/reservations', reader, body);
    expect(forbidden.statusCode).toBe(403);
    expect(forbidden.json()).toMatchObject({ code: 'RAMPART_SECURITY_SCOPE_MISSING' });
    expect((await call('GET', '/reservations', orders)).statusCode).toBe(403);
  });
});
