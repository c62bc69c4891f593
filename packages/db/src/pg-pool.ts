import pg from 'pg';
import { DbError } from './errors.ts';
import type { NormalizedDbConfig } from './options.ts';
import type { QueryReport } from './query-observer.ts';

/** The URL with its password masked, safe for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}

function checkUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new DbError('RAMPART_DB_URL_INVALID', { detail: 'not a URL', cause: error });
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new DbError('RAMPART_DB_URL_INVALID', {
      detail: `expected postgres:// or postgresql://, got ${parsed.protocol}//`,
    });
  }
  if (!parsed.hostname && !parsed.searchParams.has('host')) {
    throw new DbError('RAMPART_DB_URL_INVALID', { detail: 'no host' });
  }
  if (parsed.port !== '' && !(Number(parsed.port) > 0 && Number(parsed.port) < 65536)) {
    throw new DbError('RAMPART_DB_URL_INVALID', { detail: `bad port ${parsed.port}` });
  }
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  'EAI_AGAIN',
  // A write to a connection the server has just closed, a socket timed out by the kernel.
  'EPIPE',
  'ETIMEDOUT',
]);

/** The server ended the connection (admin shutdown, crash, starting up, class 08) or the socket closed. */
export function connectionLost(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (/^(57P0[123]|08...)$/.test(code) || UNREACHABLE.has(code))) return true;
  const message = error instanceof Error ? error.message : '';
  // The last: a client the pool ended after its connection failed, handed a statement in that same moment.
  return /Connection terminated|connection error and is not queryable|Client was closed and is not queryable/.test(
    message,
  );
}

/**
 * Calls node-postgres' `query` (a client's or the pool's) with `args`, its error, in the callback or the
 * promise form, passed through `map`. `start` runs as the statement is sent and returns what to run once
 * it has its answer. A submittable (cursor, stream) reports its own errors and may rightly stay open for
 * long: it passes through untouched.
 */
function mapQueryErrors(
  query: (...args: unknown[]) => unknown,
  args: unknown[],
  map: (error: unknown) => unknown,
  start?: () => () => void,
): unknown {
  const first = args[0] as { submit?: unknown } | null;
  if (typeof first === 'object' && first !== null && typeof first.submit === 'function')
    return query(...args);
  const settled = start?.();
  const last = args.length - 1;
  const callback = args[last];
  if (typeof callback === 'function') {
    args[last] = (error: unknown, result: unknown) => {
      settled?.();
      callback(error && map(error), result);
    };
    return query(...args);
  }
  return (query(...args) as Promise<unknown>).then(
    (value) => {
      settled?.();
      return value;
    },
    (error: unknown) => {
      settled?.();
      throw map(error);
    },
  );
}

/** Maps a connection failure of node-postgres to one of our codes; the URL's password never appears. */
export function connectError(error: unknown, url: string): DbError {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const where = redactUrl(url);
  if (code === '28P01' || code === '28000') {
    return new DbError('RAMPART_DB_AUTH_FAILED', { detail: where, cause: error });
  }
  if (typeof code === 'string' && UNREACHABLE.has(code)) {
    return new DbError('RAMPART_DB_UNREACHABLE', { detail: `${where} (${code})`, cause: error });
  }
  // The server is there but takes no connection now: starting up, shutting down, recovering (57P03), or
  // ending this one (57P01/57P02). A request meeting it should retry later, as for a server that is down.
  if (typeof code === 'string' && /^57P0[123]$/.test(code)) {
    const why = withoutPassword(message, url).replace(/\s+/g, ' ').trim().slice(0, 300);
    return new DbError('RAMPART_DB_UNREACHABLE', { detail: `${where} (${code}: ${why})`, cause: error });
  }
  if (/timeout/i.test(message)) {
    return new DbError('RAMPART_DB_CONNECT_TIMEOUT', { detail: where, cause: error });
  }
  if (/terminated|closed|ended/i.test(message)) {
    return new DbError('RAMPART_DB_UNREACHABLE', { detail: `${where} (connection closed)`, cause: error });
  }
  // The driver's or the server's own words say what to fix (a missing database, an SSL mode the server
  // refuses): kept, on one line, with the URL's password never in them.
  const why = withoutPassword(message, url).replace(/\s+/g, ' ').trim().slice(0, 300);
  const parts = [typeof code === 'string' ? code : '', why].filter(Boolean).join(': ');
  return new DbError('RAMPART_DB_OPEN_FAILED', {
    detail: `${where}${parts ? ` (${parts})` : ''}`,
    cause: error,
  });
}

/** `text` with the URL's password (as written and decoded) replaced by ***. */
function withoutPassword(text: string, url: string): string {
  let password = '';
  try {
    password = new URL(url).password;
  } catch {
    return text;
  }
  if (password === '') return text;
  let decoded = password;
  try {
    decoded = decodeURIComponent(password);
  } catch {}
  return text.replaceAll(password, '***').replaceAll(decoded, '***');
}

type QueryArgs = [unknown, ...unknown[]];

/** A node-postgres Client class whose every query reports to `report` (callback and promise styles). */
function observedClientClass(report: QueryReport): typeof pg.Client {
  const original = pg.Client.prototype.query as (...args: unknown[]) => unknown;
  class ObservedClient extends pg.Client {}
  Object.defineProperty(ObservedClient.prototype, 'query', {
    configurable: true,
    writable: true,
    value: function query(this: pg.Client, ...args: QueryArgs): unknown {
      const first = args[0] as { text?: unknown; submit?: unknown } | string;
      // Submittables (cursors, streams) report their own lifecycle; leave them alone.
      if (typeof first === 'object' && first !== null && typeof first.submit === 'function') {
        return original.apply(this, args);
      }
      const text = typeof first === 'string' ? first : typeof first?.text === 'string' ? first.text : '';
      const startedAt = performance.now();
      const last = args.length - 1;
      const callback = args[last];
      if (typeof callback === 'function') {
        args[last] = (error: unknown, result: unknown) => {
          report(text, startedAt, error ?? undefined);
          (callback as (error: unknown, result: unknown) => void)(error, result);
        };
        return original.apply(this, args);
      }
      return (original.apply(this, args) as Promise<unknown>).then(
        (result) => {
          report(text, startedAt);
          return result;
        },
        (error: unknown) => {
          report(text, startedAt, error);
          throw error;
        },
      );
    },
  });
  return ObservedClient;
}

/** The part of drizzle's node-postgres session (`db._.session`) that {@link releaseTransactionClients} uses. */
interface NodePgSessionLike {
  client: unknown;
  dialect: unknown;
  schema: unknown;
  options: unknown;
  transaction(work: (tx: unknown) => Promise<unknown>, config?: unknown): Promise<unknown>;
}

/**
 * drizzle's node-postgres session (0.45) checks a client out of the pool for `db.transaction()` and sends
 * `begin` outside its try/finally: when `begin` fails (the connection was lost while idle, a transaction
 * mode the server refuses) the client is never released. After `poolSize` of those every query waits out
 * the connect timeout and `close()` hangs. Here the pool's transactions check the client out themselves and
 * run drizzle's own transaction code on it, and always release it: destroyed unless it is back outside a
 * transaction on a live connection.
 */
export function releaseTransactionClients(session: NodePgSessionLike, pool: pg.Pool): void {
  const run = session.transaction;
  const Session = session.constructor as new (
    client: pg.PoolClient,
    dialect: unknown,
    schema: unknown,
    options: unknown,
  ) => NodePgSessionLike;
  session.transaction = async (work, config) => {
    const client = await pool.connect();
    let clean = false;
    try {
      // On a single client (not a pool) drizzle's code runs begin/commit/rollback and leaves release to us.
      const result = await run.call(
        new Session(client, session.dialect, session.schema, session.options),
        work,
        config,
      );
      clean = client.getTransactionStatus() === 'I';
      return result;
    } catch (error) {
      clean = client.getTransactionStatus() === 'I';
      throw error;
    } finally {
      client.release(clean ? undefined : true);
    }
  };
}

export interface OpenedPool {
  pool: pg.Pool;
  close(): Promise<void>;
}

/**
 * Creates the pool and proves one connection works within the connect timeout, so a bad URL, wrong
 * credentials or a dead server fail start-up with a coded error instead of the first request hanging.
 */
export async function openPool(
  config: NormalizedDbConfig<Record<string, unknown>> & { url: string },
  report: QueryReport | undefined,
): Promise<OpenedPool> {
  checkUrl(config.url);
  const poolConfig: pg.PoolConfig = {
    connectionString: config.url,
    max: config.poolSize,
    connectionTimeoutMillis: config.connectTimeoutMs,
    idleTimeoutMillis: config.idleTimeoutMs,
    application_name: config.applicationName,
    allowExitOnIdle: true,
  };
  if (config.statementTimeoutMs > 0) poolConfig.statement_timeout = config.statementTimeoutMs;
  if (config.searchPath !== undefined) poolConfig.options = `-c search_path=${config.searchPath}`;
  if (report) poolConfig.Client = observedClientClass(report);

  let pool: pg.Pool;
  try {
    pool = new pg.Pool(poolConfig);
  } catch (error) {
    throw new DbError('RAMPART_DB_URL_INVALID', { detail: redactUrl(config.url), cause: error });
  }
  pool.on('error', (error) => config.onError(error));
  // node-postgres listens for errors only on idle clients. A checked-out one (between two statements of a
  // transaction) whose server ends the connection -- a shutdown, a failover, pg_terminate_backend -- emits
  // 'error' with no listener, and the process dies. Its next query fails anyway, and release() drops it.
  const checkedOut = (error: Error) => config.onError(error);
  pool.on('acquire', (client) => client.on('error', checkedOut));
  pool.on('release', (_error, client) => client.removeListener('error', checkedOut));

  // A connection the pool cannot open (the server is down or restarting) fails with our coded 503s, not the
  // driver's error: a request that needed it can then answer "retry later". pool.query() connects through
  // this too. Errors of statements on an open connection pass through as they are.
  const connect = pool.connect.bind(pool) as (
    callback: (error: Error | undefined, client?: pg.PoolClient, done?: (release?: unknown) => void) => void,
  ) => void;
  const coded = (error: unknown) => (error instanceof DbError ? error : connectError(error, config.url));
  pool.connect = ((callback?: (error: Error | undefined, client?: pg.PoolClient, done?: unknown) => void) => {
    if (callback) return connect((error, client, done) => callback(error && coded(error), client, done));
    return new Promise<pg.PoolClient>((resolve, reject) =>
      connect((error, client) => (error ? reject(coded(error)) : resolve(client!))),
    );
  }) as typeof pool.connect;

  // The same for a statement whose connection the server ends under it (shutdown, failover, restart): the
  // statement did not fail, the database went away. Every other error passes through as it is.
  // statement_timeout is the server's: a connection that stopped answering (a dropped route, a NAT or
  // firewall that forgot it, a frozen server) would leave its statement, and close(), waiting for ever. A
  // statement still unanswered when the server would have cancelled it, plus the connect timeout for the
  // network, means the connection is dead: it is destroyed, and the statement fails as connection lost.
  const answerWithinMs =
    config.statementTimeoutMs > 0 ? config.statementTimeoutMs + config.connectTimeoutMs : 0;
  const mapped = (error: unknown) =>
    !(error instanceof DbError) && connectionLost(error)
      ? new DbError('RAMPART_DB_UNREACHABLE', {
          detail: `${redactUrl(config.url)} (connection lost)`,
          cause: error,
        })
      : error;
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    const deadline = (): NodeJS.Timeout | undefined => {
      if (answerWithinMs === 0) return undefined;
      const timer = setTimeout(() => {
        // Every statement of the connection, and its 'error' event (which pool.query passes on), get this.
        const stream = (client as unknown as { connection: { stream: { destroy(error: Error): void } } })
          .connection.stream;
        stream.destroy(
          new DbError('RAMPART_DB_UNREACHABLE', {
            detail: `${redactUrl(config.url)} (no answer within ${answerWithinMs} ms, statementTimeoutMs + connectTimeoutMs: the connection was dropped)`,
          }),
        );
      }, answerWithinMs);
      timer.unref();
      return timer;
    };
    client.query = ((...args: unknown[]) =>
      mapQueryErrors(query, args, mapped, () => {
        const timer = deadline();
        return () => clearTimeout(timer);
      })) as typeof client.query;
  });

  // pool.query() listens for its client's 'error' event as well as for the statement's answer, and passes
  // on whichever comes first. A connection that ends without the server's goodbye (a crash, a reset, a
  // proxy or a network cut) emits 'error' at once and fails the statement a tick later, so the statement's
  // mapping above never saw it: the request answered 500 with "Connection terminated unexpectedly".
  const poolQuery = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  pool.query = ((...args: unknown[]) => mapQueryErrors(poolQuery, args, mapped)) as typeof pool.query;

  let ended: Promise<void> | undefined;
  const close = (): Promise<void> => {
    ended ??= pool.end().catch(() => {});
    return ended;
  };

  // Belt and braces: connectionTimeoutMillis covers the TCP and auth phases, this timer covers anything
  // else (a DNS lookup that never answers), so start-up is bounded by the connect timeout.
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new DbError('RAMPART_DB_CONNECT_TIMEOUT', { detail: redactUrl(config.url) })),
      config.connectTimeoutMs + 250,
    );
    timer.unref();
  });
  const connecting = pool.connect();
  try {
    const client = await Promise.race([connecting, deadline]);
    client.release();
  } catch (error) {
    // A connection that arrives after the deadline is destroyed rather than leaked in the pool.
    connecting.then(
      (late) => late.release(true),
      () => {},
    );
    void close();
    throw error instanceof DbError ? error : connectError(error, config.url);
  } finally {
    clearTimeout(timer);
  }
  return { pool, close };
}
