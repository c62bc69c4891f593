import { existsSync } from 'node:fs';

/** Where Debian's postgresql-15 package puts initdb and pg_ctl. */
export const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';

export interface BinaryCheck {
  /** True when every binary exists. */
  ok: boolean;
  /** The first missing one, for the skip or failure message. */
  missing?: string;
}

function which(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  return undefined;
}

/** initdb, pg_ctl and runuser (PostgreSQL refuses to run as root, so the cluster runs as `postgres`). */
export function checkPostgresBinaries(): BinaryCheck {
  for (const path of [`${POSTGRES_BIN}/initdb`, `${POSTGRES_BIN}/pg_ctl`]) {
    if (!existsSync(path)) return { ok: false, missing: path };
  }
  if (!which('runuser')) return { ok: false, missing: 'runuser' };
  return { ok: true };
}

export function checkRedisBinary(): BinaryCheck {
  return which('redis-server') ? { ok: true } : { ok: false, missing: 'redis-server' };
}
