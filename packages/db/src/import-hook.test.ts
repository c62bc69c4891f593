import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { resolveDrizzleRelative } from './import-hook.ts';

const hook = fileURLToPath(new URL('./import-hook.ts', import.meta.url));
const packageDir = dirname(dirname(hook));
const drizzleIndex = fileURLToPath(import.meta.resolve('drizzle-orm'));
const importing = { conditions: ['node', 'import', 'node-addons'], importAttributes: {} };

/** Runs an ES module in a fresh Node (not vitest's loader) from this package's directory. */
function node(code: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', code], {
    cwd: packageDir,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('resolveDrizzleRelative', () => {
  it("answers exactly what Node's resolver answers for every relative import drizzle-orm makes", () => {
    // A hook that runs Node's own resolution and the shortcut side by side while drizzle-orm and the
    // entries this package and its services use are imported (the shortcut itself is not installed).
    const run = node(`
      import { registerHooks } from 'node:module';
      const { resolveDrizzleRelative } = await import(${JSON.stringify(pathToFileURL(hook).href)});
      let compared = 0;
      const mismatches = [];
      registerHooks({
        resolve(specifier, context, next) {
          const node = next(specifier, context);
          const ours = resolveDrizzleRelative(specifier, context);
          if (ours !== undefined) {
            compared++;
            if (ours.url !== node.url || ours.format !== node.format) mismatches.push({ specifier, parent: context.parentURL, ours, node });
          }
          return node;
        },
      });
      for (const entry of ['drizzle-orm', 'drizzle-orm/pg-core', 'drizzle-orm/node-postgres', 'drizzle-orm/pglite', 'drizzle-orm/migrator', 'drizzle-orm/sql', 'drizzle-orm/relations']) await import(entry);
      console.log(JSON.stringify({ compared, mismatches: mismatches.slice(0, 5) }));
    `);
    expect(run.status, run.stderr).toBe(0);
    const { compared, mismatches } = JSON.parse(run.stdout) as { compared: number; mismatches: unknown[] };
    expect(mismatches).toEqual([]);
    // drizzle-orm's pg-core alone makes a few hundred relative imports: the shortcut really was exercised.
    expect(compared).toBeGreaterThan(200);
  });

  it('leaves everything else to Node', () => {
    const parent = pathToFileURL(drizzleIndex).href;
    const here = import.meta.url;
    expect(resolveDrizzleRelative('./column.js', { ...importing, parentURL: parent })).toMatchObject({
      format: 'module',
    });
    // Not drizzle-orm's own module, a bare specifier, require(), a query string, attributes, a file that
    // does not exist (Node raises its own error), a path that leaves the package.
    expect(resolveDrizzleRelative('./errors.js', { ...importing, parentURL: here })).toBeUndefined();
    expect(resolveDrizzleRelative('drizzle-orm', { ...importing, parentURL: parent })).toBeUndefined();
    expect(
      resolveDrizzleRelative('./column.js', {
        conditions: ['node', 'require'],
        importAttributes: {},
        parentURL: parent,
      }),
    ).toBeUndefined();
    expect(resolveDrizzleRelative('./column.js?v=1', { ...importing, parentURL: parent })).toBeUndefined();
    expect(
      resolveDrizzleRelative('./column.js', {
        ...importing,
        importAttributes: { type: 'json' },
        parentURL: parent,
      }),
    ).toBeUndefined();
    expect(resolveDrizzleRelative('./no-such-file.js', { ...importing, parentURL: parent })).toBeUndefined();
    expect(resolveDrizzleRelative('../pg/lib/index.js', { ...importing, parentURL: parent })).toBeUndefined();
    expect(resolveDrizzleRelative('./column.js', { ...importing, parentURL: undefined })).toBeUndefined();
  });
});

describe('registerDrizzleImportHook', () => {
  it('loads drizzle-orm and @rampart/db through the hook, and a database opened after it works', () => {
    const run = node(`
      const { registerDrizzleImportHook } = await import(${JSON.stringify(pathToFileURL(hook).href)});
      const first = registerDrizzleImportHook();
      const again = registerDrizzleImportHook();
      const { sql } = await import('drizzle-orm');
      const { pgTable, text } = await import('drizzle-orm/pg-core');
      const table = pgTable('t', { name: text('name') });
      const { createDb } = await import(${JSON.stringify(pathToFileURL(`${packageDir}/src/index.ts`).href)});
      const database = await createDb();
      const { rows } = await database.db.execute(sql\`select 1 as one\`);
      await database.close();
      console.log(JSON.stringify({ first, again, one: rows[0].one, table: typeof table }));
    `);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      first: true,
      again: true,
      one: 1,
      table: 'object',
    });
  });
});
