#!/usr/bin/env node
// `pnpm keys create --name <name> --scopes items:read,items:write` (and list, rotate <id>, revoke <id>):
// manages this service's API keys with the same environment as the server (DATABASE_URL or DATA_DIR,
// API_KEY_PEPPER). Prints one JSON document; a new key's secret is shown once.
import { parseArgs } from 'node:util';
import { registerDrizzleImportHook } from '@rampart/db/import-hook';
import { DEVELOPMENT_PEPPER, EnvError, parseEnv } from './env.ts';

const USAGE = 'usage: pnpm keys create --name <name> [--scopes a,b] | list | rotate <id> | revoke <id>';

async function main(argv: string[]): Promise<unknown> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { name: { type: 'string' }, scopes: { type: 'string' } },
  });
  const [command, id] = positionals;
  if (command === 'create' && !values.name) throw new Error(`create needs --name\n${USAGE}`);
  if ((command === 'rotate' || command === 'revoke') && !id)
    throw new Error(`${command} needs a key id\n${USAGE}`);
  if (!['create', 'list', 'rotate', 'revoke'].includes(command ?? '')) throw new Error(USAGE);

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
  console.error(
    `orders keys: ${error instanceof EnvError || !code ? '' : `${code}: `}${message ?? String(error)}`,
  );
  process.exitCode = 1;
}
