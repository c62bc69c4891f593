import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleService } from '@rampart/bundle';
import { afterAll, describe, expect, it } from 'vitest';
import { TEST_PROCESS_V8_FLAGS } from './v8-flags.ts';

// The bundled server calling inventory: its HTTP client loads undici with import() at the first call, which
// the bundle once broke (esbuild's chunk for a CommonJS package exports only `default`, so no `Agent`, and
// every order answered 502) while the unbundled tests passed. Inventory is the outside world here: a
// port-0 stand-in that records what it was asked and answers as inventory does.
const root = fileURLToPath(new URL('..', import.meta.url));
const PEPPER = 'bundle-test-pepper-0123456789abcdef0123456789';
const cleanups: Array<() => void> = [];
afterAll(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

describe('the bundled server and inventory', () => {
  it('places an order through the resilient HTTP client, as the sources do', {
    timeout: 120_000,
  }, async () => {
    mkdirSync(join(root, 'node_modules/.cache'), { recursive: true });
    const outdir = mkdtempSync(join(root, 'node_modules/.cache/bundle-inventory-test-'));
    const dataDir = mkdtempSync(join(tmpdir(), 'orders-bundle-inventory-'));
    cleanups.push(() => rmSync(outdir, { recursive: true, force: true }));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    await bundleService({
      root,
      outdir,
      entries: ['src/server.ts'],
      preload: ['@rampart/observability/register'],
      compileCache: false,
    });

    const calls: Array<{ method: string; url: string; headers: IncomingHttpHeaders; body: string }> = [];
    const inventory = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += String(chunk);
      });
      request.on('end', () => {
        calls.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body });
        response
          .writeHead(201, { 'content-type': 'application/json' })
          .end(JSON.stringify({ id: '01a23e25-af5c-7002-a600-7457be6f87a6' }));
      });
    });
    inventory.listen(0, '127.0.0.1');
    await once(inventory, 'listening');
    cleanups.push(() => inventory.close());
    const { port } = inventory.address() as AddressInfo;

    const env = {
      PATH: process.env.PATH ?? '',
      DATA_DIR: dataDir,
      API_KEY_PEPPER: PEPPER,
      LOG_LEVEL: 'warn',
    };
    const created = spawnSync(
      process.execPath,
      [...TEST_PROCESS_V8_FLAGS, 'src/cli.ts', 'create', '--name', 'shop', '--scopes', 'orders:write'],
      { cwd: root, env, encoding: 'utf8', timeout: 60_000 },
    );
    expect(created.status, created.stderr).toBe(0);
    const { key } = JSON.parse(created.stdout) as { key: string };

    const child: ChildProcess = spawn(
      process.execPath,
      [...TEST_PROCESS_V8_FLAGS, join(outdir, 'server.js')],
      {
        cwd: root,
        env: {
          ...env,
          HOST: '127.0.0.1',
          PORT: '0',
          INVENTORY_URL: `http://127.0.0.1:${port}`,
          INVENTORY_API_KEY: 'inventory-key-for-orders',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    cleanups.push(() => child.kill('SIGKILL'));
    let out = '';
    let err = '';
    child.stderr?.on('data', (chunk) => {
      err += String(chunk);
    });
    const address = await new Promise<string>((resolve, reject) => {
      child.stdout?.on('data', (chunk) => {
        out += String(chunk);
        const match = /listening on (http:\/\/\S+)/.exec(out);
        if (match?.[1]) resolve(match[1]);
      });
      child.once('exit', (code) =>
        reject(new Error(`bundle exited with ${code} before listening:\n${err}${out}`)),
      );
    });

    const order = { customerEmail: 'ada@example.com', sku: 'widget', quantity: 2 };
    const response = await fetch(`${address}/orders`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify(order),
    });
    expect(response.status, `${await response.clone().text()}\n${err}${out}`).toBe(201);
    expect(await response.json()).toMatchObject(order);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ method: 'POST', url: '/reservations' });
    expect(calls[0]?.headers['x-api-key']).toBe('inventory-key-for-orders');
    expect(JSON.parse(calls[0]?.body ?? '{}')).toMatchObject({ sku: 'widget', quantity: 2 });

    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code, err).toBe(0);
  });
});
