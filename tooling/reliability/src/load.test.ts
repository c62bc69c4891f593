import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { problemCode, quantile, runLoad } from './load.ts';

describe('runLoad', () => {
  it('refuses any target off this machine', async () => {
    await expect(
      runLoad({
        url: 'http://192.0.2.1',
        connections: 1,
        durationMs: 10,
        maxRequests: 1,
        next: () => ({ method: 'GET', path: '/' }),
      }),
    ).rejects.toThrow(/stay on this machine/);
  });

  it('stops at maxRequests and counts statuses and problem codes', async () => {
    let n = 0;
    const server = createServer((_request, response) => {
      n++;
      if (n % 2 === 0) {
        response.writeHead(503, { 'content-type': 'application/problem+json' });
        response.end(JSON.stringify({ code: 'RAMPART_X' }));
      } else response.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      const figures = await runLoad({
        url: `http://127.0.0.1:${port}`,
        connections: 2,
        durationMs: 10_000,
        maxRequests: 10,
        next: () => ({ method: 'GET', path: '/' }),
      });
      expect(figures.requests).toBe(10);
      expect(figures.statuses).toEqual({ 200: 5, 503: 5 });
      expect(figures.problems).toEqual({ '503 RAMPART_X': 5 });
    } finally {
      server.close();
    }
  });

  it('counts a refused connection as an error, not an answer', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    const figures = await runLoad({
      url: `http://127.0.0.1:${port}`,
      connections: 1,
      durationMs: 5_000,
      maxRequests: 3,
      next: () => ({ method: 'GET', path: '/' }),
    });
    expect(figures.errors).toBe(3);
    expect(figures.errorKinds.ECONNREFUSED).toBe(3);
  });
});

describe('quantile and problemCode', () => {
  it('nearest rank', () => {
    expect(quantile([5, 1, 4, 2, 3], 0.5)).toBe(3);
    expect(quantile([1, 2, 3, 4, 100], 0.99)).toBe(100);
    expect(quantile([], 0.99)).toBe(0);
  });
  it('names what a non-problem body was', () => {
    expect(problemCode('application/problem+json; charset=utf-8', '{"code":"RAMPART_A"}')).toBe('RAMPART_A');
    expect(problemCode('text/html', '<h1>')).toBe('(text/html)');
    expect(problemCode(undefined, '')).toBe('(none)');
  });
});
