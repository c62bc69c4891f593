import type { InjectOptions, LightMyRequestResponse } from 'fastify';

/** The members a Rampart problem body has (RFC 9457 plus `code`, `errors` and `requestId`). */
export const PROBLEM_MEMBERS: readonly string[] = [
  'type',
  'title',
  'status',
  'detail',
  'code',
  'errors',
  'requestId',
  'instance',
];

/** Keys that only an error object's internals would put in a body, at any depth. */
const INTERNAL_KEYS = new Set(['stack', 'stackTrace', 'cause', 'sql', 'errno', 'syscall']);

/** What gives away the server's insides in a body's text, each with the words a failure uses. */
const LEAKS: readonly [RegExp, string][] = [
  // A V8 stack frame: `at fn (/path/file.ts:12:3)`, `at /path/file.js:1:2`, `at async fn (file:///x.mjs:3:4)`.
  [
    /\bat (?:async )?(?:[^\s()"]+ )?\(?(?:file:\/\/)?(?:node:[\w/]+|[^\s()"]*[/\\][^\s()"]*):\d+:\d+\)?/,
    'a stack frame',
  ],
  [/node_modules/, 'a node_modules path'],
  [/file:\/\//, 'a file:// URL'],
  // An absolute path to a source file (a URL path in a problem body has no reason to end in .ts or .js).
  [/(?:^|[\s"'(=])(?:\/[\w.@+-]+){2,}\.(?:[cm]?[jt]sx?|json|node)\b/, 'an absolute file path'],
  [/(?:^|[\s"'(=])[A-Za-z]:\\[\w.@+-]+\\/, 'an absolute Windows path'],
];

export interface ErrorBodyOptions {
  /** Paths whose error answers are not problem bodies (readiness 503 is a health report): leaks only. */
  infrastructurePaths: readonly string[];
  /** Extension members allowed besides PROBLEM_MEMBERS. */
  problemExtensions: readonly string[];
  /** Strings no response may echo (the canary secret). */
  secrets?: readonly string[];
}

function internalKeys(root: unknown): string[] {
  const found = new Set<string>();
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value !== 'object' || value === null) continue;
    for (const [key, child] of Object.entries(value)) {
      if (INTERNAL_KEYS.has(key)) found.add(key);
      stack.push(child);
    }
  }
  return [...found];
}

function pathOf(request: InjectOptions): string {
  const url = typeof request.url === 'string' ? request.url : String(request.url ?? request.path ?? '/');
  return url.split('?')[0] ?? url;
}

/**
 * What is wrong with one error answer (status 400 or more), or an empty list: a stack trace, a file path,
 * an internal field or an echoed secret anywhere in it; and outside infrastructure paths, anything but a
 * problem+json body whose status matches, with a title, a stable `RAMPART_*` code and no unknown member.
 */
export function errorBodyProblems(
  request: InjectOptions,
  response: LightMyRequestResponse,
  options: ErrorBodyOptions,
): string[] {
  if (response.statusCode < 400) return [];
  const problems: string[] = [];
  const text = response.body;
  for (const [pattern, what] of LEAKS) {
    const match = pattern.exec(text);
    if (match) problems.push(`${what} (${JSON.stringify(match[0].trim().slice(0, 120))})`);
  }
  const cwd = process.cwd();
  if (cwd.length > 1 && text.includes(cwd)) problems.push(`the working directory ${cwd}`);
  for (const secret of options.secrets ?? []) {
    if (secret.length > 0 && text.includes(secret)) problems.push('the secret it was sent');
  }
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  const internal = internalKeys(body);
  if (internal.length > 0) problems.push(`internal field(s) ${internal.map((key) => `"${key}"`).join(', ')}`);
  if (options.infrastructurePaths.includes(pathOf(request))) return problems;

  const type = String(response.headers['content-type'] ?? '');
  if (!type.startsWith('application/problem+json'))
    problems.push(`content-type ${JSON.stringify(type || 'none')}, want application/problem+json`);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    problems.push('the body is not a JSON object');
    return problems;
  }
  const problem = body as Record<string, unknown>;
  if (problem.status !== response.statusCode)
    problems.push(`"status" is ${JSON.stringify(problem.status)}, not ${response.statusCode}`);
  if (typeof problem.title !== 'string' || problem.title === '') problems.push('no "title"');
  if (typeof problem.code !== 'string' || !/^RAMPART_[A-Z0-9_]+$/.test(problem.code))
    problems.push(`"code" is ${JSON.stringify(problem.code)}, want a stable RAMPART_* code`);
  const allowed = new Set([...PROBLEM_MEMBERS, ...options.problemExtensions]);
  const unknown = Object.keys(problem).filter((key) => !allowed.has(key) && !INTERNAL_KEYS.has(key));
  if (unknown.length > 0)
    problems.push(
      `unexpected member(s) ${unknown.map((key) => `"${key}"`).join(', ')} (allow extensions with problemExtensions)`,
    );
  return problems;
}

/** Every error answer a check provoked, judged by errorBodyProblems and reported once per kind of fault. */
export interface ErrorBodyWatch {
  inspect(request: InjectOptions, response: LightMyRequestResponse): void;
  /** How many error answers were inspected. */
  readonly inspected: number;
  /** One failure per (status, fault) with its first example and how many answers shared it. */
  failures(): string[];
}

const MAX_REPORTED = 8;

export function createErrorBodyWatch(options: ErrorBodyOptions): ErrorBodyWatch {
  const seen = new Map<string, { example: string; count: number }>();
  let inspected = 0;
  return {
    inspect(request, response) {
      if (response.statusCode < 400) return;
      inspected += 1;
      const problems = errorBodyProblems(request, response, options);
      if (problems.length === 0) return;
      const key = `${response.statusCode} ${problems.map((problem) => problem.replace(/ \(.*$/, '')).join('; ')}`;
      const entry = seen.get(key);
      if (entry) {
        entry.count += 1;
        return;
      }
      const method = String(request.method ?? 'GET').toUpperCase();
      seen.set(key, {
        example: `${response.statusCode} to ${method} ${pathOf(request)}: ${problems.join('; ')}; body ${JSON.stringify(response.body.slice(0, 160))}`,
        count: 1,
      });
    },
    get inspected() {
      return inspected;
    },
    failures() {
      const all = [...seen.values()];
      const lines = all
        .slice(0, MAX_REPORTED)
        .map(
          ({ example, count }) =>
            `error-body: ${example}${count > 1 ? ` (and ${count - 1} more answer(s) like it)` : ''}`,
        );
      if (all.length > MAX_REPORTED)
        lines.push(`error-body: ${all.length - MAX_REPORTED} more kind(s) of faulty error answer`);
      return lines;
    },
  };
}
