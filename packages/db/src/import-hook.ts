import { readFileSync, realpathSync, statSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// Why this exists: Node 24 decides the format of every `.js` module it imports from the nearest
// package.json, and each lookup re-parses that file's whole `exports` field (package_json_reader's
// getPackageScopeConfig spreads its lazy getters). drizzle-orm's package.json lists 447 subpaths (175 KB),
// and a service imports a few hundred of its files: about 1.5 s of CPU (and the garbage it leaves) at
// every start on the bench machine, more than the rest of the service's module loading together. The hook
// answers drizzle-orm's own relative imports itself, reading its package.json once; everything else
// goes to Node untouched.

const DRIZZLE = '/node_modules/drizzle-orm/';
const RELATIVE = /^\.\.?\/[^?#%\\]*\.js$/;
const REGISTERED = Symbol.for('@rampart/db.import-hook');

type ResolveContext = {
  conditions?: readonly string[];
  importAttributes?: Record<string, string>;
  parentURL?: string | undefined;
};
type Resolved = { url: string; format: 'module'; shortCircuit: true };
type RegisterHooks = (hooks: {
  resolve(
    specifier: string,
    context: ResolveContext,
    next: (specifier: string, context: ResolveContext) => unknown,
  ): unknown;
}) => unknown;

/** package.json directory -> its `type`; keyed by every directory looked at on the way up. */
const scopeTypes = new Map<string, string>();

function scopeType(directory: string, root: string): string {
  const known = scopeTypes.get(directory);
  if (known !== undefined) return known;
  let type: string;
  let raw: string | undefined;
  try {
    raw = readFileSync(join(directory, 'package.json'), 'utf8');
  } catch {}
  if (raw !== undefined) {
    try {
      type = String((JSON.parse(raw) as { type?: unknown }).type ?? 'none');
    } catch {
      type = 'invalid';
    }
  } else if (`${directory}/` === root || dirname(directory) === directory) {
    type = 'none';
  } else {
    type = scopeType(dirname(directory), root);
  }
  scopeTypes.set(directory, type);
  return type;
}

/**
 * What Node's default resolver answers for a relative `./x.js` import made by a drizzle-orm module, or
 * undefined for anything else (other packages, bare specifiers, require(), query strings, files that do
 * not exist, a scope that is not `"type": "module"`), which then goes to Node's own resolver.
 */
export function resolveDrizzleRelative(specifier: string, context: ResolveContext): Resolved | undefined {
  const parent = context.parentURL;
  if (parent === undefined || !parent.startsWith('file:') || !RELATIVE.test(specifier)) return undefined;
  if (!context.conditions?.includes('import')) return undefined;
  if (context.importAttributes && Object.keys(context.importAttributes).length > 0) return undefined;
  const parentPath = fileURLToPath(parent);
  const at = parentPath.lastIndexOf(DRIZZLE);
  if (at === -1) return undefined;
  const root = parentPath.slice(0, at + DRIZZLE.length);
  const path = fileURLToPath(new URL(specifier, parent));
  if (!path.startsWith(root)) return undefined;
  if (!statSync(path, { throwIfNoEntry: false })?.isFile()) return undefined;
  const real = realpathSync.native(path);
  if (!real.startsWith(root) || scopeType(dirname(real), root) !== 'module') return undefined;
  return { url: pathToFileURL(real).href, format: 'module', shortCircuit: true };
}

/**
 * Makes drizzle-orm load several times faster on Node 24 by resolving its internal imports without Node's
 * per-import package.json parse (see the note at the top of this file). Call it first thing in a
 * process's entry, before anything imports drizzle-orm (import the rest of the program with `await
 * import()` after it). Idempotent. Returns false where Node has no `module.registerHooks` (before 22.15),
 * where it does nothing.
 *
 * @example
 * import { registerDrizzleImportHook } from '@rampart/db/import-hook';
 * registerDrizzleImportHook();
 * const { buildApp } = await import('./app.ts');
 */
export function registerDrizzleImportHook(): boolean {
  const registerHooks = (nodeModule as { registerHooks?: RegisterHooks }).registerHooks;
  if (typeof registerHooks !== 'function') return false;
  const slot = globalThis as { [REGISTERED]?: true };
  if (slot[REGISTERED]) return true;
  slot[REGISTERED] = true;
  registerHooks({
    resolve: (specifier, context, next) =>
      resolveDrizzleRelative(specifier, context) ?? next(specifier, context),
  });
  return true;
}
