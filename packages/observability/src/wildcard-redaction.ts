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

/**
 * A path like `*.password` makes pino run its redactor on every value of every line (and of every child
 * logger's bindings), numbers and strings included, and that redactor parses each path again on each
 * call: with the security package's list (`*.password` and 13 more) that was about 28 µs a request in
 * bench/, for an access line whose values are all numbers and strings. A number or string has no keys to
 * censor, so this sends only objects through pino's redactor and serializes the rest the way that
 * redactor would have (pino's stringify): the output is the same byte for byte. Installed on the root
 * logger's stringifiers, which its children share; a child given its own `redact` keeps pino's. Does
 * nothing when this pino version keeps its state elsewhere.
 */
export function fastWildcardRedaction(logger: Logger): void {
  const symbols = pino.symbols as unknown as Record<string, symbol>;
  const state = logger as unknown as Record<symbol, unknown>;
  const stringifiers = state[symbols.stringifiersSym as symbol] as Record<symbol, unknown> | undefined;
  const wildcard = symbols.wildcardFirstSym as symbol;
  const redact = stringifiers?.[wildcard];
  const stringify = state[symbols.stringifySym as symbol];
  if (typeof redact !== 'function' || typeof stringify !== 'function') return;
  const fast = (value: unknown, safe?: unknown): string =>
    typeof value === 'object' && value !== null
      ? (redact as Stringify)(value, safe)
      : (stringify as Stringify)(value, safe);
  FAST_WILDCARD_STRINGIFIERS.add(fast);
  (stringifiers as Record<symbol, unknown>)[wildcard] = fast;
}

/** The stringifiers `fastWildcardRedaction` installed: a plain string or a number comes out as JSON.stringify's. */
export const FAST_WILDCARD_STRINGIFIERS: WeakSet<object> = new WeakSet();
