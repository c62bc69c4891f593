import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Render } from './spec.ts';
import type { FileChange } from './staged-write.ts';

const TEMPLATES = fileURLToPath(new URL('../templates/', import.meta.url));

/**
 * Renders every file under templates/<name>/ with handlebars (plop's renderer): paths and contents both.
 * Files ending in `.hbs` are rendered and lose the suffix; others are copied as they are.
 */
export function renderTemplateTree(
  name: string,
  data: Readonly<Record<string, unknown>>,
  render: Render,
): FileChange[] {
  const base = join(TEMPLATES, name);
  const changes: FileChange[] = [];
  for (const file of walk(base)) {
    const rel = relative(base, file).split('\\').join('/');
    const source = readFileSync(file, 'utf8');
    const isTemplate = rel.endsWith('.hbs');
    const path = render(isTemplate ? rel.slice(0, -'.hbs'.length) : rel, data);
    changes.push({ path, content: isTemplate ? render(source, data) : source, kind: 'create' });
  }
  return changes.sort((a, b) => a.path.localeCompare(b.path));
}

/** Paths of the files under templates/<name>/, relative to it and unrendered (`src/{{name}}.ts.hbs`). */
export function templateFiles(name: string): string[] {
  const base = join(TEMPLATES, name);
  return walk(base).map((file) => relative(base, file).split('\\').join('/'));
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}
