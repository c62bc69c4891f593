import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { build, type Loader, type Message, type Metafile, type OutputFile, type Plugin } from 'esbuild';

/**
 * Bundles a service's entry points (its server and worker) into single ES modules, with their workspace
 * packages and dependencies inside. A cold start then reads a handful of files instead of ~1,500 (TypeBox
 * alone is 683 modules, OpenTelemetry ~190, drizzle-orm ~110): resolving, stat-ing and compiling each one
 * was most of a generated service's start-up in bench/.
 *
 * Moving code into one file changes what `import.meta.url` and `__dirname` mean, so every module that uses
 * them is rewritten or refused, never shipped silently wrong:
 * - `new URL('./<path>', import.meta.url)`: a path inside the service is re-pointed from the bundle; one
 *   inside a package (its migrations folder) is copied to `<outdir>/bundle/assets/<package>/...` and
 *   pointed there, so the service does not depend on where pnpm put it.
 * - `createRequire(import.meta.url)`: in a package that only requires names, dropped so what it requires is
 *   bundled; otherwise anchored at the file itself, in the package or in the service.
 * - any other `import.meta`, or `__dirname` outside the packages listed in `HARMLESS_DIRNAME`: a
 *   `BundleError` naming the file and what to do.
 * Packages that load files next to themselves at run time (PGlite's WebAssembly and data files) stay
 * external and must be dependencies of the service, which the bundle checks.
 */

export interface BundleOptions {
  /** The service's directory (holds its package.json). */
  root: string;
  /**
   * Entry files relative to `root`, e.g. `['src/server.ts', 'src/worker.ts']`: each is built on its own
   * into `<outdir>/bundle/<name>/<name>.js`, started by a two-line `<outdir>/<name>.js`.
   */
  entries: readonly string[];
  /**
   * Modules every entry runs first, to completion, before its own code loads (what `node --import` would
   * do): a package specifier (`@rampart/observability/register`) or a path relative to `root`. Each is
   * bundled too, so `node dist/server.js` is the whole command.
   */
  preload?: readonly string[];
  /** Output directory relative to `root`. Default `dist`. */
  outdir?: string;
  /** Packages left to node_modules at run time. Default {@link DEFAULT_EXTERNAL}. */
  external?: readonly string[];
  /**
   * Compile every bundle file into `<outdir>/bundle/compile-cache/` after building (Node's module compile
   * cache, for this Node version and user), which the start files read. Default true.
   */
  compileCache?: boolean;
}

export interface BundleResult {
  /** Files written, relative to `root`, with their sizes in bytes. */
  files: { path: string; bytes: number }[];
  /** Source modules inside the bundle. */
  modules: number;
  /** Folders and files copied beside the bundle, relative to `root`. */
  assets: { from: string; to: string }[];
  /** What priming the compile cache printed (`compiled N files ...`, or why there is none); undefined when not asked. */
  compileCache?: string;
}

/** PGlite reads its .wasm and .data files relative to its own modules. */
export const DEFAULT_EXTERNAL: readonly string[] = ['@electric-sql/pglite'];

export type BundleErrorCode =
  | 'RAMPART_BUNDLE_INPUT'
  | 'RAMPART_BUNDLE_EXTERNAL'
  | 'RAMPART_BUNDLE_IMPORT_META'
  | 'RAMPART_BUNDLE_BUILD'
  | 'RAMPART_BUNDLE_WRITE';

/** A bundle that would not run as the sources do, or could not be written; the previous bundle stays whole. */
export class BundleError extends Error {
  override name = 'BundleError';
  readonly code: BundleErrorCode;
  constructor(code: BundleErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

// Every output file starts with these, so CommonJS dependencies find `require`, `__filename` and
// `__dirname` (ioredis and pino read `__dirname`) as they would in their own files.
const BANNER = [
  "import { createRequire as __rampartCreateRequire } from 'node:module';",
  "import { fileURLToPath as __rampartFileURLToPath } from 'node:url';",
  'const require = __rampartCreateRequire(import.meta.url);',
  'const __filename = __rampartFileURLToPath(import.meta.url);',
  "const __dirname = __rampartFileURLToPath(new URL('.', import.meta.url));",
].join('\n');

/** Where the bundle goes inside the output directory; rewritten whole on every build. */
export const BUNDLE_DIR = 'bundle';
/** Folders copied beside the bundle (a package's migrations), inside {@link BUNDLE_DIR}. */
const ASSETS_DIR = 'assets';
/** Node's compile cache for the bundle, inside {@link BUNDLE_DIR}. */
export const COMPILE_CACHE_DIR = 'compile-cache';
/** The script that fills it, inside {@link BUNDLE_DIR}. */
export const PRIME_SCRIPT = 'prime-compile-cache.js';

// `module.enableCompileCache({ directory, portable })` (a cache that keeps working when the folder moves,
// as dist/ does into an image) came in Node 24.12; older Nodes start without the cache.
const CACHE_SUPPORTED =
  "const [major, minor] = process.versions.node.split('.').map(Number);\n" +
  'const supported = major > 24 || (major === 24 && minor >= 12);';

/**
 * `node <outdir>/bundle/prime-compile-cache.js`: compiles every file of the bundle into the compile cache
 * without running any of it, for the Node version and the user that run it (Node keeps one folder per
 * version and user id). rampart-bundle runs it after each build; an image whose runtime user is not the
 * build's runs it again as that user. Exit 0 with a line saying what it did (or why the cache is off: an
 * old Node, NODE_DISABLE_COMPILE_CACHE), exit 1 when a file does not compile or the folder is not writable.
 */
const PRIME_SOURCE = `// Written by rampart-bundle: compiles every file of this bundle into ${COMPILE_CACHE_DIR}/ for this Node
// version and user, without running any of it; the service's start files read it. See @rampart/bundle.
const module = process.getBuiltinModule('node:module');
const { readdirSync } = process.getBuiltinModule('node:fs');
const { join } = process.getBuiltinModule('node:path');
const { fileURLToPath, pathToFileURL } = process.getBuiltinModule('node:url');
${CACHE_SUPPORTED}
if (!supported) {
  process.stdout.write(\`no compile cache: Node \${process.versions.node} has no portable compile cache (24.12 or later)\\n\`);
  process.exit(0);
}
const here = fileURLToPath(new URL('.', import.meta.url));
const directory = join(here, '${COMPILE_CACHE_DIR}');
const { ENABLED, DISABLED } = module.constants.compileCacheStatus;
const result = module.enableCompileCache({ directory, portable: true });
if (result.status === DISABLED) {
  process.stdout.write('no compile cache: NODE_DISABLE_COMPILE_CACHE is set\\n');
  process.exit(0);
}
if (result.status !== ENABLED) {
  process.stderr.write(\`cannot fill \${directory}: \${result.message ?? \`a compile cache is already on in \${result.directory}\`}\\n\`);
  process.exit(1);
}
const files = readdirSync(here, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && entry.name !== '${ASSETS_DIR}' && entry.name !== '${COMPILE_CACHE_DIR}')
  .flatMap((entry) =>
    readdirSync(join(here, entry.name))
      .filter((name) => name.endsWith('.js'))
      .map((name) => join(here, entry.name, name)),
  );
if (files.length === 0) {
  process.stderr.write(\`cannot fill \${directory}: no bundle files beside it\\n\`);
  process.exit(1);
}
// Node compiles every module of a graph before it links them: importing a name no file exports makes the
// link fail once all of them are compiled, before any of them runs.
const MISSING = '__rampartPrimeCompileCache__';
const graph = files.map(
  (file, index) => \`import { \${MISSING} as m\${index} } from \${JSON.stringify(pathToFileURL(file).href)};\`,
);
try {
  await import(\`data:text/javascript,\${encodeURIComponent(graph.join('\\n'))}\`);
  throw new Error(\`a bundle file exports \${MISSING}\`);
} catch (error) {
  if (!(error instanceof SyntaxError && error.message.includes(\`export named '\${MISSING}'\`))) {
    process.stderr.write(\`cannot compile the bundle: \${error.message}\\n\`);
    process.exit(1);
  }
}
module.flushCompileCache();
const cache = module.getCompileCacheDir();
const entries = readdirSync(cache).length;
// Node writes its cache best effort and says nothing when it cannot (a folder made read-only for this user).
if (entries < files.length) {
  process.stderr.write(\`cannot fill \${cache}: \${entries} entries written for \${files.length} files (is it writable?)\\n\`);
  process.exit(1);
}
process.stdout.write(
  \`compiled \${files.length} files into ${COMPILE_CACHE_DIR}/\${cache.slice(directory.length + 1)} (\${entries} entries)\\n\`,
);
`;

// Stand for `import.meta.url` / `import.meta.resolve` in rewritten code until the check for uses left
// over has run.
const HERE = '__rampartBundleImportMetaUrl__';
const RESOLVE = '__rampartBundleImportMetaResolve__';
const URL_PATTERN = /new URL\(\s*(['"])([^'"]+)\1\s*,\s*import\.meta\.url\s*\)/g;
const REQUIRE_PATTERN = /createRequire\(\s*import\.meta\.url\s*\)/g;
const REQUIRE_DECLARATION = /^(?:const|let|var) require = createRequire\(\s*import\.meta\.url\s*\);?$/m;
const DIRNAME_PATTERN = /\b__(?:dirname|filename)\b/;

/**
 * Packages whose `__dirname`/`__filename` (which become the bundle's directory and file) are known to be
 * harmless in a service, and why. Any other package that uses them is refused.
 */
export const HARMLESS_DIRNAME: Readonly<Record<string, string>> = {
  pino: "only to find its transport workers; Rampart's logger writes to its own destination, never a transport",
  'thread-stream': "pino's transport worker thread, unused for the same reason",
  undici: 'only to tell its own frames apart in error stacks',
  ioredis: 'only to trim its own frames from error stacks',
};
const LOADERS: Record<string, Loader> = {
  '.ts': 'ts',
  '.mts': 'ts',
  '.cts': 'ts',
  '.js': 'js',
  '.mjs': 'js',
  '.cjs': 'js',
};

const posix = (path: string) => path.split(sep).join('/');
const inside = (parent: string, child: string) => {
  const path = relative(parent, child);
  return path === '' || (!path.startsWith('..') && !isAbsolute(path));
};

/** The nearest package.json above `file` that has a name: the package the file belongs to. */
function owningPackage(file: string): { name: string; dir: string } {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      const { name } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string };
      if (name) return { name, dir };
    }
    if (dirname(dir) === dir)
      throw new BundleError('RAMPART_BUNDLE_INPUT', `${file} belongs to no named package`);
  }
}

/** Whether `specifier` (a package or one of its subpaths) resolves from the service, as it must at run time. */
function resolvableFrom(root: string, specifier: string): boolean {
  try {
    createRequire(join(root, 'package.json')).resolve(specifier);
    return true;
  } catch {
    // An ESM-only package (no "require" condition) still has its package.json there.
    const name = specifier.startsWith('@')
      ? specifier.split('/').slice(0, 2).join('/')
      : specifier.split('/')[0];
    return existsSync(join(root, 'node_modules', name as string, 'package.json'));
  }
}

/**
 * Source without comments, for the checks below. Strings and template literals are kept as they are (a
 * `//` inside a URL is not a comment); regular-expression literals are not recognised, which can only hide
 * a use behind an odd regex, never invent one.
 */
export function stripComments(source: string): string {
  let out = '';
  let index = 0;
  while (index < source.length) {
    const char = source[index] as string;
    const next = source[index + 1];
    if (char === '/' && next === '/') {
      const end = source.indexOf('\n', index);
      index = end === -1 ? source.length : end;
    } else if (char === '/' && next === '*') {
      const end = source.indexOf('*/', index + 2);
      index = end === -1 ? source.length : end + 2;
      out += ' ';
    } else if (char === "'" || char === '"' || char === '`') {
      let end = index + 1;
      while (end < source.length && source[end] !== char) end += source[end] === '\\' ? 2 : 1;
      out += source.slice(index, end + 1);
      index = end + 1;
    } else {
      out += char;
      index += 1;
    }
  }
  return out;
}

const CODE_FILE = /\.(?:[cm]?[jt]s|node)$/;

function locationPlugin(
  root: string,
  buildDir: string,
  bundleDir: string,
  assets: Map<string, string>,
): Plugin {
  // The service's own files: under its directory and not in its node_modules.
  const isService = (path: string) => inside(root, path) && !path.includes(`${sep}node_modules${sep}`);
  // A URL string that names `target` from this build's directory, keeping a trailing slash.
  const fromBuild = (target: string, slash: boolean) => {
    const path = posix(relative(buildDir, target)) || '.';
    return JSON.stringify(`${path.startsWith('.') ? '' : './'}${path}${slash ? '/' : ''}`);
  };
  return {
    name: 'rampart-file-locations',
    setup(esbuild) {
      esbuild.onLoad({ filter: /\.[cm]?[jt]s$/ }, (args) => {
        const source = readFileSync(args.path, 'utf8');
        const ours = isService(args.path);
        const owner = ours ? undefined : owningPackage(args.path);
        if (DIRNAME_PATTERN.test(stripComments(source)) && !(owner && owner.name in HARMLESS_DIRNAME)) {
          throw new BundleError(
            'RAMPART_BUNDLE_IMPORT_META',
            owner
              ? `${args.path} uses __dirname or __filename, which would name the bundle's directory instead of ${owner.name}'s: mark it external (--external ${owner.name})`
              : `${args.path} uses __dirname or __filename, which would name dist/bundle/ instead of this file's folder: write new URL('<path relative to this file>', import.meta.url)`,
          );
        }
        if (!source.includes('import.meta')) return undefined;
        let contents = source.replace(URL_PATTERN, (_match, _quote: string, path: string) => {
          // Only paths relative to the file depend on where it sits; a URL or an absolute path does not.
          if (!/^\.\.?(\/|$)/.test(path)) return `new URL(${JSON.stringify(path)}, ${HERE})`;
          const slash = path.endsWith('/');
          const target = resolve(dirname(args.path), path);
          if (ours || isService(target)) return `new URL(${fromBuild(target, slash)}, ${HERE})`;
          const pkg = owner as { name: string; dir: string };
          const inPackage = relative(pkg.dir, target);
          if (!existsSync(target) || inPackage.startsWith('..') || isAbsolute(inPackage)) {
            throw new BundleError(
              'RAMPART_BUNDLE_INPUT',
              `${args.path} points at ${target}, which is ${existsSync(target) ? `outside ${pkg.name}` : 'missing'}: there is nothing the bundle can copy beside itself; mark ${pkg.name} external (--external ${pkg.name})`,
            );
          }
          if (statSync(target).isFile() && CODE_FILE.test(target)) {
            throw new BundleError(
              'RAMPART_BUNDLE_INPUT',
              `${args.path} loads code from ${target} at run time, which a copy would cut off from its imports: mark ${pkg.name} external (--external ${pkg.name})`,
            );
          }
          const copy = join(bundleDir, ASSETS_DIR, pkg.name, inPackage);
          const taken = assets.get(copy);
          if (taken !== undefined && taken !== target) {
            throw new BundleError(
              'RAMPART_BUNDLE_INPUT',
              `two copies of ${pkg.name} (${dirname(taken)} and ${pkg.dir}) both need ${inPackage} beside the bundle: mark ${pkg.name} external (--external ${pkg.name}) or dedupe it`,
            );
          }
          assets.set(copy, target);
          return `new URL(${fromBuild(copy, slash)}, ${HERE})`;
        });
        if (owner) {
          // `const require = createRequire(import.meta.url)` only to load modules by name, lazily: dropped, so
          // the bundle holds what it requires (evaluated at the first call, as before). Anything else (a
          // computed name, require.resolve, require.cache) keeps a require anchored at this very file.
          const stripped = stripComments(contents);
          const calls = stripped.match(/\brequire\s*\(/g)?.length ?? 0;
          const literal = stripped.match(/\brequire\s*\(\s*(['"])[^'"]+\1\s*\)/g)?.length ?? 0;
          if (REQUIRE_DECLARATION.test(contents) && calls === literal && !/\brequire\s*\./.test(stripped)) {
            contents = contents.replace(REQUIRE_DECLARATION, '');
          }
          contents = contents.replace(
            REQUIRE_PATTERN,
            () => `createRequire(${anchorAt(root, owner, args.path)})`,
          );
        } else {
          // The service's own require resolves from where its file sits, as before.
          contents = contents.replace(
            REQUIRE_PATTERN,
            `createRequire(new URL(${fromBuild(args.path, false)}, ${HERE}))`,
          );
        }
        // What is left depends on where the file sits (import.meta.dirname, a destructured import.meta...).
        const left = /\bimport\s*\.\s*meta\b(?:\s*\??\.\s*(\w+))?/.exec(stripComments(contents));
        if (left) {
          const use = `import.meta${left[1] ? `.${left[1]}` : ''}`;
          throw new BundleError(
            'RAMPART_BUNDLE_IMPORT_META',
            owner
              ? `${args.path} uses ${use} in a way the bundle cannot keep: mark ${owner.name} external (--external ${owner.name})`
              : `${args.path} uses ${use}, which would name dist/bundle/ instead of this file's folder: write new URL('<path relative to this file>', import.meta.url), which the bundle keeps pointing at the same place`,
          );
        }
        contents = contents.replaceAll(HERE, 'import.meta.url').replaceAll(RESOLVE, 'import.meta.resolve');
        if (contents === source) return undefined;
        return { contents, loader: LOADERS[extname(args.path)] ?? 'js', resolveDir: dirname(args.path) };
      });
    },
  };
}

// Node's builtins as it lists them: some only under the `node:` scheme (`node:test`, `node:sqlite`).
const BUILTIN = new Set(builtinModules);
const BUILTIN_NAMESPACE = 'rampart-builtin';

/**
 * `import ... from 'node:http'` (any builtin) in the bundle becomes a property read on the module Node
 * already has (`process.getBuiltinModule`), as a `require` of it would be. An ES import of a builtin makes
 * Node build the module's ES facade, which reads every export once: for `node:http` that runs its lazy
 * `WebSocket`/`MessageEvent` getters and loads Node's whole copy of undici, 10–40 ms of a cold start
 * (bench/RESULTS.md) for nothing the service calls. Named imports keep working: esbuild reads them off
 * the module object where they are used, which also keeps them live. `import()` of a builtin is left as
 * it is.
 */
function builtinPlugin(): Plugin {
  return {
    name: 'rampart-builtin-imports',
    setup(esbuild) {
      esbuild.onResolve({ filter: /^(?:node:)?[a-z_/0-9]+$/ }, (args) => {
        // Static imports only: a dynamic import() of a CommonJS module gives only `default` once esbuild
        // splits it into a chunk, where Node gives the builtin's named exports too.
        if (args.kind !== 'import-statement') return undefined;
        const name = args.path.replace(/^node:/, '');
        const known = BUILTIN.has(args.path) || (args.path !== name && BUILTIN.has(name));
        return known ? { path: `node:${name}`, namespace: BUILTIN_NAMESPACE } : undefined;
      });
      // A builtin this Node does not have fails where the import is evaluated, as an ES import would
      // (at link time there), not later where it is used. Named imports are not checked: a name the
      // builtin lacks reads as undefined, as it does through `require`.
      esbuild.onLoad({ filter: /.*/, namespace: BUILTIN_NAMESPACE }, (args) => ({
        contents: [
          `const builtin = process.getBuiltinModule(${JSON.stringify(args.path)});`,
          `if (builtin === undefined) throw new Error(${JSON.stringify(`No such built-in module: ${args.path} in Node `)} + process.versions.node);`,
          'module.exports = builtin;',
          '',
        ].join('\n'),
        loader: 'js',
      }));
    },
  };
}

/**
 * `createRequire` for a package's file, found at run time from the package's own entry (which the service
 * resolves: it must be the same copy the bundle was built from) and pointed at the file itself, so relative
 * requires and the package's dependencies resolve as they did.
 */
function anchorAt(root: string, owner: { name: string; dir: string }, file: string): string {
  let entry: string;
  try {
    entry = realpathSync(createRequire(join(root, 'package.json')).resolve(owner.name));
  } catch {
    throw new BundleError(
      'RAMPART_BUNDLE_EXTERNAL',
      `${file} requires modules relative to ${owner.name}, which the service cannot resolve: add ${owner.name} to its dependencies`,
    );
  }
  if (!inside(realpathSync(owner.dir), entry)) {
    throw new BundleError(
      'RAMPART_BUNDLE_EXTERNAL',
      `${file} requires modules relative to ${owner.name}, but the service resolves another copy of it (${entry}): add ${owner.name} at the bundled version to its dependencies`,
    );
  }
  const path = posix(relative(dirname(entry), realpathSync(file)));
  return `new URL(${JSON.stringify(path.startsWith('.') ? path : `./${path}`)}, ${RESOLVE}(${JSON.stringify(owner.name)}))`;
}

/** Bundles each of `options.entries` with the preloads into `<outdir>/bundle/<name>/` (chunks, source maps; assets shared); see the module doc. */
export async function bundleService(options: BundleOptions): Promise<BundleResult> {
  const root = resolve(options.root);
  const outdir = resolve(root, options.outdir ?? 'dist');
  const bundleDir = join(outdir, BUNDLE_DIR);
  const external = [...(options.external ?? DEFAULT_EXTERNAL)];
  if (!existsSync(join(root, 'package.json'))) {
    throw new BundleError(
      'RAMPART_BUNDLE_INPUT',
      `${root} has no package.json: run rampart-bundle in a service`,
    );
  }
  if (options.entries.length === 0) throw new BundleError('RAMPART_BUNDLE_INPUT', 'no entry files given');
  for (const entry of options.entries) {
    const file = resolve(root, entry);
    if (!existsSync(file) || !statSync(file).isFile()) {
      throw new BundleError('RAMPART_BUNDLE_INPUT', `entry ${entry} does not exist in ${root}`);
    }
  }
  const preloads = (options.preload ?? []).map((spec) => {
    let file: string;
    try {
      file = spec.startsWith('.')
        ? resolve(root, spec)
        : createRequire(join(root, 'package.json')).resolve(spec);
    } catch {
      throw new BundleError('RAMPART_BUNDLE_INPUT', `preload ${spec} does not resolve from ${root}`);
    }
    if (!existsSync(file)) throw new BundleError('RAMPART_BUNDLE_INPUT', `preload ${spec} does not exist`);
    return { spec, file, name: basename(file, extname(file)) };
  });
  const entries = options.entries.map((entry) => ({
    entry,
    file: resolve(root, entry),
    name: basename(entry, extname(entry)),
  }));
  const names = [...entries, ...preloads].map((entry) => entry.name);
  const clash = names.find((name, index) => names.indexOf(name) !== index);
  if (clash)
    throw new BundleError(
      'RAMPART_BUNDLE_INPUT',
      `two entries would both be written as ${BUNDLE_DIR}/${clash}.js`,
    );
  const reserved = entries.find((entry) => entry.name === ASSETS_DIR || entry.name === COMPILE_CACHE_DIR);
  if (reserved)
    throw new BundleError(
      'RAMPART_BUNDLE_INPUT',
      `entry ${reserved.entry} would be written to ${BUNDLE_DIR}/${reserved.name}/, which the bundle keeps for its ${reserved.name === ASSETS_DIR ? 'copied folders' : 'compile cache'}: rename the file`,
    );
  const assets = new Map<string, string>();
  const outputs: { path: string; contents: Uint8Array }[] = [];
  const inputs = new Set<string>();
  // One build per entry, with the preloads: a server and a worker are separate processes, and chunks
  // shared between two entries let esbuild run a shared module earlier than its importer's own order did.
  // The preloads share the entry's chunks, so they and the service use one copy of every module.
  for (const entry of entries) {
    const buildDir = join(bundleDir, entry.name);
    let result: { metafile: Metafile; outputFiles: OutputFile[]; warnings: Message[] };
    try {
      result = await build({
        absWorkingDir: root,
        entryPoints: [entry, ...preloads].map((point) => ({ in: point.file, out: point.name })),
        outdir: buildDir,
        entryNames: '[name]',
        // Chunks sit beside the entries, so a path made relative to the build directory holds in every file.
        chunkNames: 'chunk-[hash]',
        bundle: true,
        splitting: true,
        platform: 'node',
        format: 'esm',
        target: 'node22',
        sourcemap: 'linked',
        banner: { js: BANNER },
        external,
        metafile: true,
        write: false,
        logLevel: 'silent',
        plugins: [builtinPlugin(), locationPlugin(root, buildDir, bundleDir, assets)],
      });
    } catch (error) {
      const cause = (error as { errors?: Message[] }).errors;
      const own = cause?.find((message) => message.detail instanceof BundleError)?.detail;
      if (own instanceof BundleError) throw own;
      throw new BundleError('RAMPART_BUNDLE_BUILD', describe(cause) || (error as Error).message);
    }
    // A warning is code the bundle would run differently (a require it cannot follow, an import it cannot
    // see): none is let through.
    if (result.warnings.length > 0) throw new BundleError('RAMPART_BUNDLE_BUILD', describe(result.warnings));
    // Every package the bundle is told to leave outside must resolve from the service, subpath and all.
    // (esbuild also leaves out a require it cannot resolve inside try/catch, an optional dependency such
    // as pg's pg-native: the code already copes with it missing.)
    for (const output of Object.values(result.metafile.outputs)) {
      for (const { path, external: outside } of output.imports) {
        const name = path.startsWith('@')
          ? path.split('/').slice(0, 2).join('/')
          : (path.split('/')[0] as string);
        if (!outside || !external.includes(name) || resolvableFrom(root, path)) continue;
        throw new BundleError(
          'RAMPART_BUNDLE_EXTERNAL',
          `the bundle loads ${path} from node_modules at run time, but ${root} cannot resolve it: add ${name} to the service's dependencies`,
        );
      }
    }
    for (const input of Object.keys(result.metafile.inputs)) {
      if (!input.startsWith(`${BUILTIN_NAMESPACE}:`)) inputs.add(input);
    }
    const dynamicCommonJs = commonJsImportedDynamically(result.metafile);
    outputs.push(
      ...result.outputFiles.map((file) => ({
        path: file.path,
        contents: withCommonJsNamespaces(file, relative(root, file.path), result.metafile, dynamicCommonJs),
      })),
    );
  }

  // Nothing was written until here. The new bundle is written beside the old one and swapped in, so a
  // failure while writing leaves the previous bundle whole.
  const files: BundleResult['files'] = [];
  const staging = `${bundleDir}.new-${process.pid}`;
  const retired = `${bundleDir}.old-${process.pid}`;
  const staged = (path: string) => join(staging, relative(bundleDir, path));
  let swapped = false;
  let compileCache: string | undefined;
  try {
    rmSync(staging, { recursive: true, force: true });
    for (const file of outputs) {
      mkdirSync(dirname(staged(file.path)), { recursive: true });
      writeFileSync(staged(file.path), file.contents);
      files.push({ path: posix(relative(root, file.path)), bytes: file.contents.byteLength });
    }
    for (const [to, from] of assets) cpSync(from, staged(to), { recursive: true });
    const prime = join(bundleDir, PRIME_SCRIPT);
    writeFileSync(staged(prime), PRIME_SOURCE);
    files.push({ path: posix(relative(root, prime)), bytes: Buffer.byteLength(PRIME_SOURCE) });
    // Filled in the staging folder: its keys are paths relative to the cache folder, which the swap keeps.
    if (options.compileCache !== false) compileCache = primeCompileCache(staged(prime));
    // `<outdir>/<name>.js` turns the compile cache on, runs the preloads to completion, then the bundled
    // entry: `node dist/server.js` starts the service. Written to a temporary name and renamed, so it is
    // never half there.
    const shims = entries.map(({ entry, name }) => {
      const imports = [...preloads.map((preload) => preload.name), name].map(
        (file) => `await import('./${BUNDLE_DIR}/${name}/${file}.js');`,
      );
      const path = join(outdir, `${name}.js`);
      const text = [
        `// Written by rampart-bundle: the bundled ${entry}.`,
        `// The bundle's compiled code (${BUNDLE_DIR}/${PRIME_SCRIPT} made it), so a start skips most of compiling;`,
        '// Node turns it off for another version or user, or with NODE_DISABLE_COMPILE_CACHE=1.',
        CACHE_SUPPORTED,
        'if (supported) {',
        "  process.getBuiltinModule('node:module').enableCompileCache({",
        `    directory: process.getBuiltinModule('node:url').fileURLToPath(new URL('./${BUNDLE_DIR}/${COMPILE_CACHE_DIR}', import.meta.url)),`,
        '    portable: true,',
        '  });',
        '}',
        ...imports,
        '',
      ].join('\n');
      writeFileSync(`${path}.new-${process.pid}`, text);
      return { path, text };
    });
    if (existsSync(bundleDir)) renameSync(bundleDir, retired);
    renameSync(staging, bundleDir);
    swapped = true;
    for (const { path, text } of shims) {
      renameSync(`${path}.new-${process.pid}`, path);
      files.push({ path: posix(relative(root, path)), bytes: Buffer.byteLength(text) });
    }
    rmSync(retired, { recursive: true, force: true });
  } catch (error) {
    // Back to the previous bundle (a shim already renamed names the same files in it).
    if (swapped) rmSync(bundleDir, { recursive: true, force: true });
    if (existsSync(retired) && !existsSync(bundleDir)) renameSync(retired, bundleDir);
    rmSync(staging, { recursive: true, force: true });
    for (const { name } of entries) rmSync(join(outdir, `${name}.js.new-${process.pid}`), { force: true });
    if (error instanceof BundleError) throw error;
    throw new BundleError(
      'RAMPART_BUNDLE_WRITE',
      `could not write the bundle to ${bundleDir}: ${(error as Error).message}`,
    );
  }
  return {
    files,
    modules: inputs.size,
    assets: [...assets].map(([to, from]) => ({
      from: posix(relative(root, from)),
      to: posix(relative(root, to)),
    })),
    ...(compileCache === undefined ? {} : { compileCache }),
  };
}

/**
 * The chunks that are a CommonJS module imported with `import()`. Node gives such an import the module's
 * named exports (found by its CommonJS lexer) beside `default`; esbuild's chunk for it exports `default` only
 * (`export default require_undici()`), so `(await import('undici')).Agent` is undefined in the bundle and a
 * function in the sources. Each is rewritten where it is imported (withCommonJsNamespaces).
 */
function commonJsImportedDynamically(metafile: Metafile): Set<string> {
  const imported = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const { path, kind } of output.imports) if (kind === 'dynamic-import') imported.add(path);
  }
  const chunks = new Set<string>();
  for (const [path, output] of Object.entries(metafile.outputs)) {
    const entry = output.entryPoint;
    if (entry && imported.has(path) && metafile.inputs[entry]?.format === 'cjs') chunks.add(path);
  }
  return chunks;
}

/** What Node's ES namespace of a CommonJS module holds: its own enumerable properties, and `default`. */
const COMMONJS_NAMESPACE = [
  'function __rampartCommonJsNamespace(namespace) {',
  '  const exported = namespace.default;',
  "  if (exported === null || (typeof exported !== 'object' && typeof exported !== 'function')) return namespace;",
  '  return Object.freeze(Object.assign(Object.create(null), exported, { default: exported }));',
  '}',
].join('\n');

/**
 * `import("./chunk-X.js")` of a CommonJS chunk becomes `import("./chunk-X.js").then(__rampartCommonJsNamespace)`,
 * and the function is added before the source-map comment (a declaration, so hoisted): lines keep their
 * numbers, and only what follows the import on its line moves in the source map.
 */
function withCommonJsNamespaces(
  file: OutputFile,
  outPath: string,
  metafile: Metafile,
  chunks: ReadonlySet<string>,
): Uint8Array {
  const targets = (metafile.outputs[outPath]?.imports ?? []).filter(
    ({ path, kind }) => kind === 'dynamic-import' && chunks.has(path),
  );
  if (targets.length === 0) return file.contents;
  let text = file.text;
  for (const { path } of targets) {
    const from = relative(dirname(outPath), path);
    const site = `import(${JSON.stringify(from.startsWith('.') ? from : `./${from}`)})`;
    if (!text.includes(site)) {
      throw new BundleError(
        'RAMPART_BUNDLE_BUILD',
        `${outPath} imports the CommonJS chunk ${path} in a form the bundle cannot rewrite; its named exports would be missing`,
      );
    }
    text = text.replaceAll(site, `${site}.then(__rampartCommonJsNamespace)`);
  }
  const mapComment = text.lastIndexOf('\n//# sourceMappingURL=');
  const at = mapComment === -1 ? text.length : mapComment;
  return new TextEncoder().encode(`${text.slice(0, at)}\n${COMMONJS_NAMESPACE}${text.slice(at)}`);
}

/**
 * Runs the prime script with this Node (its own process: the compile cache is per process, and the script
 * must see the cache folder as a fresh start does). A cache another setting already turned on elsewhere
 * (NODE_COMPILE_CACHE) is not this bundle's, so that variable is left out.
 */
function primeCompileCache(script: string): string {
  const { NODE_COMPILE_CACHE: _elsewhere, NODE_OPTIONS: _options, ...env } = process.env;
  const run = spawnSync(process.execPath, [script], { env, encoding: 'utf8', timeout: 120_000 });
  if (run.status !== 0) {
    throw new BundleError(
      'RAMPART_BUNDLE_BUILD',
      `the bundle does not compile as Node loads it: ${(run.stderr || run.error?.message || `exit ${run.status}`).trim()}`,
    );
  }
  return run.stdout.trim();
}

/** esbuild's messages as `file: text` lines. */
function describe(messages: Message[] | undefined): string {
  return (messages ?? [])
    .map((message) => `${message.location?.file ? `${message.location.file}: ` : ''}${message.text}`)
    .join('\n');
}

/**
 * A service's start command as its package.json says (`"start": "node --max-semi-space-size=16
 * dist/server.js"`): Node's flags and the entry. The bench and the reliability suite start the service
 * with it, so they run it as `pnpm start` and the Dockerfile do. Anything but `node [--flag...] <file>.js`
 * is refused: those tools do not run a shell.
 */
export function startCommand(root: string, script = 'start'): { flags: string[]; entry: string } {
  const manifest = join(root, 'package.json');
  let command: string | undefined;
  try {
    command = (JSON.parse(readFileSync(manifest, 'utf8')) as { scripts?: Record<string, string> }).scripts?.[
      script
    ];
  } catch (error) {
    throw new BundleError('RAMPART_BUNDLE_INPUT', `${manifest} cannot be read: ${(error as Error).message}`);
  }
  const words = command?.trim().split(/\s+/) ?? [];
  const entry = words.at(-1) ?? '';
  const flags = words.slice(1, -1);
  // `--flag` or `--flag=value` only: a flag whose value is the next word (`--require x`) would take the
  // entry, or whatever a caller inserts before it, as its value.
  const valueTaking =
    /^--(?:import|require|loader|experimental-loader|env-file|input-type|conditions|title)$/;
  if (
    words[0] !== 'node' ||
    entry.startsWith('-') ||
    !entry.endsWith('.js') ||
    !flags.every((flag) => /^--[\w-]+(=[\w.,:/-]+)?$/.test(flag) && !valueTaking.test(flag))
  ) {
    throw new BundleError(
      'RAMPART_BUNDLE_INPUT',
      `${manifest} scripts.${script} is ${JSON.stringify(command)}; expected "node [--flag...] <file>.js"`,
    );
  }
  return { flags, entry };
}
