#!/usr/bin/env node
// rampart-db migrate|status: applies or lists drizzle-kit migration folders, on PGlite or PostgreSQL.
// The one file of this package that reads process.env (DATABASE_URL, DATABASE_DIR).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
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

function integerOption(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const parsed = value.trim() === '' ? Number.NaN : Number(value);
  if (!Number.isInteger(parsed) || parsed < min) {
    fail(`${name} must be an integer of at least ${min}, got '${value}'\n\n${USAGE}`, 2);
  }
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
const connectTimeoutMs = integerOption('--connect-timeout', values['connect-timeout'], 1);
const lockTimeoutMs = integerOption('--lock-timeout', values['lock-timeout'], 0);

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
const { DbError, isDbError } = await import('./errors.ts');
const { journalOf, migrate, migrationStatus } = await import('./migrate.ts');

try {
  // Checked before anything opens the database, so a mistyped folder or directory leaves nothing behind:
  // PGlite would create (and initialise) a data directory that does not exist yet.
  for (const folder of folders) journalOf(folder.migrationsFolder);
  if (command === 'status' && url === undefined) {
    const directory = resolve(dataDir as string);
    // status only reads: a missing directory is a typo, not a database to create (migrate creates it).
    if (!existsSync(join(directory, 'PG_VERSION'))) {
      throw new DbError('RAMPART_DB_OPEN_FAILED', {
        detail: `there is no database in ${directory} (run migrate to create one)`,
      });
    }
  }
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
