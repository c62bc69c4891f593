import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalRegistry, startLocalRegistry } from './local-registry.ts';
import { runCommand } from './run-command.ts';

let scratch = '';
let registry: LocalRegistry | undefined;
beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'rampart-local-registry-'));
  registry = await startLocalRegistry({ dir: join(scratch, 'registry') });
}, 60_000);
afterAll(async () => {
  await registry?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

function packageDir(name: string): string {
  const dir = join(scratch, name.replace('/', '-'));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', type: 'module' }));
  writeFileSync(join(dir, 'index.js'), 'export {};\n');
  return dir;
}

async function publish(name: string) {
  return runCommand('pnpm', ['publish', '--no-git-checks', '--json'], {
    cwd: packageDir(name),
    env: { PNPM_CONFIG_REGISTRY: registry!.url },
  });
}

describe('startLocalRegistry', () => {
  it('listens on 127.0.0.1 and takes anonymous publishes in its scope only', async () => {
    const url = registry!.url;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);

    expect((await publish('@rampart/registry-probe')).code).toBe(0);
    const packument = await fetch(new URL('@rampart%2fregistry-probe', url));
    expect(packument.status).toBe(200);
    expect(((await packument.json()) as { versions: Record<string, unknown> }).versions).toHaveProperty(
      '1.0.0',
    );

    expect((await publish('@elsewhere/registry-probe')).code).not.toBe(0);
    // No uplinks: what was not published here is not here.
    expect((await fetch(new URL('fastify', url))).status).toBe(404);
  }, 60_000);

  it('refuses a scope that is not an npm scope', async () => {
    await expect(startLocalRegistry({ dir: join(scratch, 'bad'), scope: 'rampart' })).rejects.toMatchObject({
      code: 'RAMPART_RELEASE_BAD_ARGUMENTS',
    });
  });

  it('stops: the port no longer answers, and a second stop is harmless', async () => {
    const local = await startLocalRegistry({ dir: join(scratch, 'stopped') });
    expect((await fetch(new URL('-/ping', local.url))).status).toBe(200);
    await local.stop();
    await local.stop();
    await expect(fetch(new URL('-/ping', local.url))).rejects.toThrow();
  }, 60_000);
});
