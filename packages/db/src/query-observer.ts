/** One executed statement, as reported to a {@link QueryObserver}. Never carries parameter values. */
export interface QueryEvent {
  system: 'pglite' | 'postgresql';
  /** The statement's first keyword, lowercased: 'select' | 'insert' | 'update' | 'delete' | 'other' ... */
  operation: string;
  /** Statement text with placeholders, never parameter values. */
  sql: string;
  durationMs: number;
  ok: boolean;
  /** durationMs >= the configured slowQueryMs. */
  slow: boolean;
  error?: Error;
}

/** Receives every query's duration and outcome (implemented by @rampart/observability). */
export interface QueryObserver {
  onQuery(event: QueryEvent): void;
}

const KNOWN_OPERATIONS = new Set([
  'select',
  'insert',
  'update',
  'delete',
  'with',
  'begin',
  'commit',
  'rollback',
  'savepoint',
  'release',
  'create',
  'alter',
  'drop',
  'truncate',
  'set',
  'show',
  'copy',
  'lock',
  'grant',
  'revoke',
  'do',
  'explain',
  'listen',
  'notify',
  'unlisten',
  'vacuum',
  'analyze',
  'start',
  'end',
]);

/** The lowercase first keyword of a statement, skipping comments; 'other' when it is not a known verb. */
export function operationOf(sql: string): string {
  const stripped = sql.replace(/^(\s+|--[^\n]*\n?|\/\*[\s\S]*?\*\/)+/, '');
  const word = /^[a-z]+/i.exec(stripped)?.[0]?.toLowerCase();
  return word !== undefined && KNOWN_OPERATIONS.has(word) ? word : 'other';
}

/** Reports one finished statement; an observer that throws never breaks the query. */
export type QueryReport = (sql: string, startedAt: number, error?: unknown) => void;

export function createQueryReport(
  system: QueryEvent['system'],
  observer: QueryObserver | undefined,
  slowQueryMs: number,
): QueryReport | undefined {
  if (!observer) return undefined;
  return (sql, startedAt, error) => {
    const durationMs = performance.now() - startedAt;
    const event: QueryEvent = {
      system,
      operation: operationOf(sql),
      sql,
      durationMs,
      ok: error === undefined,
      slow: durationMs >= slowQueryMs,
    };
    if (error !== undefined) event.error = error instanceof Error ? error : new Error(String(error));
    try {
      observer.onQuery(event);
    } catch {
      // An observer bug must not turn a successful query into a failure.
    }
  };
}

/** Runs `run` and reports its duration and outcome (a no-op wrapper when nobody observes). */
export async function observed<T>(
  report: QueryReport | undefined,
  sql: string,
  run: () => Promise<T>,
): Promise<T> {
  if (!report) return run();
  const startedAt = performance.now();
  try {
    const result = await run();
    report(sql, startedAt);
    return result;
  } catch (error) {
    report(sql, startedAt, error);
    throw error;
  }
}
