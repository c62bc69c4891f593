#!/usr/bin/env node
// rampart-security keys create|list|rotate|revoke — manages API keys in the service's database.
// Configuration comes from the environment (this is the one file of the package allowed to read it):
//   DATABASE_URL (PostgreSQL) or RAMPART_DATA_DIR (PGlite directory), RAMPART_API_KEY_PEPPER, RAMPART_API_KEY_ENV.
import { parseArgs } from 'node:util';
import { createDb, migrate } from '@rampart/db';
import { checkKeySettings, createApiKeys } from './api-keys.ts';
import { isSecurityError } from './errors.ts';
import { migrationsFolder, migrationsTable } from './migrations-folder.ts';

const USAGE = `usage: rampart-security keys <command>
  create --name <name> [--scopes a,b] [--expires-in-days <n>]   prints the new key once
  list                                                          prints every key (never secrets)
  rotate <id> [--overlap-hours <n>]                             new key; the old one works for the overlap (24 h)
  revoke <id>
environment: DATABASE_URL or RAMPART_DATA_DIR, RAMPART_API_KEY_PEPPER, RAMPART_API_KEY_ENV (default live)
output: one JSON document on stdout`;

class UsageError extends Error {}

function positive(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new UsageError(`--${name} must be a positive number`);
  return number;
}

function parseOptions(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      scopes: { type: 'string' },
      'expires-in-days': { type: 'string' },
      'overlap-hours': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

async function main(argv: string[]): Promise<unknown> {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const [group, command, id] = positionals;
  if (values.help || group !== 'keys' || !command) throw new UsageError('');
  if (!['create', 'list', 'rotate', 'revoke'].includes(command))
    throw new UsageError(`unknown command ${command}`);
  if ((command === 'rotate' || command === 'revoke') && !id)
    throw new UsageError(`${command} needs a key id`);
  if (command === 'create' && !values.name) throw new UsageError('create needs --name');
  // Arguments are checked before the database is opened.
  const days = positive('expires-in-days', values['expires-in-days']);
  const hours = values['overlap-hours'] === '0' ? 0 : positive('overlap-hours', values['overlap-hours']);

  const url = process.env.DATABASE_URL || undefined;
  const dataDir = process.env.RAMPART_DATA_DIR || undefined;
  if (!url && !dataDir) throw new UsageError('set DATABASE_URL or RAMPART_DATA_DIR');
  const pepper = process.env.RAMPART_API_KEY_PEPPER;
  if (pepper === undefined || pepper === '') throw new UsageError('set RAMPART_API_KEY_PEPPER');
  const settings = {
    pepper,
    ...(process.env.RAMPART_API_KEY_ENV ? { env: process.env.RAMPART_API_KEY_ENV } : {}),
  };
  // Before the database opens: PGlite would create a data directory that does not exist yet.
  checkKeySettings(settings);
  const database = await createDb(url ? { url } : { dataDir: dataDir! });
  const keys = createApiKeys({ db: database.db, ...settings });
  try {
    await migrate(database, { migrationsFolder, migrationsTable });
    switch (command) {
      case 'create': {
        const scopes = (values.scopes ?? '')
          .split(',')
          .map((scope) => scope.trim())
          .filter(Boolean);
        return await keys.create({
          name: values.name!,
          scopes,
          ...(days ? { expiresAt: new Date(Date.now() + days * 86_400_000) } : {}),
        });
      }
      case 'list':
        return await keys.list();
      case 'rotate': {
        return await keys.rotate(
          id!,
          hours === undefined ? {} : { overlapMs: Math.round(hours * 3_600_000) },
        );
      }
      default:
        return await keys.revoke(id!);
    }
  } finally {
    await keys.close();
    await database.close();
  }
}

try {
  const output = await main(process.argv.slice(2));
  process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
} catch (error) {
  if (error instanceof UsageError) {
    if (error.message) console.error(`rampart-security: ${error.message}`);
    console.error(USAGE);
    process.exit(2);
  }
  const code = (error as { code?: unknown }).code;
  // Coded errors carry messages of our own; anything else is reported by class only.
  const message =
    isSecurityError(error) || (typeof code === 'string' && code.startsWith('RAMPART_'))
      ? `${code}: ${(error as Error).message}`
      : `unexpected ${(error as Error)?.name ?? 'error'}`;
  console.error(`rampart-security: ${message}`);
  process.exit(1);
}
