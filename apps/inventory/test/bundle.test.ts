import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleService } from '@rampart/bundle';
import { migrationsFolder as dbMigrations } from '@rampart/db';
import { migrationsFolder as securityMigrations } from '@rampart/security';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_PROCESS_V8_FLAGS } from './v8-flags.ts';

// `pnpm build` ships dist/server.js and dist/worker.js as bundles (rampart-bundle). This builds the same
// bundle into a scratch directory inside node_modules (so it resolves the service's external packages as
// dist/ does) and starts it as the Dockerfile does, `node <dir>/server.js`, on a data directory whose API
// key the unbundled keys CLI made: the bundle must find all three migration folders (a wrong one fails
// start-up with "relation already exists"), start tracing before the app, serve an authenticated request
// and shut down cleanly. Development mode, because a resource may add secrets that production requires.
const root = fileURLToPath(new URL('..', import.meta.url));
const PEPPER = 'bundle-test-pepper-0123456789abcdef0123456789';

let outdir: string;
let dataDir: string;
let child: ChildProcess | undefined;

beforeAll(async () => {
  mkdirSync(join(root, 'node_modules/.cache'), { recursive: true });
  outdir = mkdtempSync(join(root, 'node_modules/.cache/bundle-test-'));
  dataDir = mkdtempSync(join(tmpdir(), 'inventory-bundle-test-'));
}, 60_000);

afterAll(() => {
  child?.kill('SIGKILL');
  rmSync(outdir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

/** Every file under `dir` by its relative path, with its content. */
function filesUnder(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isFile()) files[relative(dir, path)] = readFileSync(path, 'utf8');
  }
  return files;
}

describe('the bundled server', () => {
  it("bundles the server and worker, copying the packages' migrations beside them", {
    timeout: 60_000,
  }, async () => {
    const result = await bundleService({
      root,
      outdir,
      entries: ['src/server.ts', 'src/worker.ts'],
      preload: ['@rampart/observability/register'],
    });
    expect(existsSync(join(outdir, 'server.js'))).toBe(true);
    expect(existsSync(join(outdir, 'worker.js'))).toBe(true);
    expect(result.modules).toBeGreaterThan(500);
    // Every bundle file compiled as Node loads it, into the compile cache the start files read.
    expect(result.compileCache).toMatch(/^compiled \d+ files into compile-cache\/v\S+ \(\d+ entries\)$/);
    const copies = { db: dbMigrations, security: securityMigrations };
    for (const [pkg, source] of Object.entries(copies)) {
      const copy = filesUnder(join(outdir, 'bundle/assets/@rampart', pkg, 'migrations'));
      expect(Object.keys(copy).length, pkg).toBeGreaterThan(0);
      expect(copy, pkg).toEqual(filesUnder(source));
    }
  });

  it('starts on PGlite with tracing, serves an authenticated request, exports its spans and exits 0 on SIGTERM', {
    timeout: 120_000,
  }, async () => {
    // An OTLP/HTTP collector stand-in: the bundle's first module (the register hook) must start tracing.
    const exported: string[] = [];
    const collector = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk) => {
        body += String(chunk);
      });
      request.on('end', () => {
        exported.push(`${request.url} ${body}`);
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    collector.listen(0, '127.0.0.1');
    await once(collector, 'listening');
    const { port } = collector.address() as AddressInfo;
    const env = {
      PATH: process.env.PATH ?? '',
      DATA_DIR: dataDir,
      API_KEY_PEPPER: PEPPER,
      LOG_LEVEL: 'warn',
    };
    const created = spawnSync(
      process.execPath,
      [...TEST_PROCESS_V8_FLAGS, 'src/cli.ts', 'create', '--name', 't', '--scopes', 'items:read'],
      {
        cwd: root,
        env,
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(created.status, created.stderr).toBe(0);
    const { key } = JSON.parse(created.stdout) as { key: string };
    // A mistake in the command line exits 2 with the usage, before anything opens the database.
    const usage = spawnSync(process.execPath, [...TEST_PROCESS_V8_FLAGS, 'src/cli.ts', 'list', '--bogus'], {
      cwd: root,
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(usage.status, usage.stderr).toBe(2);
    expect(usage.stderr).toContain('usage: pnpm keys');
    expect(usage.stderr).not.toContain('ERR_PARSE_ARGS');

    child = spawn(process.execPath, [...TEST_PROCESS_V8_FLAGS, join(outdir, 'server.js')], {
      cwd: root,
      env: {
        ...env,
        HOST: '127.0.0.1',
        PORT: '0',
        OTEL_SERVICE_NAME: 'inventory',
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
        OTEL_TRACES_SAMPLER: 'always_on',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr?.on('data', (chunk) => {
      err += String(chunk);
    });
    const address = await new Promise<string>((resolve, reject) => {
      child?.stdout?.on('data', (chunk) => {
        out += String(chunk);
        const match = /listening on (http:\/\/\S+)/.exec(out);
        if (match?.[1]) resolve(match[1]);
      });
      child?.once('exit', (code) =>
        reject(new Error(`bundle exited with ${code} before listening:\n${err}${out}`)),
      );
    });

    const ready = await fetch(`${address}/health/ready`);
    expect(ready.status).toBe(200);
    const denied = await fetch(`${address}/items`);
    expect(denied.status).toBe(401);
    expect(denied.headers.get('content-type')).toContain('application/problem+json');
    const listed = await fetch(`${address}/items`, { headers: { 'x-api-key': key } });
    expect(listed.status).toBe(200);

    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code, err).toBe(0);
    collector.close();
    // Shutdown flushes the batch: the request spans, from the service named after itself.
    const traces = exported.filter((line) => line.startsWith('/v1/traces '));
    expect(traces.length, exported.join('\n')).toBeGreaterThan(0);
    expect(traces.join('\n')).toContain('"inventory"');
    expect(traces.join('\n')).toContain('/items');
  });
});
