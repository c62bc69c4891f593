// The real inventory service for orders' tests: its own app (its package's `./app` export) on its own
// test database, listening on 127.0.0.1 with a free port, so orders calls it over real HTTP.
import { createTestDatabase } from '@rampart/db/testing';
import { buildApp, MIGRATIONS } from '@rampart/inventory/app';
import { parseEnv } from '@rampart/inventory/env';

export interface RunningInventory {
  url: string;
  /** A key with reservations:write, as orders holds in production. */
  apiKey: string;
  /** Puts `available` units of `sku` on hand. */
  stock(sku: string, available: number): Promise<void>;
  available(sku: string): Promise<number | undefined>;
  /** Stops answering (connections refused) until start() again on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startInventory(): Promise<RunningInventory> {
  const database = await createTestDatabase({ migrations: MIGRATIONS });
  let app = await buildApp({ env: parseEnv({ LOAD_SHEDDING: 'off', LOG_LEVEL: 'silent' }), database });
  const clerk = (await app.apiKeys.create({ name: 'clerk', scopes: ['stock:read', 'stock:write'] })).key;
  const apiKey = (await app.apiKeys.create({ name: 'orders', scopes: ['reservations:write'] })).key;
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const port = Number(new URL(address).port);
  const call = async (method: 'GET' | 'POST', url: string, payload?: object) => {
    const response = await app.inject({
      method,
      url,
      headers: { 'x-api-key': clerk },
      ...(payload ? { payload } : {}),
    });
    if (response.statusCode >= 300)
      throw new Error(`inventory ${method} ${url}: ${response.statusCode} ${response.body}`);
    return response.json();
  };
  let running = true;
  return {
    url: address,
    apiKey,
    async stock(sku, available) {
      await call('POST', '/stock', { sku, available });
    },
    async available(sku) {
      const page = await call('GET', '/stock?limit=100');
      return (page.items as Array<{ sku: string; available: number }>).find((row) => row.sku === sku)
        ?.available;
    },
    async stop() {
      if (!running) return;
      running = false;
      await app.close();
    },
    async start() {
      if (running) return;
      app = await buildApp({ env: parseEnv({ LOAD_SHEDDING: 'off', LOG_LEVEL: 'silent' }), database });
      await app.listen({ host: '127.0.0.1', port });
      running = true;
    },
    async close() {
      if (running) await app.close();
      running = false;
      await database.close();
    },
  };
}
