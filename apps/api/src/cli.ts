#!/usr/bin/env node
// `pnpm keys create --name <name> --scopes items:read,items:write` (and list, rotate <id>, revoke <id>):
// manages this service's API keys with the same environment as the server (DATABASE_URL or DATA_DIR,
// API_KEY_PEPPER). Prints one JSON document; a new key's secret is shown once.
import { parseArgs } from 'node:util';
import { registerDrizzleImportHook } from '@rampart/db/import-hook';
import { DEVELOPMENT_PEPPER, EnvError, parseEnv } from './env.ts';

const USAGE = 'usage: pnpm keys create --name <name> [--scopes a,b] | list | rotate <id> | revoke <id>';

/** A mistake in the command line: exit 2 with the usage, before anything opens the database. */
class UsageError extends Error {}

function parse(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: { name: { type: 'string' }, scopes: { type: 'string' } },
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n${USAGE}`);
  }
}

async function main(argv: string[]): Promise<unknown> {
  const { values, positionals } = parse(argv);
  const [command, id] = positionals;
  if (!['create', 'list', 'rotate', 'revoke'].includes(command ?? '')) throw new UsageError(USAGE);
  if (command === 'create' && !values.name) throw new UsageError(`create needs --name\n${USAGE}`);
  if ((command === 'rotate' || command === 'revoke') && !id)
    throw new UsageError(`${command} needs a key id\n${USAGE}`);
  if (positionals.length > (command === 'rotate' || command === 'revoke' ? 2 : 1)) {
    throw new UsageError(`too many arguments\n${USAGE}`);
  }

  const env = parseEnv(process.env);
  // drizzle-orm loads several times faster through this hook (see src/server.ts), so the database code
  // is imported after it.
  registerDrizzleImportHook();
  const { createApiKeys } = await import('@rampart/security');
  const { openDatabase } = await import('./database.ts');
  const database = await openDatabase(env);
  const keys = createApiKeys({ db: database.db, pepper: env.API_KEY_PEPPER ?? DEVELOPMENT_PEPPER });
  try {
    if (command === 'create') {
      const scopes = (values.scopes ?? '').split(',').filter(Boolean);
      return await keys.create({ name: values.name!, scopes });
    }
    if (command === 'list') return await keys.list();
    if (command === 'rotate') return await keys.rotate(id!);
    return await keys.revoke(id!);
  } finally {
    await keys.close();
    await database.close();
  }
}

try {
  process.stdout.write(`${JSON.stringify(await main(process.argv.slice(2)), null, 2)}\n`);
} catch (error) {
  const { code, message } = error as { code?: string; message?: string };
  const coded = !(error instanceof EnvError || error instanceof UsageError) && code;
  console.error(`api keys: ${coded ? `${code}: ` : ''}${message ?? String(error)}`);
  process.exitCode = error instanceof UsageError ? 2 : 1;
}
