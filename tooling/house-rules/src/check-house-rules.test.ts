import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkHouseRules } from './check-house-rules.ts';

let root: string;

function write(path: string, content: string | object): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), typeof content === 'string' ? content : JSON.stringify(content));
}

/** A well-formed package: README, exports, a test. */
function pkg(name: string, extra: Record<string, unknown> = {}, group = 'packages'): void {
  write(`${group}/${name}/package.json`, {
    name: `@acme/${name}`,
    exports: { '.': './dist/index.js', './fastify': './dist/fastify.js' },
    ...extra,
  });
  write(`${group}/${name}/README.md`, `# ${name}`);
  write(`${group}/${name}/src/index.ts`, 'export const x = 1;\n');
  write(`${group}/${name}/src/index.test.ts`, "import { x } from './index.ts';\n");
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'house-rules-'));
  write('package.json', { packageManager: 'pnpm@1.2.3', rampart: { scope: '@acme' } });
  write('scripts/toolchain.sh', 'RAMPART_PNPM_VERSION="1.2.3"\n');
  pkg('db');
  pkg('web', { dependencies: { '@acme/db': 'workspace:^' } }, 'apps');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('checkHouseRules', () => {
  it('passes a well-formed workspace', () => {
    write('apps/web/src/app.ts', "import { x } from '@acme/db';\nimport { y } from '@acme/db/fastify';\n");
    expect(checkHouseRules(root)).toEqual([]);
  });

  it('fails a deep import into another package', () => {
    write('apps/web/src/app.ts', "import { pool } from '@acme/db/src/pool.ts';\n");
    expect(checkHouseRules(root)).toEqual([
      'apps/web/src/app.ts: deep import "@acme/db/src/pool.ts": @acme/db does not export "./src/pool.ts"',
    ]);
  });

  it('fails a relative import that leaves its package', () => {
    write('apps/web/src/app.ts', "import { x } from '../../../packages/db/src/index.ts';\n");
    expect(checkHouseRules(root)).toEqual([
      'apps/web/src/app.ts: relative import "../../../packages/db/src/index.ts" leaves the package',
    ]);
  });

  it('fails an import cycle between files', () => {
    write('packages/db/src/a.ts', "import { b } from './b.ts';\nexport const a = 1;\n");
    write('packages/db/src/b.ts', "export { a } from './a.ts';\nexport const b = 2;\n");
    expect(checkHouseRules(root)).toEqual(['packages/db: import cycle: src/a.ts -> src/b.ts -> src/a.ts']);
  });

  it('fails a dependency cycle between packages, dev dependencies included', () => {
    pkg('db', { devDependencies: { '@acme/web': 'workspace:^' } });
    expect(checkHouseRules(root)).toEqual([
      'workspace: package dependency cycle: @acme/db -> @acme/web -> @acme/db',
    ]);
  });

  it('fails process.env in package source, but not in tests, CLIs or apps', () => {
    write('packages/db/src/pool.ts', 'export const url = process.env.DATABASE_URL;\n');
    write('packages/db/src/pool.test.ts', 'const url = process.env.TEST_DATABASE_URL;\n');
    write('packages/db/src/cli.ts', 'const url = process.env.DATABASE_URL;\n');
    write('apps/web/src/env.ts', 'export const env = process.env;\n');
    write(
      'packages/db/src/options.ts',
      '/** Callers pass `process.env` here. */\n// not process.env itself\nexport {};\n',
    );
    expect(checkHouseRules(root)).toEqual([
      "packages/db/src/pool.ts: reads process.env; packages take config as arguments (read it in the app's env.ts)",
    ]);
  });

  it('fails a package without README, exports or tests', () => {
    write('packages/bare/package.json', { name: '@acme/bare' });
    write('packages/bare/src/index.ts', 'export {};\n');
    expect(checkHouseRules(root)).toEqual([
      'packages/bare: has no README.md',
      'packages/bare: package.json has no "exports"',
      'packages/bare: has no *.test.ts',
    ]);
  });

  it('fails when the pnpm pin drifts from packageManager', () => {
    write('scripts/toolchain.sh', 'RAMPART_PNPM_VERSION="9.9.9"\n');
    expect(checkHouseRules(root)).toEqual([
      'package.json: packageManager is pnpm@1.2.3 but scripts/toolchain.sh pins pnpm 9.9.9',
    ]);
  });

  it('follows a renamed scope', () => {
    write('package.json', { packageManager: 'pnpm@1.2.3', rampart: { scope: '@other' } });
    write('apps/web/src/app.ts', "import { pool } from '@acme/db/src/pool.ts';\n");
    // @acme is no longer the workspace's scope, so this is an outside package as far as the rules go.
    expect(checkHouseRules(root)).toEqual([]);
  });
});

describe('the CLI', () => {
  const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
  it('checks the root it is given, and refuses one that is not a workspace with exit 2', () => {
    const ok = spawnSync(process.execPath, [cli, root], { encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stderr).toContain('house-rules: no problems');
    const typo = spawnSync(process.execPath, [cli, join(root, 'typo')], { encoding: 'utf8' });
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain('has no package.json');
    expect(typo.stderr).not.toMatch(/\n\s+at /);
  });
});
