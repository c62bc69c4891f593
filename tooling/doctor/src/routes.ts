import { balanced, type SourceFile } from './source.ts';

/** A route declared in a service's source, and whether it states an auth decision. */
export interface DeclaredRoute {
  file: string;
  line: number;
  method: string;
  path: string;
  hasAuthDecision: boolean;
}

const SHORTHAND = /\.(get|post|put|patch|delete|head|options|all)\(\s*(['"`])(\/[^'"`]*)\2/g;
const ROUTE_CALL = /\.route\(\s*\{/g;

function lineOf(text: string, offset: number): number {
  return text.slice(0, offset).split('\n').length;
}

/** `config: read` counts when `const read = { auth: ... }` is in the same file. */
function declaresAuth(args: string, text: string): boolean {
  if (/\bauth\s*:/.test(args)) return true;
  for (const match of args.matchAll(/\bconfig\s*:\s*(?:\{\s*\.\.\.\s*)?([A-Za-z_$][\w$]*)/g)) {
    const name = match[1] ?? '';
    const declaration = new RegExp(`(?:const|let)\\s+${name}\\s*(?::[^=]+)?=\\s*\\{`).exec(text);
    if (declaration && /\bauth\s*:/.test(balanced(text, declaration.index + declaration[0].length - 1)))
      return true;
  }
  return false;
}

/** Routes declared with `x.get('/path', ...)`-style shorthands or `x.route({ ... })` in these files. */
export function declaredRoutes(files: readonly SourceFile[]): DeclaredRoute[] {
  const routes: DeclaredRoute[] = [];
  for (const file of files) {
    const { text } = file;
    for (const match of text.matchAll(SHORTHAND)) {
      const open = (match.index ?? 0) + match[0].indexOf('(');
      routes.push({
        file: file.path,
        line: lineOf(text, match.index ?? 0),
        method: (match[1] ?? '').toUpperCase(),
        path: match[3] ?? '',
        hasAuthDecision: declaresAuth(balanced(text, open), text),
      });
    }
    for (const match of text.matchAll(ROUTE_CALL)) {
      const open = (match.index ?? 0) + match[0].lastIndexOf('{');
      const body = balanced(text, open);
      routes.push({
        file: file.path,
        line: lineOf(text, match.index ?? 0),
        method: /\bmethod\s*:\s*['"`](\w+)/.exec(body)?.[1]?.toUpperCase() ?? 'ROUTE',
        path: /\burl\s*:\s*['"`]([^'"`]*)/.exec(body)?.[1] ?? '?',
        hasAuthDecision: declaresAuth(body, text),
      });
    }
  }
  return routes;
}
