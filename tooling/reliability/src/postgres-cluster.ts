import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { POSTGRES_BIN } from './binaries.ts';
import { freePort } from './free-port.ts';

const run = promisify(execFile);

/** A private PostgreSQL 15 cluster: its own temp directory, a free port, 127.0.0.1 only. */
export interface PostgresCluster {
  readonly url: string;
  readonly port: number;
  /** `pg_ctl stop -m fast`: every connection is cut, as in a crash of the server process. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data directory. */
  start(): Promise<void>;
  /** Stops it (if running) and removes its directory. */
  destroy(): Promise<void>;
}

async function asPostgres(args: string[]): Promise<string> {
  const { stdout } = await run('runuser', ['-u', 'postgres', '--', ...args], { timeout: 60_000 });
  return stdout;
}

/**
 * initdb + pg_ctl run as the `postgres` user (the server refuses root). Never the shared server on 5432:
 * this one exists so a test may stop it.
 */
export async function startPostgresCluster(): Promise<PostgresCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'rampart-reliability-pg-'));
  const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
  const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
  chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  const port = await freePort();
  await asPostgres([`${POSTGRES_BIN}/initdb`, '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const options = [
    `-p ${port}`,
    '-c listen_addresses=127.0.0.1',
    `-c unix_socket_directories=${dir}`,
    '-c max_connections=60',
    // The writer is what gets killed, not this server: fsync off keeps a busy machine's disk out of it.
    '-c fsync=off',
  ].join(' ');
  let running = false;
  const cluster: PostgresCluster = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async start() {
      await asPostgres([
        `${POSTGRES_BIN}/pg_ctl`,
        '-D',
        data,
        '-l',
        join(dir, 'log'),
        '-o',
        options,
        '-w',
        'start',
      ]);
      running = true;
    },
    async stop() {
      await asPostgres([`${POSTGRES_BIN}/pg_ctl`, '-D', data, '-m', 'fast', '-w', 'stop']);
      running = false;
    },
    async destroy() {
      if (running) await cluster.stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await cluster.start();
  return cluster;
}
