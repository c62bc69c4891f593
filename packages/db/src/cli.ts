#!/usr/bin/env node
// rampart-db migrate|status: applies or lists drizzle-kit migration folders, on PGlite or PostgreSQL.
// The one file of this package that reads process.env (DATABASE_URL, DATABASE_DIR).
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { MigrateOptions } from './migrate.ts';
import { migrationsFolder, migrationsTable } from './migrations-folder.ts';

const print = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

const USAGE = `usage: rampart-db <migrate|status> [options]

  --url URL          PostgreSQL URL (default: $DATABASE_URL)
  --data-dir DIR     PGlite data directory (default: $DATABASE_DIR); neither: nothing to do
  --folder PATH[=TABLE]
                     a drizzle-kit migrations folder and its tracking table; repeat, applied in order
                     (default: @rampart/db's own folder, table ${migrationsTable})
  --schema NAME      put tables and tracking tables in this schema (search_path) instead of public/drizzle
  --connect-timeout MS   (default 5000)
  --lock-timeout MS      wait for another migrator this long (default 60000)
`;

function fail(message: string, code: number): never {
  console.error(`rampart-db: ${message}`);
  process.exit(code);
}

function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) fail(`${name} must be a non-negative integer\n\n${USAGE}`, 2);
  return parsed;
}

let parsed: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      'data-dir': { type: 'string' },
      folder: { type: 'string', multiple: true },
      schema: { type: 'string' },
      'connect-timeout': { type: 'string' },
      'lock-timeout': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
try {
  parsed = parse();
} catch (error) {
  fail(`${(error as Error).message}\n\n${USAGE}`, 2);
}
const { values, positionals } = parsed;
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const command = positionals[0];
if (positionals.length !== 1 || (command !== 'migrate' && command !== 'status')) fail(USAGE, 2);

const url = values.url ?? (process.env.DATABASE_URL || undefined);
const dataDir = values['data-dir'] ?? (process.env.DATABASE_DIR || undefined);
if (url === undefined && dataDir === undefined) {
  fail('give --url or --data-dir (or set DATABASE_URL or DATABASE_DIR)', 2);
}
const schema = values.schema;
const connectTimeoutMs = positiveInt('--connect-timeout', values['connect-timeout']);
const lockTimeoutMs = positiveInt('--lock-timeout', values['lock-timeout']);

const folders: MigrateOptions[] = (values.folder ?? [`${migrationsFolder}=${migrationsTable}`]).map(
  (spec) => {
    const [path = '', table] = spec.split('=');
    const options: MigrateOptions = { migrationsFolder: resolve(path) };
    if (table) options.migrationsTable = table;
    if (schema !== undefined) options.migrationsSchema = schema;
    if (lockTimeoutMs !== undefined) options.lockTimeoutMs = lockTimeoutMs;
    return options;
  },
);

// Loaded only once the arguments are known to be good: a usage error answers at once.
// drizzle-orm loads several times faster through this hook (see import-hook.ts); the modules below use it.
const { registerDrizzleImportHook } = await import('./import-hook.ts');
registerDrizzleImportHook();
const { createDb } = await import('./create-db.ts');
const { isDbError } = await import('./errors.ts');
const { migrate, migrationStatus } = await import('./migrate.ts');

try {
  const database = await createDb({
    ...(url === undefined ? { dataDir } : { url }),
    ...(schema === undefined ? {} : { searchPath: schema }),
    ...(connectTimeoutMs === undefined ? {} : { connectTimeoutMs }),
    // Migrations may run long (index builds): no statement timeout for this session.
    statementTimeoutMs: 0,
    applicationName: 'rampart-db',
  });
  try {
    for (const folder of folders) {
      if (command === 'migrate') {
        const before = await migrationStatus(database, folder);
        await migrate(database, folder);
        const applied = before.pending.length;
        print(`${folder.migrationsFolder}: applied ${applied} migration(s)`);
        for (const file of before.pending) print(`  + ${file}`);
      } else {
        const status = await migrationStatus(database, folder);
        print(`${folder.migrationsFolder}: ${status.pending.length} pending`);
        for (const file of status.files) print(`  [${file.applied ? 'x' : ' '}] ${file.file}`);
      }
    }
  } finally {
    await database.close();
  }
} catch (error) {
  if (isDbError(error)) fail(`${error.code}: ${error.message}`, 1);
  fail(`unexpected error: ${(error as Error).message}`, 1);
}
