import { randomBytes } from 'node:crypto';
import type { Database } from '@rampart/db';
import { asc, eq, sql } from 'drizzle-orm';
import {
  API_KEY_ENV_PATTERN,
  apiKeyIdAt,
  generateApiKey,
  type ParsedApiKey,
  parseApiKey,
} from './api-key-format.ts';
import type { ApiKeyVerifier, AuthenticatedKey } from './api-key-types.ts';
import { SecurityError } from './errors.ts';
import { createKeyedSha256 } from './keyed-sha256.ts';
import { type ApiKeyRow, apiKeys } from './schema.ts';

/** A key as listed: everything but the hash. */
export type ApiKeyRecord = Omit<ApiKeyRow, 'secretHash'>;

export interface ApiKeysOptions {
  // biome-ignore lint/suspicious/noExplicitAny: any drizzle schema; this module only touches its own table.
  db: Database<any>;
  /**
   * Secret mixed into every hash (HMAC-SHA256 key), from config: at least 32 characters, 8 of them distinct,
   * and not a short unit repeated (`openssl rand -base64 48` makes a good one).
   */
  pepper: string;
  /** The environment keys are issued for and accepted in (`live`, `test`...). Default `live`. */
  env?: string;
  /**
   * Verified keys kept in memory, and for how long (revocation elsewhere shows after at most this). Ids that
   * name no key are remembered as unknown for as long, in a second map of the same size, so a client retrying
   * an unknown key does not cost a database read each time (a key is never presented before it exists).
   */
  cacheSize?: number;
  cacheTtlMs?: number;
  /** Last-used times are written in one batch this often (and on close), not once per request. */
  lastUsedFlushMs?: number;
  /** Told about background failures (a last-used flush that failed); they never throw. */
  onError?: (error: Error) => void;
  now?: () => Date;
}

export const API_KEYS_DEFAULTS = {
  env: 'live',
  cacheSize: 1_000,
  cacheTtlMs: 10_000,
  lastUsedFlushMs: 30_000,
} as const;

export interface CreateApiKeyInput {
  name: string;
  scopes?: readonly string[];
  expiresAt?: Date;
}

export interface IssuedApiKey {
  /** The full key. Shown once: only its hash is stored. */
  key: string;
  record: ApiKeyRecord;
}

export interface ApiKeys extends ApiKeyVerifier {
  verifyCached(presented: string): AuthenticatedKey | null | undefined;
  create(input: CreateApiKeyInput): Promise<IssuedApiKey>;
  list(): Promise<ApiKeyRecord[]>;
  /** Issues a successor with the same name and scopes; the old key keeps working for `overlapMs`. */
  rotate(id: string, options?: { overlapMs?: number }): Promise<IssuedApiKey & { previous: ApiKeyRecord }>;
  revoke(id: string): Promise<ApiKeyRecord>;
  /** Writes pending last-used times now; resolves the number of keys written. */
  flushLastUsed(): Promise<number>;
  /** Stops the flush timer and writes what is pending. */
  close(): Promise<void>;
}

// Scopes are compared literally (no wildcards), so `*` is refused rather than stored meaning nothing.
const SCOPE = /^[A-Za-z0-9:._-]{1,64}$/;
/** The longest rotation overlap: a year (a longer one is a typo, and past about 10^15 ms a Date is invalid). */
const MAX_OVERLAP_MS = 365 * 24 * 60 * 60 * 1000;

/** Milliseconds from a monotonic clock: cache lifetimes neither stretch nor shrink when the wall clock steps. */
const monotonic = () => performance.now();

/** A database read in progress for one id, shared by every verify() that asks meanwhile. */
interface Loading {
  promise: Promise<Cached | undefined>;
  /** Set when the id is revoked or rotated meanwhile: the row read may predate that, so it is not cached. */
  stale: boolean;
}

interface Cached {
  row: ApiKeyRow;
  until: number;
  /** The stored hash as bytes (the decoy if the stored text is malformed). */
  digest: Buffer;
  /** What verify() answers for this row: frozen, so one caller cannot change what the next one sees. */
  key: AuthenticatedKey;
  /** The presented key that last matched `digest` (see `remembered`); unset until one has. */
  matched: string | undefined;
}

/** Whether two strings are equal, in a time that depends on their length but not on where they differ. */
function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let index = 0; index < a.length; index += 1) difference |= a.charCodeAt(index) ^ b.charCodeAt(index);
  return difference === 0;
}
const invalid = (detail: string) => new SecurityError('RAMPART_SECURITY_OPTIONS_INVALID', { detail });

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw invalid(`${name} must be a positive integer`);
  return value;
}

/**
 * A pepper with fewer distinct characters than this is no secret, whatever its length: `'a'.repeat(32)` passed
 * the length check. Random ones have far more (64 hex characters about 16, base64 about 40).
 */
const MIN_PEPPER_DISTINCT = 8;
const PEPPER_ADVICE = 'generate a random one with `openssl rand -base64 48`';

/**
 * The length of the shortest unit `text` is made of, written out again and again (the last copy may be cut
 * short): 3 for `abcabcab`, `text.length` for text that repeats nothing. From the longest proper prefix that
 * is also a suffix (Knuth-Morris-Pratt), in one pass.
 */
function shortestUnit(text: string): number {
  const border = new Int32Array(text.length);
  let length = 0;
  for (let index = 1; index < text.length; index += 1) {
    while (length > 0 && text[index] !== text[length]) length = border[length - 1]!;
    if (text[index] === text[length]) length += 1;
    border[index] = length;
  }
  return text.length - (border[text.length - 1] ?? 0);
}

function record(row: ApiKeyRow): ApiKeyRecord {
  const { secretHash: _hash, ...rest } = row;
  return rest;
}

/**
 * createApiKeys's checks of the pepper and the key environment, on their own: the keys CLI runs them before it
 * opens (or, on PGlite, creates) a database. Throws RAMPART_SECURITY_OPTIONS_INVALID.
 */
export function checkKeySettings(settings: { pepper: unknown; env?: string | undefined }): void {
  const { pepper, env = API_KEYS_DEFAULTS.env } = settings;
  if (typeof pepper !== 'string' || pepper.length < 32)
    throw invalid(`pepper must be at least 32 characters; ${PEPPER_ADVICE}`);
  // The messages never quote the pepper: they reach logs.
  const distinct = new Set(pepper).size;
  if (distinct < MIN_PEPPER_DISTINCT) {
    throw invalid(
      `pepper is too weak (${distinct} distinct characters, at least ${MIN_PEPPER_DISTINCT} needed); ${PEPPER_ADVICE}`,
    );
  }
  const unit = shortestUnit(pepper);
  if (unit * 2 <= pepper.length) {
    throw invalid(`pepper is too weak (a unit of ${unit} characters repeated); ${PEPPER_ADVICE}`);
  }
  if (!API_KEY_ENV_PATTERN.test(env)) throw invalid('env must be 1-16 lowercase letters or digits');
}

/**
 * Managed API keys in the `rampart_api_keys` table (apply `migrationsFolder` first): create, list, rotate with
 * overlap, revoke, and verify — a timing-safe comparison of fixed-length peppered hashes, with a small cache
 * and last-used times written in batches.
 *
 * @example
 * const keys = createApiKeys({ db, pepper: env.API_KEY_PEPPER });
 * const { key } = await keys.create({ name: 'billing', scopes: ['invoices:read'] });
 * await keys.verify(key); // { id, name, env: 'live', scopes: ['invoices:read'] }
 */
export function createApiKeys(options: ApiKeysOptions): ApiKeys {
  const settings = { ...API_KEYS_DEFAULTS, ...options };
  const { db, pepper } = settings;
  if (typeof (db as { select?: unknown } | undefined)?.select !== 'function') {
    throw invalid('db must be a drizzle database (createDb(...).db)');
  }
  checkKeySettings(settings);
  const cacheSize = positiveInteger('cacheSize', settings.cacheSize);
  const cacheTtlMs = positiveInteger('cacheTtlMs', settings.cacheTtlMs);
  const flushMs = positiveInteger('lastUsedFlushMs', settings.lastUsedFlushMs);
  const now = settings.now ?? (() => new Date());

  // HMAC-SHA256 keyed by the pepper (the same digests createHmac gives, so stored hashes stay valid).
  const hmac = createKeyedSha256(pepper);
  // Compared against when the id is unknown, so a miss costs the same as a wrong secret.
  const decoy = randomBytes(32);
  // A cached row carries its stored hash decoded and its identity built, so a hit allocates neither.
  const cache = new Map<string, Cached>();
  /** The id inserted last into `cache`: already in most-recently-used position. */
  let newest: string | undefined;
  /** Ids the database had no row for, until when (monotonic): oldest first, at most `cacheSize`. */
  const unknownIds = new Map<string, number>();
  /** Reads in progress, one per id. */
  const loading = new Map<string, Loading>();
  const pendingLastUsed = new Map<string, Date>();

  /** The id's cached row while fresh, moved to most-recently-used; no I/O. */
  function cached(id: string): Cached | undefined {
    const hit = cache.get(id);
    if (hit === undefined) return undefined;
    if (hit.until <= monotonic()) {
      // Expired: its remembered key text goes now, not when the row is next read or evicted.
      hit.matched = undefined;
      return undefined;
    }
    // Most recently used moves last; a Map re-insert costs about 0.24 µs (V8 rehashes the deleted slots),
    // so the key that is already last (one client's steady traffic) skips it. Order stays exact LRU.
    if (newest !== id) {
      cache.delete(id);
      cache.set(id, hit);
      newest = id;
    }
    return hit;
  }

  /** Whether the database recently had no row for this id (so verify answers without asking again). */
  function knownUnknown(id: string): boolean {
    const until = unknownIds.get(id);
    if (until === undefined) return false;
    if (until > monotonic()) return true;
    unknownIds.delete(id);
    return false;
  }

  /**
   * The id's row from the database, cached. Concurrent calls for one id share one read; a read that a
   * revoke() or rotate() of the id overtook answers its callers but caches nothing, so it cannot put the row
   * as it was before back in the cache.
   */
  function load(id: string): Promise<Cached | undefined> {
    const pending = loading.get(id);
    if (pending !== undefined) return pending.promise;
    const flight: Loading = { promise: Promise.resolve(undefined), stale: false };
    flight.promise = read(id, flight).finally(() => {
      if (loading.get(id) === flight) loading.delete(id);
    });
    loading.set(id, flight);
    return flight.promise;
  }

  async function read(id: string, flight: Loading): Promise<Cached | undefined> {
    const at = monotonic();
    const [row] = await db.select().from(apiKeys).where(eq(apiKeys.id, id)).limit(1);
    if (!row) {
      if (!flight.stale) {
        unknownIds.delete(id);
        unknownIds.set(id, at + cacheTtlMs);
        if (unknownIds.size > cacheSize) unknownIds.delete(unknownIds.keys().next().value as string);
      }
      return undefined;
    }
    const entry: Cached = {
      row,
      until: at + cacheTtlMs,
      digest: row.secretHash.length === 64 ? Buffer.from(row.secretHash, 'hex') : decoy,
      key: Object.freeze({
        id: row.id,
        name: row.name,
        env: row.env,
        scopes: Object.freeze([...row.scopes]),
      }),
      matched: undefined,
    };
    if (flight.stale) return entry;
    cache.delete(id);
    cache.set(id, entry);
    newest = id;
    while (cache.size > cacheSize) cache.delete(cache.keys().next().value as string);
    return entry;
  }

  /**
   * The cached row whose key was already verified as exactly `presented`, with no parse and no HMAC: a
   * client presents the same key on every request, and the two SHA-256 passes of the HMAC were the largest
   * cost of a cached verification (about 1.5-2 µs of 2.5 in bench/). The comparison takes the same time
   * wherever the texts differ, and as long when nothing is remembered (the presented text against itself),
   * so timing does not tell whether a key was used here lately; a key that does not match goes on to the
   * full check. The key's text stays in memory with its cached row, as it does in every request's headers:
   * dropped on revoke or rotate, and once the row expires at the latest `lastUsedFlushMs` after
   * `cacheTtlMs` (the flush timer sweeps expired rows). The pepper, which protects the stored hashes, is in
   * this process's memory anyway.
   */
  function remembered(presented: string): Cached | undefined {
    const id = apiKeyIdAt(presented);
    if (id === undefined) return undefined;
    const entry = cached(id);
    const matched = entry?.matched;
    const same = sameText(matched ?? presented, presented);
    return matched !== undefined && same ? entry : undefined;
  }

  /** Drops rows past their TTL, and with them any remembered key text; and unknown ids past theirs. */
  function sweep(): void {
    const at = monotonic();
    for (const [id, entry] of cache) {
      if (entry.until > at) continue;
      entry.matched = undefined;
      cache.delete(id);
      if (newest === id) newest = undefined;
    }
    for (const [id, until] of unknownIds) if (until <= at) unknownIds.delete(id);
  }

  /** After a revoke or rotate: the cached row goes, and a read in progress will not cache what it read. */
  function invalidate(id: string): void {
    const entry = cache.get(id);
    if (entry !== undefined) entry.matched = undefined;
    cache.delete(id);
    if (newest === id) newest = undefined;
    unknownIds.delete(id);
    const pending = loading.get(id);
    if (pending !== undefined) {
      pending.stale = true;
      loading.delete(id);
    }
  }

  /** Whether the key's row lets it in now (environment, revocation, expiry); counts the use if so. */
  function admit(env: string, entry: Cached): AuthenticatedKey | undefined {
    const { row } = entry;
    const at = now();
    if (row.env !== settings.env || env !== row.env) return undefined;
    if (row.revokedAt !== null || (row.expiresAt !== null && row.expiresAt <= at)) return undefined;
    pendingLastUsed.set(row.id, at);
    return entry.key;
  }

  /** verify()'s answer for a parsed key and its row (undefined: no such id); a miss costs one comparison too. */
  function check(
    presented: string,
    parsed: ParsedApiKey,
    entry: Cached | undefined,
  ): AuthenticatedKey | undefined {
    const matches = hmac.matches(parsed.secret, entry?.digest ?? decoy) && entry !== undefined;
    if (!matches || !entry) return undefined;
    const key = admit(parsed.env, entry);
    // Remembered only once it is let in: the same secret under another environment is refused each time.
    if (key !== undefined) entry.matched = presented;
    return key;
  }

  function validateCreate(input: CreateApiKeyInput): string[] {
    if (typeof input?.name !== 'string' || input.name.trim() === '' || input.name.length > 200) {
      throw invalid('name must be 1-200 characters');
    }
    // A string is iterable too: 'orders:read' would become one scope per character.
    if (input.scopes !== undefined && !Array.isArray(input.scopes)) {
      throw invalid('scopes must be an array of strings');
    }
    const scopes = [...(input.scopes ?? [])];
    for (const scope of scopes) {
      if (typeof scope !== 'string' || !SCOPE.test(scope)) {
        throw invalid(
          `scope ${JSON.stringify(String(scope)).slice(0, 80)} is not valid: 1-64 of A-Z a-z 0-9 : . _ - (compared literally, no wildcards)`,
        );
      }
    }
    if (input.expiresAt !== undefined && !(input.expiresAt instanceof Date && input.expiresAt > now())) {
      throw invalid('expiresAt must be a future date');
    }
    return [...new Set(scopes)];
  }

  async function insertKey(input: CreateApiKeyInput, scopes: string[], executor = db): Promise<IssuedApiKey> {
    const generated = generateApiKey(settings.env);
    const [row] = await executor
      .insert(apiKeys)
      .values({
        id: generated.id,
        name: input.name,
        env: settings.env,
        secretHash: hmac.hex(generated.secret),
        scopes,
        createdAt: now(),
        expiresAt: input.expiresAt ?? null,
      })
      .returning();
    unknownIds.delete(generated.id);
    return { key: generated.key, record: record(row!) };
  }

  async function flushLastUsed(): Promise<number> {
    if (pendingLastUsed.size === 0) return 0;
    const entries = [...pendingLastUsed];
    pendingLastUsed.clear();
    const values = sql.join(
      entries.map(([id, at]) => sql`(${id}::text, ${at.toISOString()}::timestamptz)`),
      sql`, `,
    );
    try {
      await db.execute(
        sql`update ${apiKeys} set last_used_at = greatest(coalesce(${apiKeys.lastUsedAt}, v.at), v.at)
            from (values ${values}) as v(id, at) where ${apiKeys.id} = v.id`,
      );
    } catch (error) {
      for (const [id, at] of entries) if (!pendingLastUsed.has(id)) pendingLastUsed.set(id, at);
      settings.onError?.(error as Error);
      return 0;
    }
    return entries.length;
  }

  const timer = setInterval(() => {
    sweep();
    void flushLastUsed();
  }, flushMs);
  timer.unref();

  return {
    verifyCached(presented) {
      if (typeof presented !== 'string') return null;
      const known = remembered(presented);
      if (known !== undefined) return admit(known.row.env, known) ?? null;
      const parsed = parseApiKey(presented);
      if (!parsed) return null;
      const entry = cached(parsed.id);
      if (entry === undefined && !knownUnknown(parsed.id)) return undefined;
      return check(presented, parsed, entry) ?? null;
    },

    async verify(presented) {
      if (typeof presented !== 'string') return undefined;
      const known = remembered(presented);
      if (known !== undefined) return admit(known.row.env, known);
      const parsed = parseApiKey(presented);
      if (!parsed) return undefined;
      const entry = cached(parsed.id);
      if (entry !== undefined || knownUnknown(parsed.id)) return check(presented, parsed, entry);
      return check(presented, parsed, await load(parsed.id));
    },

    async create(input) {
      return insertKey(input, validateCreate(input));
    },

    async list() {
      const rows = await db.select().from(apiKeys).orderBy(asc(apiKeys.createdAt), asc(apiKeys.id));
      return rows.map(record);
    },

    async rotate(id, rotateOptions = {}) {
      const overlapMs = rotateOptions.overlapMs ?? 24 * 60 * 60 * 1000;
      if (!Number.isInteger(overlapMs) || overlapMs < 0 || overlapMs > MAX_OVERLAP_MS) {
        throw invalid(`overlapMs must be an integer from 0 to ${MAX_OVERLAP_MS} (a year)`);
      }
      const result = await db.transaction(async (tx) => {
        const [old] = await tx.select().from(apiKeys).where(eq(apiKeys.id, id)).for('update');
        // A revoked or expired key cannot be rotated back to life.
        if (!old || old.revokedAt !== null || (old.expiresAt !== null && old.expiresAt <= now())) {
          throw new SecurityError('RAMPART_SECURITY_KEY_NOT_FOUND');
        }
        // The successor keeps the original expiry, if any: rotation changes the secret, not the policy.
        const issued = await insertKey(
          { name: old.name, ...(old.expiresAt ? { expiresAt: old.expiresAt } : {}) },
          old.scopes,
          tx as unknown as typeof db,
        );
        const overlapEnd = new Date(now().getTime() + overlapMs);
        const expiresAt = old.expiresAt !== null && old.expiresAt < overlapEnd ? old.expiresAt : overlapEnd;
        const [previous] = await tx
          .update(apiKeys)
          .set({ expiresAt, replacedBy: issued.record.id })
          .where(eq(apiKeys.id, id))
          .returning();
        return { ...issued, previous: record(previous!) };
      });
      invalidate(id);
      return result;
    },

    async revoke(id) {
      const [row] = await db
        .update(apiKeys)
        .set({ revokedAt: sql`coalesce(${apiKeys.revokedAt}, ${now().toISOString()}::timestamptz)` })
        .where(eq(apiKeys.id, id))
        .returning();
      invalidate(id);
      if (!row) throw new SecurityError('RAMPART_SECURITY_KEY_NOT_FOUND');
      return record(row);
    },

    flushLastUsed,

    async close() {
      clearInterval(timer);
      await flushLastUsed();
    },
  };
}
