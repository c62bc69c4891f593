import pino, { type Logger } from 'pino';

// pino's path syntax: dotted names and bracketed (optionally quoted) names.
const SEGMENT = /[^.[\]]+|\[([^[\]]*?)\]/g;

function segments(path: string): string[] {
  const out: string[] = [];
  SEGMENT.lastIndex = 0;
  for (let match = SEGMENT.exec(path); match !== null; match = SEGMENT.exec(path)) {
    out.push((match[1] ?? match[0]).replace(/^(["'`])(.*)\1$/, '$2'));
  }
  return out;
}

/**
 * Whether the list has a path like `*.password`: a wildcard first segment and more after it. Those are the
 * paths for which pino runs a redactor on every value of a line; a lone `*` (censor every top-level value)
 * is another matter and leaves pino alone.
 */
export function hasNestedWildcard(paths: readonly string[]): boolean {
  let nested = false;
  for (const path of paths) {
    const parts = segments(path);
    if (parts[0] !== '*') continue;
    if (parts.length === 1) return false;
    nested = true;
  }
  return nested;
}

type Stringify = (value: unknown, safe?: unknown) => string;

/** What `createLogger`'s `redactValue` is: a censored copy of an object (or the object itself). */
export type ValueRedactor = (value: object) => unknown;

/** pino's internals this file reads; undefined when this pino version keeps its state elsewhere. */
function stringifierState(
  logger: Logger,
): { stringifiers: Record<string | symbol, unknown>; stringify: Stringify; wildcard: symbol } | undefined {
  const symbols = pino.symbols as unknown as Record<string, symbol>;
  const state = logger as unknown as Record<symbol, unknown>;
  const stringifiers = state[symbols.stringifiersSym as symbol] as
    | Record<string | symbol, unknown>
    | undefined;
  const stringify = state[symbols.stringifySym as symbol];
  const wildcard = symbols.wildcardFirstSym;
  if (typeof stringifiers !== 'object' || stringifiers === null) return undefined;
  if (typeof stringify !== 'function' || typeof wildcard !== 'symbol') return undefined;
  return { stringifiers, stringify: stringify as Stringify, wildcard };
}

/**
 * Installs the logger's stringifiers. pino serializes each value of a line (and of a child's bindings)
 * with the stringifier of its key, or the wildcard one, or plain JSON:
 *
 * - A path like `*.password` makes pino run its redactor on every value of every line (and of every child
 *   logger's bindings), numbers and strings included, and that redactor parses each path again on each
 *   call: with the security package's list (`*.password` and 13 more) that was about 28 µs a request in
 *   bench/, for an access line whose values are all numbers and strings. A number or string has no keys to
 *   censor, so only objects go through pino's redactor and the rest is serialized the way that redactor
 *   would have (pino's stringify): the output is the same byte for byte.
 * - `redactValue` (createLogger's option) gets every object value, after pino's serializers and before
 *   pino's path redaction, and what it returns is written instead: `redactSecrets` censors secrets at any
 *   depth, which pino's paths cannot (each wildcard level costs about 30 µs a line).
 *
 * Installed on the root logger's stringifiers, which its children share; a child given its own `redact`
 * keeps pino's. Returns false, having changed nothing, when this pino version keeps its state elsewhere.
 */
export function installStringifiers(
  logger: Logger,
  options: { nestedWildcard: boolean; redactValue: ValueRedactor | undefined },
): boolean {
  const found = stringifierState(logger);
  if (found === undefined) return false;
  const { stringifiers, stringify, wildcard } = found;
  const { redactValue } = options;
  const redact = stringifiers[wildcard];
  if (redact !== undefined && typeof redact !== 'function') return false;
  const object = (value: unknown): value is object => typeof value === 'object' && value !== null;
  if (redactValue !== undefined) {
    for (const key of Object.keys(stringifiers)) {
      const own = stringifiers[key];
      if (typeof own !== 'function') continue;
      stringifiers[key] = (value: unknown, safe?: unknown): string =>
        (own as Stringify)(object(value) ? redactValue(value) : value, safe);
    }
  }
  if (redact !== undefined && !options.nestedWildcard) {
    // A lone `*` censors every top-level value, strings and numbers too: they keep going through pino.
    if (redactValue !== undefined) {
      stringifiers[wildcard] = (value: unknown, safe?: unknown): string =>
        (redact as Stringify)(object(value) ? redactValue(value) : value, safe);
    }
    return true;
  }
  if (redact === undefined && redactValue === undefined) return true;
  const objects = (redact as Stringify | undefined) ?? stringify;
  const fast =
    redactValue === undefined
      ? (value: unknown, safe?: unknown): string =>
          object(value) ? objects(value, safe) : stringify(value, safe)
      : (value: unknown, safe?: unknown): string =>
          object(value) ? objects(redactValue(value), safe) : stringify(value, safe);
  FAST_WILDCARD_STRINGIFIERS.add(fast);
  stringifiers[wildcard] = fast;
  return true;
}

/**
 * The wildcard stringifiers `installStringifiers` installed: a plain string or a number comes out as
 * JSON.stringify's, and no string goes through `redactValue`.
 */
export const FAST_WILDCARD_STRINGIFIERS: WeakSet<object> = new WeakSet();
