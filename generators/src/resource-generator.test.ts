import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { resourceNameProblem } from './resource-generator.ts';
import { templateFiles } from './templates.ts';

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** A template's source with each handlebars expression replaced by a marker no identifier check keeps. */
function templateSource(file: string): string {
  const source = readFileSync(new URL(`../templates/resource/${file}`, import.meta.url), 'utf8');
  return source.replace(/\{\{[^}]*\}\}\}?/g, '$HB$');
}

/** `list` split at the commas outside brackets, braces, parentheses and type arguments. */
function topLevel(list: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of list) {
    if ('([{<'.includes(char)) depth += 1;
    if (')]}>'.includes(char)) depth -= 1;
    if (char === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += char;
  }
  return [...parts, current];
}

/** Names of the bindings in a parameter list or a destructuring pattern: `a, b?: T, { c: d }, [e], f = 1`. */
function bindings(list: string): string[] {
  return topLevel(list).flatMap((raw) => {
    const part = raw.trim().replace(/^\.\.\./, '');
    if (part.startsWith('{') || part.startsWith('[')) {
      const inner = part.slice(1, part.search(/[}\]][^}\]]*$/));
      // `{ key: binding }` binds `binding`; `{ key }` binds `key`.
      return bindings(inner.replace(/([\w$]+)\s*:\s*(?=[\w${[])/g, ''));
    }
    const name = /^[\w$]+/.exec(part)?.[0];
    return name && IDENTIFIER.test(name) ? [name] : [];
  });
}

/** Every identifier a template declares or imports: the names a resource's own identifiers can clash with. */
function declaredIdentifiers(source: string): Set<string> {
  const found = new Set<string>();
  const add = (names: readonly string[]) => {
    for (const name of names) if (IDENTIFIER.test(name) && !name.includes('$HB$')) found.add(name);
  };
  for (const match of source.matchAll(/\b(?:const|let|var|function|class|interface|type)\s+([\w$]+)/g))
    add([match[1]!]);
  for (const match of source.matchAll(/\b(?:const|let|var)\s*([[{][^=]*?[\]}])\s*(?:=|of\b)/g))
    add(bindings(match[1]!.replace(/\w+\s*:\s*(\w+)/g, '$1')));
  for (const match of source.matchAll(/^import\s+(?:type\s+)?([\w$]+)?\s*,?\s*(?:\{([^}]*)\})?\s*from/gm)) {
    if (match[1]) add([match[1]]);
    for (const spec of (match[2] ?? '').split(',')) {
      const name = spec
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/)
        .at(-1)
        ?.trim();
      if (name) add([name]);
    }
  }
  // Arrow functions' and function expressions' parameters: `(a, b) =>`, `async (tx) =>`, `(x: T): R =>`.
  for (const match of source.matchAll(/\(([^()]*)\)\s*(?::\s*[^=>{]+)?=>/g)) add(bindings(match[1]!));
  for (const match of source.matchAll(/\b([\w$]+)\s*=>/g)) add([match[1]!]);
  return found;
}

/** `firstPage` -> `first-page`, `CreateBody` -> `create-body`; undefined when no resource name gives it. */
function kebab(identifier: string): string | undefined {
  if (!/^[A-Za-z][a-zA-Z0-9]*$/.test(identifier)) return undefined;
  return identifier.replace(/[A-Z]/g, (char) => `-${char.toLowerCase()}`).replace(/^-/, '');
}

describe('resource names', () => {
  const files = templateFiles('resource');

  it('finds the identifiers of the templates (the scan below sees what it must)', () => {
    const all = new Set(files.flatMap((file) => [...declaredIdentifiers(templateSource(file))]));
    for (const name of ['changes', 'body', 'writer', 'stored', 'moved', 'Page', 'CreateBody', 'q', 'tx'])
      expect(all).toContain(name);
  });

  it.each(
    files.flatMap((file) =>
      [...declaredIdentifiers(templateSource(file))]
        .map((identifier) => [identifier, kebab(identifier), file] as const)
        .filter((entry): entry is readonly [string, string, string] => entry[1] !== undefined),
    ),
  )('refuses the name that would declare %s again (as "%s", %s)', (_identifier, name) => {
    expect(resourceNameProblem(name)).toMatch(/would clash with|reserved word/);
  });

  it.each([
    ['package', 'a JavaScript reserved word'],
    ['interface', 'a JavaScript reserved word'],
    ['enum', 'a JavaScript reserved word'],
    ['fastify-request', 'would clash with `FastifyRequest`'],
    ['date', 'would clash with `date`'],
    ['partial', 'would clash with `Partial`'],
    ['metrics', 'every service already serves /metrics'],
    ['health', 'every service already serves /health/live'],
  ])('refuses %s (%s)', (name, message) => {
    expect(resourceNameProblem(name)).toContain(message);
  });

  it.each(['refunds', 'invoices', 'order-events', 'health-checks', 'metric-samples', 'pages'])(
    'accepts %s',
    (name) => {
      expect(resourceNameProblem(name)).toBeUndefined();
    },
  );
});
