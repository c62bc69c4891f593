import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { build, type Loader, type Metafile, type OutputFile, type Plugin } from 'esbuild';

/**
 * Bundles a service's entry points (its server and worker) into single ES modules, with their workspace
 * packages and dependencies inside. A cold start then reads a handful of files instead of ~1,500 (TypeBox
 * alone is 683 modules, OpenTelemetry ~190, drizzle-orm ~110): resolving, stat-ing and compiling each one
 * was most of a generated service's start-up in bench/.
 *
 * Moving code into one file changes what `import.meta.url` means, so every module that uses it is
 * rewritten or refused, never shipped silently wrong:
 * - `new URL('<relative path>', import.meta.url)` (a package's migrations folder): a path inside the
 *   service is re-pointed from the output directory; one inside a package is copied to
 *   `<outdir>/bundle/assets/<package>/...` and pointed there, so the service does not depend on where pnpm put it.
 * - `createRequire(import.meta.url)` in a package: anchored at the package's own entry at run time
 *   (`import.meta.resolve('<package>')`), so it still finds that package's dependencies.
 * - any other use, outside the service's own code: a `BundleError` naming the file; mark its package
 *   external instead.
 * Packages that load files next to themselves at run time (PGlite's WebAssembly and data files) stay
 * external and must be dependencies of the service, which the bundle checks.
 */

export interface BundleOptions {
  /** The service's directory (holds its package.json). */
  root: string;
  /**
   * Entry files relative to `root`, e.g. `['src/server.ts', 'src/worker.ts']`: each becomes
   * `<outdir>/bundle/<name>.js`, loaded by a one-line `<outdir>/<name>.js`.
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
}

export interface BundleResult {
  /** Files written, relative to `root`, with their sizes in bytes. */
  files: { path: string; bytes: number }[];
  /** Source modules inside the bundle. */
  modules: number;
  /** Folders and files copied beside the bundle, relative to `root`. */
  assets: { from: string; to: string }[];
}

/** PGlite reads its .wasm and .data files relative to its own modules. */
export const DEFAULT_EXTERNAL: readonly string[] = ['@electric-sql/pglite'];

export type BundleErrorCode =
  | 'RAMPART_BUNDLE_INPUT'
  | 'RAMPART_BUNDLE_EXTERNAL'
  | 'RAMPART_BUNDLE_IMPORT_META'
  | 'RAMPART_BUNDLE_BUILD';

/** A bundle that would not run as the sources do; nothing has been written when it is thrown. */
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

/** Whether `name` resolves from the service's directory, as it must at run time from the bundle. */
function resolvableFrom(root: string, name: string): boolean {
  try {
    createRequire(join(root, 'package.json')).resolve(name);
    return true;
  } catch {
    // An ESM-only package (no "require" condition) still has a package.json there.
    return existsSync(join(root, 'node_modules', name, 'package.json'));
  }
}

/** Source without comments, for the checks below (a URL's `//` may cut a line short: only more lenient). */
const code = (source: string) => source.replace(/\/\/[^\n]*|\/\*[\s\S]*?\*\//g, '');

function locationPlugin(root: string, bundleDir: string, assets: Map<string, string>): Plugin {
  // The service's own files: under its directory and not in its node_modules.
  const isService = (path: string) => inside(root, path) && !path.includes(`${sep}node_modules${sep}`);
  return {
    name: 'rampart-file-locations',
    setup(esbuild) {
      esbuild.onLoad({ filter: /\.[cm]?[jt]s$/ }, (args) => {
        const source = readFileSync(args.path, 'utf8');
        const ours = isService(args.path);
        if (!ours && DIRNAME_PATTERN.test(code(source))) {
          const owner = owningPackage(args.path);
          if (!(owner.name in HARMLESS_DIRNAME)) {
            throw new BundleError(
              'RAMPART_BUNDLE_IMPORT_META',
              `${args.path} uses __dirname or __filename, which would name the bundle's directory instead of ${owner.name}'s: mark it external (--external ${owner.name})`,
            );
          }
        }
        if (!source.includes('import.meta')) return undefined;
        const owner = ours ? undefined : owningPackage(args.path);
        let contents = source.replace(URL_PATTERN, (_match, _quote: string, path: string) => {
          const target = resolve(dirname(args.path), path);
          if (ours || isService(target)) {
            return `new URL(${JSON.stringify(posix(relative(bundleDir, target)) || '.')}, ${HERE})`;
          }
          if (!existsSync(target)) {
            throw new BundleError(
              'RAMPART_BUNDLE_INPUT',
              `${args.path} points at ${target}, which does not exist, so there is nothing to copy beside the bundle`,
            );
          }
          const pkg = owner as { name: string; dir: string };
          const copy = join(bundleDir, 'assets', pkg.name, relative(pkg.dir, target));
          assets.set(copy, target);
          return `new URL(${JSON.stringify(`./${posix(relative(bundleDir, copy))}`)}, ${HERE})`;
        });
        if (owner) {
          // `const require = createRequire(import.meta.url)` only to load modules lazily: dropped, so the
          // bundle holds what it requires (evaluated at the first call, as before). A file that also uses
          // require.resolve or require.cache keeps a require anchored at its package instead.
          if (REQUIRE_DECLARATION.test(contents) && !/\brequire\.\w/.test(code(contents))) {
            contents = contents.replace(REQUIRE_DECLARATION, '');
          }
          contents = contents.replace(REQUIRE_PATTERN, () => {
            if (!resolvableFrom(root, owner.name)) {
              throw new BundleError(
                'RAMPART_BUNDLE_EXTERNAL',
                `${args.path} requires modules relative to ${owner.name}, which the service cannot resolve: add ${owner.name} to its dependencies`,
              );
            }
            return `createRequire(${RESOLVE}(${JSON.stringify(owner.name)}))`;
          });
        } else {
          // The service's own require resolves packages from dist/bundle/ as from src/: the same node_modules.
          contents = contents.replace(REQUIRE_PATTERN, `createRequire(${HERE})`);
        }
        // What is left depends on where the file sits (import.meta.dirname, a computed URL...): refuse it.
        const left = /import\.meta\.(\w+)/.exec(code(contents));
        if (left) {
          throw new BundleError(
            'RAMPART_BUNDLE_IMPORT_META',
            owner
              ? `${args.path} uses import.meta.${left[1]} in a way the bundle cannot keep: mark ${owner.name} external (--external ${owner.name})`
              : `${args.path} uses import.meta.${left[1]}, which would name dist/bundle/ instead of this file's folder: write new URL('<path relative to this file>', import.meta.url), which the bundle keeps pointing at the same place`,
          );
        }
        contents = contents.replaceAll(HERE, 'import.meta.url').replaceAll(RESOLVE, 'import.meta.resolve');
        if (contents === source) return undefined;
        return { contents, loader: LOADERS[extname(args.path)] ?? 'js', resolveDir: dirname(args.path) };
      });
    },
  };
}

/** Bundles `options.entries` into `<outdir>/bundle/` (+ shared chunks, source maps, assets); see the module doc. */
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
  const unresolvable = external.filter((name) => !resolvableFrom(root, name));
  const assets = new Map<string, string>();
  let result: { metafile: Metafile; outputFiles: OutputFile[] };
  try {
    result = await build({
      absWorkingDir: root,
      entryPoints: [...entries, ...preloads].map((entry) => ({ in: entry.file, out: entry.name })),
      outdir: bundleDir,
      entryNames: '[name]',
      // Chunks sit beside the entries, so a path made relative to the bundle directory holds in every file.
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
      plugins: [locationPlugin(root, bundleDir, assets)],
    });
  } catch (error) {
    const cause = (
      error as { errors?: { detail?: unknown; text: string; location?: { file: string } | null }[] }
    ).errors;
    const own = cause?.find((entry) => entry.detail instanceof BundleError)?.detail;
    if (own instanceof BundleError) throw own;
    const text = cause?.map((entry) => `${entry.location?.file ?? ''}: ${entry.text}`).join('\n');
    throw new BundleError('RAMPART_BUNDLE_BUILD', text || (error as Error).message);
  }
  // Checked after the build so the message can say whether the bundle really imports the package.
  const imported = new Set(
    Object.values(result.metafile.outputs).flatMap((output) => output.imports.map((entry) => entry.path)),
  );
  const missing = unresolvable.filter((name) => imported.has(name));
  if (missing.length > 0) {
    throw new BundleError(
      'RAMPART_BUNDLE_EXTERNAL',
      `the bundle loads ${missing.join(', ')} from node_modules at run time, but ${root} cannot resolve ${missing.length > 1 ? 'them' : 'it'}: add ${missing.join(', ')} to the service's dependencies`,
    );
  }

  // Nothing was written until here: a refused bundle leaves the previous one in place.
  rmSync(bundleDir, { recursive: true, force: true });
  mkdirSync(bundleDir, { recursive: true });
  const files: BundleResult['files'] = [];
  const write = (path: string, contents: Uint8Array | string) => {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, contents);
    files.push({ path: posix(relative(root, path)), bytes: Buffer.byteLength(contents) });
  };
  for (const file of result.outputFiles) write(file.path, file.contents);
  for (const [to, from] of assets) cpSync(from, to, { recursive: true });
  // `<outdir>/<name>.js` (where tsc put the unbundled entry) runs the preloads to completion, then the
  // bundled entry: `node dist/server.js` starts the service.
  for (const { entry, name } of entries) {
    const imports = [...preloads.map((preload) => preload.name), name].map(
      (file) => `await import('./${BUNDLE_DIR}/${file}.js');`,
    );
    write(
      join(outdir, `${name}.js`),
      `// Written by rampart-bundle: the bundled ${entry}.\n${imports.join('\n')}\n`,
    );
  }
  return {
    files,
    modules: Object.keys(result.metafile.inputs).length,
    assets: [...assets].map(([to, from]) => ({
      from: posix(relative(root, from)),
      to: posix(relative(root, to)),
    })),
  };
}

/**
 * A service's start command as its package.json says (`"start": "node --max-semi-space-size=16
 * dist/server.js"`): Node's flags and the entry. The bench and the reliability suite start the service
 * with it, so they run it as `pnpm start` and the Dockerfile do. Anything but `node [--flag...] <file>.js`
 * is refused: those tools do not run a shell.
 */
export function startCommand(root: string, script = 'start'): { flags: string[]; entry: string } {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>;
  };
  const command = manifest.scripts?.[script];
  const words = command?.trim().split(/\s+/) ?? [];
  const entry = words.at(-1) ?? '';
  const flags = words.slice(1, -1);
  if (
    words[0] !== 'node' ||
    !entry.endsWith('.js') ||
    !flags.every((flag) => /^--[\w-]+(=[\w.,:/-]+)?$/.test(flag))
  ) {
    throw new BundleError(
      'RAMPART_BUNDLE_INPUT',
      `${join(root, 'package.json')} scripts.${script} is ${JSON.stringify(command)}; expected "node [--flag...] <file>.js"`,
    );
  }
  return { flags, entry };
}
