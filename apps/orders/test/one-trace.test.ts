// The example's promise, end to end on real processes: orders and inventory each run as their own server
// (the register hook, embedded PGlite in a temp directory), orders calls inventory through the resilient
// client, and one trace spans both, exported over OTLP to a collector on 127.0.0.1.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_PROCESS_V8_FLAGS } from './v8-flags.ts';

const run = promisify(execFile);
const appDir = (name: string) => fileURLToPath(new URL(`../../${name}/`, import.meta.url));
const cleanups: Array<() => void> = [];
afterAll(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

interface CollectedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
}

/** An OTLP/HTTP (JSON) trace collector that keeps each span with its resource's service.name. */
async function collector() {
  const spans: CollectedSpan[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      const payload = JSON.parse(body) as {
        resourceSpans: Array<{
          resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
          scopeSpans: Array<{ spans: Array<Omit<CollectedSpan, 'service'>> }>;
        }>;
      };
      for (const resource of payload.resourceSpans) {
        const service =
          resource.resource.attributes.find((attribute) => attribute.key === 'service.name')?.value
            .stringValue ?? '';
        for (const scope of resource.scopeSpans)
          for (const span of scope.spans) spans.push({ ...span, service });
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => server.close());
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans };
}

const baseEnv = (dataDir: string) => ({
  PATH: process.env.PATH ?? '',
  HOST: '127.0.0.1',
  PORT: '0',
  LOG_LEVEL: 'warn',
  DATA_DIR: dataDir,
});

/** Creates an API key with the service's own keys CLI, on its data directory, while it is stopped. */
async function createKey(service: string, dataDir: string, scopes: string): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    ['src/cli.ts', 'create', '--name', 'one-trace', '--scopes', scopes],
    {
      cwd: appDir(service),
      env: baseEnv(dataDir),
      timeout: 60_000,
    },
  );
  return (JSON.parse(stdout) as { key: string }).key;
}

/** Starts `apps/<service>/src/server.ts` with the register hook; resolves its address once it listens. */
async function startServer(
  service: string,
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [...TEST_PROCESS_V8_FLAGS, '--import', '@rampart/observability/register', 'src/server.ts'],
    {
      cwd: appDir(service),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  cleanups.push(() => child.kill('SIGKILL'));
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const read = (chunk: Buffer) => {
      output += String(chunk);
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1]) resolve(match[1]);
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    child.on('exit', (code) => reject(new Error(`${service} exited (${code}) before listening: ${output}`)));
  });
  return { child, url };
}

async function stop(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  child.kill('SIGTERM');
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

describe('orders and inventory, two processes', () => {
  it('place an order in one trace that spans both services, exported over OTLP', {
    timeout: 240_000,
  }, async () => {
    const dirs = ['inventory', 'orders'].map((name) => mkdtempSync(join(tmpdir(), `one-trace-${name}-`)));
    cleanups.push(() => {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });
    const [inventoryDir, ordersDir] = dirs as [string, string];
    // One process per PGlite directory: inventory's two keys one after the other, orders' beside them.
    const inventoryKeys = (async () => ({
      clerk: await createKey('inventory', inventoryDir, 'stock:read,stock:write'),
      orders: await createKey('inventory', inventoryDir, 'reservations:write'),
    }))();
    const [keys, clientKey] = await Promise.all([
      inventoryKeys,
      createKey('orders', ordersDir, 'orders:read,orders:write'),
    ]);
    const otlp = await collector();
    const tracing = {
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      OTEL_BSP_SCHEDULE_DELAY: '100',
    };
    const inventory = await startServer('inventory', {
      ...baseEnv(inventoryDir),
      ...tracing,
      OTEL_SERVICE_NAME: 'inventory',
    });
    const orders = await startServer('orders', {
      ...baseEnv(ordersDir),
      ...tracing,
      OTEL_SERVICE_NAME: 'orders',
      INVENTORY_URL: inventory.url,
      INVENTORY_API_KEY: keys.orders,
      INVENTORY_TIMEOUT_MS: '10000',
    });

    const seeded = await fetch(`${inventory.url}/stock`, {
      method: 'POST',
      headers: { 'x-api-key': keys.clerk, 'content-type': 'application/json' },
      body: JSON.stringify({ sku: 'widget', available: 3 }),
    });
    expect(seeded.status).toBe(201);

    // The caller starts each trace, as a gateway would: a sampled W3C traceparent. Two orders: a process's
    // first outbound call installs the undici instrumentation (traceparent only), the second has a client span.
    const traceIds: string[] = [];
    for (let n = 0; n < 2; n += 1) {
      const traceId = randomBytes(16).toString('hex');
      traceIds.push(traceId);
      const placed = await fetch(`${orders.url}/orders`, {
        method: 'POST',
        headers: {
          'x-api-key': clientKey,
          'content-type': 'application/json',
          traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`,
        },
        body: JSON.stringify({ customerEmail: 'ada@example.com', sku: 'widget', quantity: 1 }),
      });
      expect(placed.status).toBe(201);
    }
    const stock = (await (
      await fetch(`${inventory.url}/stock`, { headers: { 'x-api-key': keys.clerk } })
    ).json()) as {
      items: Array<{ sku: string; available: number }>;
    };
    expect(stock.items).toEqual([expect.objectContaining({ sku: 'widget', available: 1 })]);

    // SIGTERM flushes each process's spans before it exits 0.
    expect(await stop(orders.child)).toBe(0);
    expect(await stop(inventory.child)).toBe(0);

    const SERVER = 2;
    const CLIENT = 3;
    for (const [index, traceId] of traceIds.entries()) {
      const trace = otlp.spans.filter((span) => span.traceId === traceId);
      const summary = JSON.stringify(
        trace.map((span) => [span.service, span.name, span.kind, span.parentSpanId]),
      );
      const ordersServer = trace.find((span) => span.service === 'orders' && span.kind === SERVER);
      const inventoryServer = trace.find((span) => span.service === 'inventory' && span.kind === SERVER);
      expect(ordersServer, summary).toBeDefined();
      expect(inventoryServer, summary).toBeDefined();
      // Inventory's request is a child of orders' outbound call (the first call: of orders' request).
      const parent = trace.find((span) => span.spanId === inventoryServer!.parentSpanId);
      expect(parent, summary).toMatchObject({ service: 'orders', kind: index === 0 ? SERVER : CLIENT });
      expect(JSON.stringify(trace)).not.toContain('ada@example.com');
    }
  });
});
