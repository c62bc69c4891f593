import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** One file of a service, its comments removed (a comment naming a plugin does not register it). */
export interface SourceFile {
  path: string;
  text: string;
}

const SKIP_DIRS = new Set(['node_modules', 'dist', '.turbo', 'coverage', '.data']);

/** Every file under `dir` whose name passes `accept`, skipping build output and dependencies. */
export function walk(dir: string, accept: (name: string) => boolean): string[] {
  if (!existsSync(dir)) return [];
  const found: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      if (!SKIP_DIRS.has(entry)) found.push(...walk(path, accept));
    } else if (accept(entry)) {
      found.push(path);
    }
  }
  return found.sort();
}

/** Removes block and line comments, leaving strings (and the offsets of everything else) intact. */
export function stripComments(text: string): string {
  let out = '';
  let index = 0;
  while (index < text.length) {
    const char = text[index];
    const next = text[index + 1];
    if (char === '"' || char === "'" || char === '`') {
      const end = stringEnd(text, index);
      out += text.slice(index, end);
      index = end;
    } else if (char === '/' && next === '/') {
      const end = text.indexOf('\n', index);
      const stop = end === -1 ? text.length : end;
      out += ' '.repeat(stop - index);
      index = stop;
    } else if (char === '/' && next === '*') {
      const end = text.indexOf('*/', index + 2);
      const stop = end === -1 ? text.length : end + 2;
      out += text.slice(index, stop).replace(/[^\n]/g, ' ');
      index = stop;
    } else {
      out += char;
      index += 1;
    }
  }
  return out;
}

function stringEnd(text: string, start: number): number {
  const quote = text[start];
  let index = start + 1;
  while (index < text.length && text[index] !== quote) {
    if (text[index] === '\\') index += 1;
    index += 1;
  }
  return index + 1;
}

/** The text from `open` (an opening parenthesis or brace) to its match, strings respected. */
export function balanced(text: string, open: number): string {
  const pairs: Record<string, string> = { '(': ')', '{': '}', '[': ']' };
  const stack: string[] = [];
  let index = open;
  while (index < text.length) {
    const char = text[index] ?? '';
    if (char === '"' || char === "'" || char === '`') {
      index = stringEnd(text, index);
      continue;
    }
    const closing = pairs[char];
    if (closing) stack.push(closing);
    else if (char === stack[stack.length - 1]) {
      stack.pop();
      if (stack.length === 0) return text.slice(open, index + 1);
    }
    index += 1;
  }
  return text.slice(open);
}

/** A service's TypeScript sources (tests apart), comments removed. */
export function readSources(serviceDir: string): { code: SourceFile[]; tests: SourceFile[] } {
  const read = (path: string): SourceFile => ({
    path: relative(serviceDir, path),
    text: stripComments(readFileSync(path, 'utf8')),
  });
  const isTs = (name: string) => name.endsWith('.ts') && !name.endsWith('.d.ts');
  const all = [...walk(join(serviceDir, 'src'), isTs), ...walk(join(serviceDir, 'test'), isTs)].map(read);
  const isTest = (file: SourceFile) => file.path.endsWith('.test.ts') || file.path.startsWith('test');
  return { code: all.filter((file) => !isTest(file)), tests: all.filter(isTest) };
}

/** The local name `name` is imported under from `module` in this file, if it is. */
export function importedAs(text: string, name: string, module: string): string | undefined {
  const escaped = module.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const pattern = new RegExp(`import\\s*(?:type\\s+)?\\{([^}]*)\\}\\s*from\\s*['"]${escaped}['"]`, 'g');
  for (const match of text.matchAll(pattern)) {
    for (const part of (match[1] ?? '').split(',')) {
      const [imported, local] = part
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/);
      if (imported === name) return (local ?? imported).trim();
    }
  }
  return undefined;
}

/** Whether some file imports `name` from `module` and registers it with `.register(name`. */
export function registers(
  files: readonly SourceFile[],
  name: string,
  module: string,
): SourceFile | undefined {
  return files.find((file) => {
    const local = importedAs(file.text, name, module);
    return local !== undefined && new RegExp(`\\.register\\(\\s*${local}\\b`).test(file.text);
  });
}
