import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { TEST_PROCESS_V8_FLAGS } from './v8-flags.ts';

const serverEntry = fileURLToPath(new URL('../src/server.ts', import.meta.url));
const children: ChildProcess[] = [];

function start(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [...TEST_PROCESS_V8_FLAGS, serverEntry], {
    env: {
      PATH: process.env.PATH,
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: 'warn',
      DATA_DIR: 'memory',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return child;
}

/** Resolves the address from the "listening on" line, and keeps reading stdout so the child never blocks. */
function listening(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk) => {
      out += String(chunk);
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match?.[1]) resolve(match[1]);
    });
    child.on('exit', () => reject(new Error(`server exited before listening: ${out}`)));
  });
}

/** Sends `text` over a raw socket (what no HTTP client would send) and reads the answer to the close. */
async function exchange(address: string, text: string): Promise<string> {
  const socket = connect(Number(new URL(address).port), '127.0.0.1');
  let answer = '';
  socket.on('data', (chunk) => {
    answer += String(chunk);
  });
  socket.end(text);
  await once(socket, 'close');
  return answer;
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return once(child, 'exit').then(([code]) => code as number | null);
}

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

describe('server process', () => {
  // One boot for both: booting is most of this file's time. An idle keep-alive connection stays open to
  // the end. Exit 0 proves the server did not wait for it without timing anything: Fastify keeps an idle
  // connection 72 s, and a shutdown still waiting when the 20 s grace period ends exits 1.
  it('serves liveness, and on SIGTERM drains, then exits 0 within the grace period despite an idle keep-alive connection', {
    timeout: 120_000,
  }, async () => {
    const child = start({ SHUTDOWN_GRACE_MS: '20000', SHUTDOWN_DRAIN_MS: '5000' });
    const address = await listening(child);
    const agent = new Agent({ keepAlive: true });
    const response = await new Promise<{ status?: number; connection?: string }>((resolve, reject) => {
      request(`${address}/health/live`, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode, connection: res.headers.connection }));
      })
        .on('error', reject)
        .end();
    });
    expect(response).toEqual({ status: 200, connection: 'keep-alive' });

    // A request Node's own parser refuses (a control character in a header) answers problem+json too.
    const refused = await exchange(address, 'GET /health/live HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n');
    expect(refused).toMatch(/^HTTP\/1\.1 400 /);
    expect(refused).toContain('content-type: application/problem+json');
    expect(refused).toContain('"code":"RAMPART_SECURITY_REQUEST_INVALID"');
    // So does an HTTP/1.1 request without Host, which Node would answer with a bare 400 of its own.
    const hostless = await exchange(address, 'GET /health/live HTTP/1.1\r\n\r\n');
    expect(hostless).toMatch(/^HTTP\/1\.1 400 /);
    expect(hostless).toContain('content-type: application/problem+json');
    expect(hostless).toContain('"code":"RAMPART_SECURITY_HOST_MISSING"');

    child.kill('SIGTERM');
    // The drain: readiness answers 503 while new connections are still served, so traffic a load balancer
    // sends before it sees the 503 is not refused (without it the listener closes at once: ECONNREFUSED).
    let ready = await fetch(`${address}/health/ready`);
    while (ready.status === 200) ready = await fetch(`${address}/health/ready`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { status: string }).status).toBe('shutting-down');
    const during = await fetch(`${address}/health/live`, { headers: { connection: 'close' } });
    expect(during.status).toBe(200);
    expect(await exitOf(child)).toBe(0);
    agent.destroy();
  });

  it('refuses to start on a bad variable, naming it, with no stack trace', async () => {
    const child = start({ PORT: 'eighty' });
    let stderr = '';
    child.stderr!.on('data', (chunk) => {
      stderr += String(chunk);
    });
    expect(await exitOf(child)).toBe(1);
    expect(stderr).toContain('PORT="eighty"');
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
