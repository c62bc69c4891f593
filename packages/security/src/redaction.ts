/**
 * The one list of what must never be logged or put on a span. @rampart/observability takes it (through the
 * app) for pino's `redact` paths and span attribute filtering; nothing else keeps its own copy.
 */
export const REDACTION_LIST = Object.freeze({
  /** Request and response headers whose values are secrets (lowercase). */
  headers: Object.freeze([
    'authorization',
    'proxy-authorization',
    'x-api-key',
    'cookie',
    'set-cookie',
    'x-webhook-signature',
  ]),
  /**
   * Object keys (bodies, log fields, span attributes) whose values are secrets. A name matches whatever its
   * case and whether its words are joined or split by `_` or `-`: `apiKey`, `API_KEY`, `api-key`, `ApiKey`.
   */
  keys: Object.freeze([
    'password',
    'secret',
    'token',
    'apikey',
    'api_key',
    'accesstoken',
    'access_token',
    'refreshtoken',
    'refresh_token',
    'clientsecret',
    'client_secret',
    'pepper',
    'privatekey',
    'private_key',
  ]),
  /** What a redacted value is replaced with. */
  censor: '[REDACTED]',
});

/** Matches a Rampart API key anywhere in free text (URLs, messages): `rk_<env>_<id>_<secret>`. */
export const API_KEY_PATTERN = /rk_[a-z0-9]{1,16}_[A-Za-z0-9]{8,64}_[A-Za-z0-9_-]{16,128}/g;

/** A name as compared: lowercase, without the `_` and `-` that split its words. */
function normalized(name: string): string {
  const lower = name.toLowerCase();
  return lower.includes('_') || lower.includes('-') ? lower.replace(/[-_]/g, '') : lower;
}

const SECRET_NAMES: ReadonlySet<string> = new Set(
  [...REDACTION_LIST.headers, ...REDACTION_LIST.keys].map(normalized),
);

/** Each name of the list split into its words (`api_key` → api, key; `x-api-key` → x, api, key), once. */
function wordsOf(names: readonly string[], separator: string): string[][] {
  const split = names.filter((name) => name.includes(separator)).map((name) => name.split(separator));
  const joined = new Set(split.map((words) => words.join('')));
  return [
    ...split,
    ...names.filter((name) => !name.includes(separator) && !joined.has(name)).map((n) => [n]),
  ];
}

const capitalised = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);

/**
 * The ways code and wire formats spell a name: `password`, `Password`, `PASSWORD`; `apikey`, `apiKey`, `ApiKey`,
 * `APIKEY`, `api_key`, `API_KEY`, `api-key`, `Api-Key`, `API-KEY`. pino's paths match exactly, so each is a
 * path of its own.
 */
function spellings(words: readonly string[]): string[] {
  const out = new Set<string>();
  for (const separator of words.length > 1 ? ['', '_', '-'] : ['']) {
    out.add(words.join(separator));
    out.add(words.join(separator).toUpperCase());
    out.add(words.map(capitalised).join(separator));
  }
  if (words.length > 1) out.add(words[0] + words.slice(1).map(capitalised).join(''));
  return [...out];
}

/** Every spelling of every secret key, and of every secret header (lowercase as Node gives them, and as sent). */
const KEY_SPELLINGS: readonly string[] = wordsOf(REDACTION_LIST.keys, '_').flatMap(spellings);
const HEADER_SPELLINGS: readonly string[] = wordsOf(REDACTION_LIST.headers, '-').flatMap((words) => {
  const lower = words.join('-');
  return [...new Set([lower, words.map(capitalised).join('-'), lower.toUpperCase()])];
});
const EXACT_NAMES: ReadonlySet<string> = new Set([...KEY_SPELLINGS, ...HEADER_SPELLINGS]);

/**
 * pino `redact.paths` for the list above, plus any `extraPaths` (e.g. `body.ssn`), in bracket notation so
 * dashes are legal. pino matches a path exactly (case included) and a wildcard reaches one level, so this
 * lists every spelling of each secret key (`password`, `Password`, `apiKey`, `API_KEY`, `api-key`...) at the
 * top of a line and one level down (`{ apiKey }`, `{ body: { Password } }`), and each secret header in
 * lowercase, Title-Case and UPPERCASE under `req.headers`, `res.headers` and `headers`. Top-level spellings
 * cost nothing on lines without them; the one-level wildcards cost about 12 µs on a line that logs an
 * object field, and nothing on one that logs numbers and strings only (the access line), and deeper values
 * (`{ body: { user: { password } } }`, arrays of objects) are out of their reach: each wildcard level more
 * would cost about 30 µs on every line that logs an object.
 *
 * With `{ nested: false }` the wildcards are left out, for a logger that passes every object it writes
 * through `redactSecrets` instead (@rampart/observability's `createLogger({ redactValue: redactSecrets })`):
 * that reaches any depth, arrays and strings included, for less than the wildcards cost.
 */
export function pinoRedactPaths(
  extraPaths: readonly string[] = [],
  options: { nested?: boolean } = {},
): string[] {
  const nested = options.nested ?? true;
  if (typeof nested !== 'boolean') {
    throw new TypeError('pinoRedactPaths: nested must be true or false');
  }
  const paths: string[] = [];
  for (const header of HEADER_SPELLINGS) {
    paths.push(`req.headers["${header}"]`, `res.headers["${header}"]`, `headers["${header}"]`);
  }
  for (const key of KEY_SPELLINGS) {
    paths.push(`["${key}"]`);
    if (nested) paths.push(`*["${key}"]`);
  }
  return [...paths, ...extraPaths];
}

/**
 * True when a header, field or attribute with this name holds a secret: a name of the list in any case, its
 * words joined or split by `_` or `-` (`apiKey`, `API_KEY`, `access-token`, `X-Api-Key`).
 */
export function isSecretName(name: string): boolean {
  if (EXACT_NAMES.has(name)) return true;
  // Names repeat (every log line and span carries the same few), so each answer is kept: a Map read instead
  // of a lowercase copy and a replace per name. Bounded: cleared when full.
  let verdict = VERDICTS.get(name);
  if (verdict === undefined) {
    verdict = SECRET_NAMES.has(normalized(name));
    if (VERDICTS.size >= MAX_VERDICTS) VERDICTS.clear();
    VERDICTS.set(name, verdict);
  }
  return verdict;
}

const VERDICTS = new Map<string, boolean>();
const MAX_VERDICTS = 4096;

/** Query parameters the auth plugin treats as a key, though the list does not name them on their own. */
const KEY_PARAMETER = /^(?:key|api-?key)$/i;
/** `scheme://user:password@`: the password part of a URL's userinfo. */
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/[^\s/?#@:]*):([^\s/?#@]*)@/gi;

/**
 * Replaces API keys in free text, the password in a URL's userinfo (`postgres://app:[REDACTED]@db/app`) and
 * the values of secret query parameters in a URL or path.
 */
export function redactText(text: string): string {
  let out = text.includes('rk_') ? text.replace(API_KEY_PATTERN, REDACTION_LIST.censor) : text;
  if (out.includes('@') && out.includes('://')) out = out.replace(USERINFO, `$1:${REDACTION_LIST.censor}@`);
  const query = out.indexOf('?');
  if (query !== -1) {
    out =
      out.slice(0, query + 1) +
      out.slice(query + 1).replace(/([^&=#]+)=([^&#]*)/g, (whole, name: string) => {
        const decoded = safeDecode(name);
        return isSecretName(decoded) || KEY_PARAMETER.test(decoded)
          ? `${name}=${REDACTION_LIST.censor}`
          : whole;
      });
  }
  return out;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** What `redactSecrets` leaves where an object refers back to one that contains it. */
const CIRCULAR = '[Circular]';

/** How deep `redactSecrets` walks; anything deeper is censored whole rather than left unread. */
const MAX_DEPTH = 64;

/** Objects whose contents live in internal slots, which a copy would lose: passed through as they are. */
function opaque(value: object): boolean {
  return (
    ArrayBuffer.isView(value) ||
    value instanceof Date ||
    value instanceof RegExp ||
    value instanceof Map ||
    value instanceof Set ||
    value instanceof ArrayBuffer ||
    value instanceof Promise ||
    value instanceof WeakMap ||
    value instanceof WeakSet
  );
}

/** `value` with secrets censored, or `value` itself (same reference) when it holds none. */
function scrub(value: unknown, depth: number, ancestors: object[]): unknown {
  if (typeof value === 'string') return redactText(value);
  if (typeof value !== 'object' || value === null || opaque(value)) return value;
  if (depth >= MAX_DEPTH) return REDACTION_LIST.censor;
  // A cycle: the object is being walked already, further up. Not kept as it is: a copy of an ancestor would
  // then lead back to the original, secrets and all (a serializer prints the original's fields once more
  // before it meets the cycle), so it is written the way pino's serializer writes one.
  if (ancestors.includes(value)) return CIRCULAR;
  ancestors.push(value);
  let copy: Record<string | number, unknown> | unknown[] | undefined;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index += 1) {
      const item = value[index];
      const clean = scrub(item, depth + 1, ancestors);
      if (clean !== item) {
        copy ??= value.slice();
        (copy as unknown[])[index] = clean;
      }
    }
  } else {
    const error = value instanceof Error;
    // An Error's message and stack are its own but not enumerable: read them too, and keep them on a copy.
    const names = error ? [...Object.keys(value), 'message', 'stack'] : Object.keys(value);
    for (const name of names) {
      const item = (value as Record<string, unknown>)[name];
      const clean =
        item !== undefined && typeof item !== 'function' && isSecretName(name)
          ? REDACTION_LIST.censor
          : scrub(item, depth + 1, ancestors);
      if (clean !== item) {
        if (copy === undefined) {
          copy = Object.assign(Object.create(Object.getPrototypeOf(value)), value) as Record<string, unknown>;
          if (error) Object.assign(copy, { message: value.message, stack: value.stack, name: value.name });
        }
        (copy as Record<string, unknown>)[name] = clean;
      }
    }
  }
  ancestors.pop();
  return copy ?? value;
}

/**
 * A copy of `value` with every secret censored, at any depth: properties with a secret name (any case or
 * spelling, see `isSecretName`), in objects, arrays and Errors alike, and API keys, URL passwords and secret
 * query parameters inside strings (`redactText`). Only the objects on the way to a change are copied; the
 * input is never modified, and one without secrets comes back as the same reference. Dates, Maps, Sets,
 * Buffers and other objects with internal state are passed through unread; a reference back to an object
 * that contains it (a cycle) becomes `'[Circular]'`, as pino writes one.
 * Use it on what you log or export when it can nest deeper than pino's paths reach (`pinoRedactPaths`).
 */
export function redactSecrets<T>(value: T): T {
  return scrub(value, 0, []) as T;
}

/**
 * The options @rampart/observability's `createLogger` takes to keep every secret of the list out of log
 * lines: `redact`, pino paths for the top of a line and the secret headers (`pinoRedactPaths(extraPaths,
 * { nested: false })`), and `redactValue: redactSecrets` for every object a line writes, at any depth.
 * About 2 µs a line that logs an object, against about 25 µs for pino's one-level wildcards, which miss
 * `{ body: { user: { password } } }`.
 *
 * @example
 * const logger = createLogger({ service: 'orders', ...logRedaction(DEFAULT_REDACT_PATHS) });
 */
export function logRedaction(extraPaths: readonly string[] = []): {
  redact: string[];
  redactValue: <T>(value: T) => T;
} {
  return { redact: [...new Set(pinoRedactPaths(extraPaths, { nested: false }))], redactValue: redactSecrets };
}

/**
 * A copy of an attribute bag (span attributes, log bindings) with secret names censored (the whole dotted
 * name or its last segment) and API keys scrubbed from string values, arrays of strings included, and from
 * nested values: the filter a span processor applies before export.
 */
export function redactAttributes<T extends Record<string, unknown>>(attributes: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(attributes)) {
    const last = name.slice(name.lastIndexOf('.') + 1);
    if (isSecretName(last) || isSecretName(name)) out[name] = REDACTION_LIST.censor;
    else if (typeof value === 'string') out[name] = redactText(value);
    else out[name] = redactSecrets(value);
  }
  return out as T;
}
