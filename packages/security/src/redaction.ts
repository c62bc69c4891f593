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
  /** Object keys (bodies, log fields, span attributes) whose values are secrets, compared case-insensitively. */
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

/**
 * pino `redact.paths` for the list above, plus any `extraPaths` (e.g. `body.ssn`). Header names and keys are
 * emitted in bracket notation so dashes are legal.
 */
export function pinoRedactPaths(extraPaths: readonly string[] = []): string[] {
  const paths: string[] = [];
  for (const header of REDACTION_LIST.headers) {
    paths.push(`req.headers["${header}"]`, `res.headers["${header}"]`, `headers["${header}"]`);
  }
  for (const key of REDACTION_LIST.keys) paths.push(`["${key}"]`, `*["${key}"]`);
  return [...paths, ...extraPaths];
}

const SECRET_KEYS: ReadonlySet<string> = new Set([...REDACTION_LIST.headers, ...REDACTION_LIST.keys]);

/** True when a header, field or attribute with this name holds a secret. */
export function isSecretName(name: string): boolean {
  return SECRET_KEYS.has(name.toLowerCase());
}

/** Replaces API keys in free text and the values of secret query parameters in a URL or path. */
export function redactText(text: string): string {
  let out = text.replace(API_KEY_PATTERN, REDACTION_LIST.censor);
  const query = out.indexOf('?');
  if (query !== -1) {
    out =
      out.slice(0, query + 1) +
      out
        .slice(query + 1)
        .replace(/([^&=#]+)=([^&#]*)/g, (whole, name: string) =>
          isSecretName(safeDecode(name)) || /^(?:key|api-key)$/i.test(safeDecode(name))
            ? `${name}=${REDACTION_LIST.censor}`
            : whole,
        );
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

/**
 * A copy of a flat attribute bag (span attributes, log bindings) with secret names censored and API keys
 * scrubbed from string values: the filter a span processor applies before export.
 */
export function redactAttributes<T extends Record<string, unknown>>(attributes: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(attributes)) {
    const last = name.slice(name.lastIndexOf('.') + 1);
    if (isSecretName(last) || isSecretName(name)) out[name] = REDACTION_LIST.censor;
    else if (typeof value === 'string') out[name] = redactText(value);
    else out[name] = value;
  }
  return out as T;
}
