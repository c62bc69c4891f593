import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { migrationsFolder } from '../src/migrations-folder.ts';

// drizzle-kit's exports hide its bin, so find the package from its main entry.
const drizzleKit = join(dirname(createRequire(import.meta.url).resolve('drizzle-kit')), 'bin.cjs');

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Runs `drizzle-kit generate` against a scratch copy of the committed migrations; returns new files. */
async function generate(schema: string): Promise<{ output: string; added: string[] }> {
  const root = mkdtempSync(join(tmpdir(), 'rampart-security-drift-'));
  dirs.push(root);
  cpSync(migrationsFolder, join(root, 'migrations'), { recursive: true });
  const before = new Set(readdirSync(join(root, 'migrations')));
  // drizzle-kit treats --out as relative to the working directory.
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    [drizzleKit, 'generate', '--dialect=postgresql', `--schema=${schema}`, '--out=migrations'],
    { cwd: root, timeout: 60_000 },
  );
  const added = readdirSync(join(root, 'migrations')).filter((file) => !before.has(file));
  return { output: stdout + stderr, added };
}

describe('schema and committed migrations', () => {
  it('agree: drizzle-kit generate has nothing left to generate', async () => {
    const { output, added } = await generate(fileURLToPath(new URL('../src/schema.ts', import.meta.url)));
    expect(added).toEqual([]);
    expect(output).toContain('No schema changes');
  });

  it('the check catches a schema change that was not generated', async () => {
    const { added } = await generate(fileURLToPath(new URL('./fixtures/drifted-schema.ts', import.meta.url)));
    expect(added).toHaveLength(1);
    expect(added[0]).toMatch(/^0001_.*\.sql$/);
  });
});
