import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './app.ts';

let built: TestApp;
let port: number;
beforeAll(async () => {
  // Thousands of refused requests from one address: the default failed-auth limit would answer 429 to most of
  // them, and this test is about what auth answers for each spelling, so it is off here.
  built = await buildTestApp({ auth: { failedAuth: false } });
  await built.app.listen({ port: 0, host: '127.0.0.1' });
  port = (built.app.server.address() as { port: number }).port;
});
afterAll(() => built?.close());

/** One request written byte for byte on a fresh socket, so no client library normalises the path. */
function raw(
  method: string,
  target: string,
  headers: Record<string, string> = {},
  body = '',
): Promise<{ status: number; problem: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    socket.setTimeout(5_000, () => socket.destroy(new Error(`timeout: ${method} ${target}`)));
    socket.on('data', (chunk) => {
      data += chunk;
      const match = /^HTTP\/1\.1 (\d{3}) /.exec(data);
      if (match && data.includes('\r\n\r\n')) {
        const head = data.slice(0, data.indexOf('\r\n\r\n')).toLowerCase();
        resolve({
          status: Number(match[1]),
          problem: head.includes('content-type: application/problem+json'),
        });
        socket.destroy();
      }
    });
    socket.on('error', reject);
    const lines = Object.entries({ host: '127.0.0.1', connection: 'close', ...headers }).map(
      ([name, value]) => `${name}: ${value}\r\n`,
    );
    socket.write(`${method} ${target} HTTP/1.1\r\n${lines.join('')}\r\n${body}`);
  });
}

const encodeChar = (char: string) => `%${char.charCodeAt(0).toString(16).padStart(2, '0')}`;

/** Spellings of one path that a router or a proxy might treat as the same route. */
function variants(path: string): string[] {
  const segments = path.split('/').filter(Boolean);
  const first = segments[0] ?? '';
  const rest = segments.slice(1).join('/');
  const join = (head: string) => `/${[head, rest].filter(Boolean).join('/')}`;
  return [
    path,
    `${path}/`,
    `/${path}`,
    path.replaceAll('/', '//'),
    path.toUpperCase(),
    join(first.charAt(0).toUpperCase() + first.slice(1)),
    join(`${encodeChar(first.charAt(0))}${first.slice(1)}`),
    join([...first].map(encodeChar).join('')),
    join([...first].map((char) => encodeChar(char).toLowerCase().replace('%', '%25')).join('')),
    path.replaceAll('/', '%2F'),
    path.replaceAll('/', '%2f').replace(/^%2f/, '/'),
    `${path}%00`,
    `${path};x=1`,
    `${path}/.`,
    `/./${path.slice(1)}`,
    `/x/..${path}`,
    `${path}?x=1`,
    `${path}#frag`,
    `${path}%20`,
  ];
}

describe('route inventory over raw sockets', () => {
  it('every protected route answers 401/403 without a valid key, for every spelling and method', async () => {
    const protectedRoutes = built.routes.filter((route) => route.config?.auth !== 'public');
    // HEAD routes Fastify adds for GETs are in the table too; OPTIONS is tried on every path.
    expect(protectedRoutes.length).toBeGreaterThanOrEqual(7);
    const { key: noScopes } = await built.keys.create({ name: 'no-scopes' });
    const anyKey = new Set(
      protectedRoutes.filter(
        (route) => typeof route.config?.auth === 'object' && route.config.auth.scopes.length === 0,
      ),
    );
    const failures: string[] = [];
    let sent = 0;
    for (const route of protectedRoutes) {
      const path = route.url.replace(/:(\w+)/g, '42');
      const methods = [...new Set([...[route.method].flat(), 'HEAD', 'OPTIONS', 'GET', 'POST'])];
      for (const target of variants(path)) {
        for (const method of methods) {
          const credentials: Record<string, string>[] = [
            {},
            { 'x-api-key': 'rk_live_AAAAAAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB' },
            { authorization: 'Bearer nonsense' },
            { 'x-api-key': '' },
          ];
          // A valid key without the route's scopes must still be refused (403) wherever the route matches.
          if (!anyKey.has(route)) credentials.push({ 'x-api-key': noScopes });
          for (const headers of credentials) {
            const post = method === 'POST';
            const { status, problem } = await raw(
              method,
              target,
              { ...headers, ...(post ? { 'content-type': 'application/json', 'content-length': '2' } : {}) },
              post ? '{}' : '',
            );
            sent += 1;
            // A valid key without the scope may learn a spelling is no route (404), or that the path takes
            // other methods (405). A target that is not a path at all never reaches routing: Node's parser
            // refuses it (400), before any key is looked at.
            const allowed = [401, 403];
            if (headers['x-api-key'] === noScopes) allowed.push(404, 405);
            if (!target.startsWith('/')) allowed.push(400);
            if (!allowed.includes(status) || !problem) {
              failures.push(
                `${method} ${target} ${JSON.stringify(headers)} -> ${status}${problem ? '' : ' (not problem+json)'}`,
              );
            }
          }
        }
      }
    }
    console.warn(`route inventory: ${sent} raw requests over ${protectedRoutes.length} protected routes`);
    expect(failures).toEqual([]);
  });

  it('the same route answers 200 with the right key (the test can tell the difference)', async () => {
    const { key } = await built.keys.create({ name: 'reader', scopes: ['orders:read'] });
    expect((await raw('GET', '/orders', { 'x-api-key': key })).status).toBe(200);
    expect((await raw('GET', '/%6Frders', { 'x-api-key': key })).status).toBe(200);
    expect((await raw('HEAD', '/orders/42', { 'x-api-key': key })).status).toBe(200);
    expect(await raw('GET', '/orders')).toEqual({ status: 401, problem: true });
    expect((await raw('GET', '/health')).status).toBe(200);
  });
});
