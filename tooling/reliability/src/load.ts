import { Client } from 'undici';

/** One request of a load run; `index` counts from 0 across all connections. */
export interface LoadRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadResponse {
  request: LoadRequest;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  latencyMs: number;
}

export interface LoadOptions {
  /** http://127.0.0.1:<port>; anything else is refused (every target stays on this machine). */
  url: string;
  /** Keep-alive connections, each with one request in flight. */
  connections: number;
  /** Hard bound on wall time. */
  durationMs: number;
  /** Hard bound on requests sent (all connections together). */
  maxRequests: number;
  /**
   * Requests per second across all connections (each connection paces itself to its share). Without it
   * the loop is closed: as fast as the server answers, which saturates one Node process and so measures
   * load shedding rather than the fault under test.
   */
  ratePerSecond?: number;
  next(index: number): LoadRequest;
  onResponse?(response: LoadResponse): void;
  /** Ends the run early (e.g. once a fault has played out). */
  signal?: AbortSignal;
  /** Per-request headers and body timeout (default 10 s). */
  timeoutMs?: number;
}

export interface LoadFigures {
  requests: number;
  /** Answers by status code. */
  statuses: Record<number, number>;
  non2xx: number;
  /** Non-2xx answers by `<status> <problem code>` (the problem+json `code`, else its content type). */
  problems: Record<string, number>;
  /** Requests that got no answer: the connection was refused, reset or timed out. */
  errors: number;
  /** Those errors by kind (ECONNREFUSED, ECONNRESET, UND_ERR_SOCKET, ...). */
  errorKinds: Record<string, number>;
  latenciesMs: number[];
  elapsedMs: number;
}

function assertLocal(url: string): URL {
  const parsed = new URL(url);
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname)) {
    throw new Error(`load targets stay on this machine; refused ${url}`);
  }
  return parsed;
}

/**
 * A bounded undici loop: `connections` clients, each sending one request at a time until `durationMs`,
 * `maxRequests` or `signal` ends it. After a failed request a client waits 20 ms, so a dead server is not
 * hammered with refused connects.
 */
export async function runLoad(options: LoadOptions): Promise<LoadFigures> {
  const origin = assertLocal(options.url).origin;
  const timeout = options.timeoutMs ?? 10_000;
  const figures: LoadFigures = {
    requests: 0,
    statuses: {},
    non2xx: 0,
    problems: {},
    errors: 0,
    errorKinds: {},
    latenciesMs: [],
    elapsedMs: 0,
  };
  const started = performance.now();
  const deadline = started + options.durationMs;
  let sent = 0;
  const done = () =>
    sent >= options.maxRequests || performance.now() >= deadline || options.signal?.aborted === true;

  const gapMs = options.ratePerSecond ? (1_000 * options.connections) / options.ratePerSecond : 0;

  async function connection(slot: number): Promise<void> {
    // Connections start spread over one gap, so a paced run does not arrive in bursts.
    let due = performance.now() + (gapMs * slot) / options.connections;
    let client = new Client(origin, { pipelining: 1, headersTimeout: timeout, bodyTimeout: timeout });
    try {
      while (!done()) {
        if (gapMs > 0) {
          const wait = due - performance.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
          due = Math.max(due + gapMs, performance.now() - gapMs);
          if (done()) break;
        }
        const index = sent++;
        const request = options.next(index);
        const begun = performance.now();
        figures.requests++;
        try {
          const response = await client.request({
            method: request.method,
            path: request.path,
            headers: request.headers ?? {},
            body: request.body ?? null,
          });
          const body = await response.body.text();
          const latencyMs = performance.now() - begun;
          figures.latenciesMs.push(latencyMs);
          figures.statuses[response.statusCode] = (figures.statuses[response.statusCode] ?? 0) + 1;
          if (response.statusCode < 200 || response.statusCode > 299) {
            figures.non2xx++;
            const label = `${response.statusCode} ${problemCode(response.headers['content-type'], body)}`;
            figures.problems[label] = (figures.problems[label] ?? 0) + 1;
          }
          options.onResponse?.({
            request,
            status: response.statusCode,
            headers: response.headers,
            body,
            latencyMs,
          });
        } catch (error) {
          figures.errors++;
          const kind = String((error as { code?: unknown }).code ?? (error as Error).name);
          figures.errorKinds[kind] = (figures.errorKinds[kind] ?? 0) + 1;
          // A client whose socket broke is replaced, as a real client's pool would.
          await client.destroy().catch(() => undefined);
          client = new Client(origin, { pipelining: 1, headersTimeout: timeout, bodyTimeout: timeout });
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    } finally {
      await client.destroy().catch(() => undefined);
    }
  }

  await Promise.all(Array.from({ length: options.connections }, (_, slot) => connection(slot)));
  figures.elapsedMs = Math.round(performance.now() - started);
  return figures;
}

/** The `code` of a problem+json body, or what the body was instead. */
export function problemCode(contentType: string | string[] | undefined, body: string): string {
  const type = String(contentType ?? 'none').split(';')[0];
  if (type !== 'application/problem+json') return `(${type})`;
  try {
    return String((JSON.parse(body) as { code?: unknown }).code ?? '(no code)');
  } catch {
    return '(unparsable problem)';
  }
}

/** The q-quantile (0..1) of a list of numbers, nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
