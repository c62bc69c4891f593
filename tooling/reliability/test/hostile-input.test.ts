import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  baseEnv,
  createApiKey,
  rawRequest,
  reportFigures,
  type ServiceProcess,
  startApi,
} from '../src/index.ts';
import { bounded, removeDir, sleep, tempDir } from './support.ts';

let api: ServiceProcess;
let key: string;
let readOnlyKey: string;
// beforeAll's directories outlive single tests: removed in afterAll, not after the first test.
const dirs: string[] = [];
const dataDir = (prefix: string) => {
  const dir = tempDir(prefix, true);
  dirs.push(dir);
  return dir;
};

beforeAll(async () => {
  const env = baseEnv({ DATA_DIR: dataDir('hostile'), RATE_LIMIT_MAX: '100000' });
  key = await createApiKey(env, ['items:read', 'items:write']);
  readOnlyKey = await createApiKey(env, ['items:read']);
  api = await startApi(env);
});
afterAll(async () => {
  if (api) await api.signal('SIGTERM');
  for (const dir of dirs) removeDir(dir);
});

/**
 * The path tricks fail authentication on purpose, dozens of times: the failed-auth limit (20 a minute per
 * address) would answer the later scenarios 429, so those run against a fresh instance.
 */
async function freshApi(): Promise<ServiceProcess> {
  const env = baseEnv({ DATA_DIR: dataDir('hostile-fresh'), RATE_LIMIT_MAX: '100000' });
  key = await createApiKey(env, ['items:read', 'items:write']);
  await api.signal('SIGTERM');
  api = await startApi(env);
  return api;
}

const request = (lines: string[], body = '') => `${lines.join('\r\n')}\r\n\r\n${body}`;
const host = () => `Host: 127.0.0.1:${api.port}`;

describe('header and CRLF injection', () => {
  it('a CR or LF in a header, the path or a key never splits the response or reaches a handler', async () => {
    const cases: Array<[string, string]> = [
      [
        'bare LF in a header value',
        request(['GET /health/live HTTP/1.1', host(), 'X-Test: a\nInjected: yes', 'Connection: close']),
      ],
      [
        'bare CR in a header value',
        request(['GET /health/live HTTP/1.1', host(), 'X-Test: a\rInjected: yes', 'Connection: close']),
      ],
      [
        'CRLF in the path',
        `GET /health/live%0d%0aInjected:%20yes HTTP/1.1\r\n${host()}\r\nConnection: close\r\n\r\n`,
      ],
      [
        'raw CRLF in the path',
        `GET /health/live\r\nInjected: yes HTTP/1.1\r\n${host()}\r\nConnection: close\r\n\r\n`,
      ],
      [
        'CRLF in the request id',
        request([
          'GET /health/live HTTP/1.1',
          host(),
          'X-Request-Id: abc%0d%0aInjected: yes',
          'Connection: close',
        ]),
      ],
      [
        'header name with a space',
        request(['GET /health/live HTTP/1.1', host(), 'X Test: a', 'Connection: close']),
      ],
      [
        'two Content-Length headers',
        request(
          [
            'POST /items HTTP/1.1',
            host(),
            `x-api-key: ${key}`,
            'Content-Type: application/json',
            'Content-Length: 12',
            'Content-Length: 3',
            'Connection: close',
          ],
          '{"name":"x"}',
        ),
      ],
      [
        'Content-Length and chunked',
        request(
          [
            'POST /items HTTP/1.1',
            host(),
            `x-api-key: ${key}`,
            'Content-Type: application/json',
            'Content-Length: 12',
            'Transfer-Encoding: chunked',
            'Connection: close',
          ],
          '{"name":"x"}',
        ),
      ],
      [
        'obs-fold continuation line',
        request(['GET /health/live HTTP/1.1', host(), 'X-Test: a', ' Injected: yes', 'Connection: close']),
      ],
      [
        'NUL in a header value',
        request(['GET /health/live HTTP/1.1', host(), 'X-Test: a\0b', 'Connection: close']),
      ],
      [
        'CRLF in the API key (the last: it fails auth)',
        request(['GET /items HTTP/1.1', host(), `x-api-key: ${key}\rInjected: yes`, 'Connection: close']),
      ],
    ];
    const outcomes: string[] = [];
    for (const [name, text] of cases) {
      const response = await rawRequest(api.port, text);
      outcomes.push(`${name.replace(/ /g, '_')}:${response.status}`);
      expect(response.headers.injected, name).toBeUndefined();
      expect(response.head.toLowerCase(), name).not.toContain('injected');
      expect(response.status, `${name}: ${response.head}`).toBeLessThan(500);
      // Smuggling cases must not create an item.
      if (name.includes('Content-Length')) expect(response.status, name).not.toBe(201);
    }
    reportFigures('crlf-injection', { cases: cases.length, injected: 0, outcomes: outcomes.join(',') });
  });
});

describe('raw-socket path tricks against auth', () => {
  const paths = [
    '/items',
    '/items/',
    '//items',
    '/ITEMS',
    '/Items',
    '/%69tems',
    '/items%2F',
    '/items%2f..%2f',
    '/items/..',
    '/items/../items',
    '/health/../items',
    '/health/live/../../items',
    '/health/%2e%2e/items',
    '/./items',
    '/items;',
    '/items;jsessionid=x',
    '/items#',
    '/items?',
    '/items%00',
    '/items%',
    '/items/%ZZ',
    '/items\\..\\',
    '*',
    'items',
    'http://127.0.0.1/items',
    '/items/00000000-0000-7000-8000-000000000000',
  ];
  it('no spelling of /items reaches items without a key, and none is a 500', async () => {
    const seen: Record<string, number> = {};
    for (const path of paths) {
      for (const method of ['GET', 'POST', 'DELETE']) {
        const extra = method === 'POST' ? ['Content-Type: application/json', 'Content-Length: 13'] : [];
        const response = await rawRequest(
          api.port,
          request(
            [`${method} ${path} HTTP/1.1`, host(), 'Connection: close', ...extra],
            method === 'POST' ? '{"name":"x"}\n' : '',
          ),
        );
        seen[`${response.status}`] = (seen[`${response.status}`] ?? 0) + 1;
        expect(response.status, `${method} ${path}`).not.toBe(0);
        expect([200, 201, 204], `${method} ${path}: ${response.body}`).not.toContain(response.status);
        expect(response.status, `${method} ${path}`).toBeLessThan(500);
      }
    }
    // A read-only key cannot write through any spelling either.
    for (const path of ['/items', '//items', '/items/', '/%69tems']) {
      const response = await rawRequest(
        api.port,
        request(
          [
            `POST ${path} HTTP/1.1`,
            host(),
            'Connection: close',
            `x-api-key: ${readOnlyKey}`,
            'Content-Type: application/json',
            'Content-Length: 12',
          ],
          '{"name":"x"}',
        ),
      );
      expect(response.status, `POST ${path} with a read-only key`).not.toBe(201);
      expect(response.status).toBeLessThan(500);
    }
    reportFigures('path-tricks', {
      requests: paths.length * 3 + 4,
      statuses: Object.entries(seen)
        .map(([s, n]) => `${s}:${n}`)
        .join(','),
      bypasses: 0,
    });
  });
});

describe('bodies: huge, deeply nested, polluting, mistyped', () => {
  beforeAll(freshApi);
  const sendOnce = (headers: string[], body: string | Buffer) =>
    rawRequest(
      api.port,
      Buffer.concat([
        Buffer.from(
          request(['POST /items HTTP/1.1', host(), `x-api-key: ${key}`, 'Connection: close', ...headers]),
        ),
        Buffer.from(body),
      ]),
      15_000,
    );
  // A 503 with Retry-After says "come back later" (the service shed load on a machine busy with the rest
  // of the workspace's tests, seen in CI after a body that kept its event loop busy): the client these
  // tests play does what a client should, at most 5 times, and the figure says when it happened. A 503 that
  // does not go away still fails the assertion that follows.
  const post = async (headers: string[], body: string | Buffer) => {
    let response = await sendOnce(headers, body);
    for (let retry = 1; retry <= 5 && response.status === 503 && response.headers['retry-after']; retry++) {
      reportFigures('retried-after-503', { retry, body: response.body.slice(0, 200) });
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      response = await sendOnce(headers, body);
    }
    return response;
  };

  it('a body over the limit is 413 problem+json, with a Content-Length or chunked', async () => {
    const huge = Buffer.alloc(2 * 1024 * 1024, 'a');
    const declared = await post(['Content-Type: application/json', `Content-Length: ${huge.length}`], huge);
    const chunks = Buffer.concat([
      Buffer.from(`${(1024 * 1024).toString(16)}\r\n`),
      Buffer.alloc(1024 * 1024, 'a'),
      Buffer.from('\r\n'),
      Buffer.from(`${(1024 * 1024).toString(16)}\r\n`),
      Buffer.alloc(1024 * 1024, 'a'),
      Buffer.from('\r\n0\r\n\r\n'),
    ]);
    const chunked = await post(['Content-Type: application/json', 'Transfer-Encoding: chunked'], chunks);
    const lying = await post(
      ['Content-Type: application/json', 'Content-Length: 5'],
      '{"name":"this is longer than five"}',
    );
    reportFigures('huge-body', {
      declared: declared.status,
      chunked: chunked.status,
      shortContentLength: lying.status,
    });
    for (const response of [declared, chunked]) {
      expect(response.status).toBe(413);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(response.body).code).toBe('RAMPART_SECURITY_BODY_TOO_LARGE');
    }
    expect(lying.status).toBeLessThan(500);
    expect(lying.status).not.toBe(201);
  });

  it('deeply nested JSON is a 400, not a 500 or a stack overflow, and the service stays up', async () => {
    const depths = [1_000, 100_000, 500_000];
    const outcomes: string[] = [];
    for (const depth of depths) {
      for (const [open, close] of [
        ['[', ']'],
        ['{"a":', '}'],
      ] as const) {
        const body = `{"name":${open.repeat(depth)}1${close.repeat(depth)}}`;
        if (body.length > 1_048_576) continue;
        const response = await post(
          ['Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`],
          body,
        );
        outcomes.push(`${open}x${depth}:${response.status}`);
        expect(response.status, `${open} x ${depth}: ${response.body.slice(0, 200)}`).toBe(400);
        expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      }
    }
    const live = await fetch(`${api.url}/health/live`);
    expect(live.status).toBe(200);
    reportFigures('nested-json', { outcomes: outcomes.join(','), alive: live.status === 200 });
  });

  it('__proto__ and constructor.prototype are refused with 400, and nothing is polluted', async () => {
    const bodies = [
      '{"name":"x","__proto__":{"polluted":true}}',
      '{"name":"x","constructor":{"prototype":{"polluted":true}}}',
      '{"__proto__":{"name":"x"}}',
      '{"name":"x","\\u005f\\u005fproto__":{"polluted":true}}',
    ];
    const outcomes: number[] = [];
    for (const body of bodies) {
      const response = await post(
        ['Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`],
        body,
      );
      outcomes.push(response.status);
      expect(response.status, `${body} -> ${response.body}`).toBe(400);
      expect(JSON.parse(response.body).code).toMatch(
        /RAMPART_SECURITY_(PROTOTYPE_POISONING|VALIDATION_FAILED)/,
      );
    }
    // The next request still behaves: an ordinary write succeeds and carries no stray property.
    const ok = await post(['Content-Type: application/json', 'Content-Length: 12'], '{"name":"x"}');
    expect(ok.status).toBe(201);
    expect(JSON.parse(ok.body).polluted).toBeUndefined();
    reportFigures('prototype-pollution', { outcomes: outcomes.join(','), afterwards: ok.status });
  });

  it('content-type confusion: every non-JSON type is 415, a JSON lookalike never skips validation', async () => {
    const types = [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/xml',
      'application/jsonx',
      'text/json',
      'application/json; charset=utf-7',
      'APPLICATION/JSON',
      'application/json, text/plain',
      '',
    ];
    const outcomes: string[] = [];
    for (const type of types) {
      const body = type.startsWith('application/x-www') ? 'name=x' : '{"name":"x"}';
      const headers = type ? [`Content-Type: ${type}`] : [];
      const response = await post([...headers, `Content-Length: ${Buffer.byteLength(body)}`], body);
      outcomes.push(`${type.replace(/[ ;,=/]/g, '_') || '(none)'}:${response.status}`);
      expect(response.status, `${type} -> ${response.body.slice(0, 200)}`).toBeLessThan(500);
      expect(response.headers['content-type'] ?? '', type).toMatch(/^application\/(problem\+)?json/);
      if (response.status === 201)
        expect(type.toLowerCase().split(';')[0]!.trim(), type).toBe('application/json');
    }
    reportFigures('content-type-confusion', { outcomes: outcomes.join(',') });
  });
});

describe('slowloris', () => {
  it('clients trickling their headers or their body do not starve others, and are cut off (408)', {
    timeout: 200_000,
  }, async () => {
    // Its own instance with a short REQUEST_TIMEOUT_MS: the scenario checks that the limit holds for a
    // trickled body as well as for trickled headers (Node enforced neither at 30 s before the template set
    // headersTimeout and connectionsCheckingInterval beside requestTimeout).
    const requestTimeoutMs = 4_000;
    const env = baseEnv({
      DATA_DIR: dataDir('hostile-slow'),
      RATE_LIMIT_MAX: '100000',
      REQUEST_TIMEOUT_MS: String(requestTimeoutMs),
    });
    const writer = await createApiKey(env, ['items:read', 'items:write']);
    const slow = await startApi(env);
    try {
      const count = bounded(50, 200);
      const holdMs = bounded(20_000, 60_000);
      const sockets = Array.from({ length: count }, (_, index) => {
        const socket = connect({ host: '127.0.0.1', port: slow.port });
        const trickles: 'headers' | 'body' = index % 2 === 0 ? 'headers' : 'body';
        const state = { socket, trickles, closedAt: 0, answer: '' };
        socket.on('error', () => undefined);
        socket.on('data', (chunk) => {
          state.answer += String(chunk);
        });
        socket.on('close', () => {
          state.closedAt = performance.now();
        });
        const hostLine = `Host: 127.0.0.1:${slow.port}`;
        socket.write(
          trickles === 'headers'
            ? `GET /health/live HTTP/1.1\r\n${hostLine}\r\n`
            : request(
                [
                  'POST /items HTTP/1.1',
                  hostLine,
                  `x-api-key: ${writer}`,
                  'Content-Type: application/json',
                  'Content-Length: 1000',
                ],
                '{"name":"',
              ),
        );
        return state;
      });
      const started = performance.now();
      const drip = setInterval(() => {
        for (const { socket, trickles } of sockets) {
          if (socket.destroyed) continue;
          socket.write(trickles === 'headers' ? `X-${Math.random().toString(36).slice(2, 6)}: a\r\n` : 'a');
        }
      }, 1_000);
      // Meanwhile an ordinary client is served.
      const served: number[] = [];
      while (performance.now() - started < holdMs) {
        const begun = performance.now();
        const response = await fetch(`${slow.url}/health/live`);
        await response.text();
        served.push(performance.now() - begun);
        if (sockets.every((state) => state.closedAt > 0)) break;
        await sleep(500);
      }
      clearInterval(drip);
      const cut = sockets.filter((state) => state.closedAt > 0);
      const longest = cut.length ? Math.max(...cut.map((state) => state.closedAt - started)) : 0;
      const answered408 = cut.filter((state) => state.answer.startsWith('HTTP/1.1 408')).length;
      for (const { socket } of sockets) socket.destroy();
      const notCut = (trickles: string) =>
        sockets.filter((state) => state.trickles === trickles && state.closedAt === 0).length;
      reportFigures('slowloris', {
        sockets: count,
        requestTimeoutMs,
        heldSeconds: Math.round((performance.now() - started) / 1000),
        cutOff: cut.length,
        answered408,
        headersNotCut: notCut('headers'),
        bodyNotCut: notCut('body'),
        cutOffAfterSeconds: Number((longest / 1000).toFixed(1)),
        ordinaryRequests: served.length,
        ordinaryMaxMs: Math.round(Math.max(...served)),
      });
      expect(served.length).toBeGreaterThan(0);
      expect(Math.max(...served)).toBeLessThan(5_000);
      // Every trickler, headers or body, is cut off: the hold is several times the request timeout plus
      // the 2 s check interval, so only a limit that is not enforced fails here.
      expect({ headersNotCut: notCut('headers'), bodyNotCut: notCut('body') }).toEqual({
        headersNotCut: 0,
        bodyNotCut: 0,
      });
      // No item was created by a trickled body.
      const list = await fetch(`${slow.url}/items?limit=100`, {
        headers: { 'x-api-key': writer },
      });
      expect(((await list.json()) as { items: unknown[] }).items).toEqual([]);
    } finally {
      await slow.signal('SIGTERM');
    }
  });
});
