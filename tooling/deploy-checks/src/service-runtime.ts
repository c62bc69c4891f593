import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, posix } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { readTracingConfig } from '@rampart/observability';
import { PLUGIN_DEFAULTS } from '@rampart/observability/fastify';

/** What a service's `build` script writes that `node` can start. */
export interface BuildEntries {
  /** rampart-bundle's start files (`dist/server.js`), each with the source it is built from (`src/server.ts`). */
  bundled: Map<string, string>;
  /** The JavaScript tsc writes (`tsc -p tsconfig.build.json`), each with its source. */
  compiled: Map<string, string>;
}

/** rampart-bundle's options (tooling/bundle/src/cli.ts), so its command line is read as it reads it. */
const BUNDLE_OPTIONS = {
  root: { type: 'string', default: '.' },
  outdir: { type: 'string', default: 'dist' },
  external: { type: 'string', multiple: true },
  preload: { type: 'string', multiple: true },
} as const;

/**
 * The files a service's build writes that a container could start, from its package.json `build` script:
 * each `rampart-bundle <entry>...` entry `src/<name>.ts` becomes `<outdir>/<name>.js`, and each
 * `tsc -p <config>` writes its included sources to outDir. Undefined when there is no build script.
 */
export function readBuildEntries(serviceDir: string): BuildEntries | undefined {
  const manifest = join(serviceDir, 'package.json');
  if (!existsSync(manifest)) return undefined;
  const build = (JSON.parse(readFileSync(manifest, 'utf8')) as { scripts?: { build?: unknown } }).scripts
    ?.build;
  if (typeof build !== 'string') return undefined;
  const result: BuildEntries = { bundled: new Map(), compiled: new Map() };
  for (const command of build.split(/&&|\|\||;/)) {
    const words = command.trim().split(/\s+/).filter(Boolean);
    const tool = words[0] === 'npx' || words[0] === 'pnpm' ? words.slice(1) : words;
    if (tool[0] === 'rampart-bundle') {
      const { values, positionals } = parseArgs({
        args: tool.slice(1),
        options: BUNDLE_OPTIONS,
        allowPositionals: true,
        strict: false,
      });
      const outdir = posix.normalize(posix.join(String(values.root ?? '.'), String(values.outdir ?? 'dist')));
      for (const entry of positionals) {
        const name = basename(entry, extname(entry));
        result.bundled.set(posix.join(outdir, `${name}.js`), posix.normalize(entry));
      }
    } else if (tool[0] === 'tsc') {
      const index = tool.findIndex((word) => word === '-p' || word === '--project');
      const config = index === -1 ? 'tsconfig.json' : (tool[index + 1] ?? 'tsconfig.json');
      for (const [file, source] of tscOutputs(serviceDir, config)) result.compiled.set(file, source);
    }
  }
  return result;
}

/** The .js files `tsc -p <config>` writes: include minus exclude, from rootDir to outDir (no `extends` read). */
function tscOutputs(serviceDir: string, configName: string): [string, string][] {
  const configFile = join(serviceDir, configName);
  if (!existsSync(configFile)) return [];
  let config: {
    compilerOptions?: { rootDir?: string; outDir?: string };
    include?: string[];
    exclude?: string[];
  };
  try {
    config = JSON.parse(readFileSync(configFile, 'utf8'));
  } catch {
    return [];
  }
  const outDir = config.compilerOptions?.outDir;
  if (!outDir) return [];
  const rootDir = config.compilerOptions?.rootDir ?? '.';
  const toRegExp = (pattern: string) => {
    const clean = posix.normalize(pattern).replace(/\/$/, '');
    const full = join(serviceDir, clean);
    // A directory stands for everything under it, as in tsconfig's include.
    const glob =
      !/[*?]/.test(clean) && existsSync(full) && statSync(full).isDirectory() ? `${clean}/**/*` : clean;
    const parts = glob.split('/');
    const source = parts
      .map((part, index) => {
        const last = index === parts.length - 1;
        if (part === '**') return last ? '.*' : '(?:[^/]+/)*';
        const escaped = part
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '[^/]*')
          .replace(/\?/g, '[^/]');
        return last ? escaped : `${escaped}/`;
      })
      .join('');
    return new RegExp(`^${source}$`);
  };
  const include = (config.include ?? ['**/*']).map(toRegExp);
  const exclude = (config.exclude ?? []).map(toRegExp);
  const outputs: [string, string][] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(serviceDir, dir), { withFileTypes: true })) {
      const path = dir === '' ? entry.name : `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && !entry.name.startsWith('.')) walk(path);
      } else if (/\.[cm]?ts$/.test(entry.name) && !/\.d\.[cm]?ts$/.test(entry.name)) {
        if (!include.some((pattern) => pattern.test(path)) || exclude.some((pattern) => pattern.test(path)))
          continue;
        const out = posix.join(outDir, posix.relative(rootDir, path)).replace(/\.([cm]?)ts$/, '.$1js');
        outputs.push([posix.normalize(out), path]);
      }
    }
  };
  walk('');
  return outputs;
}

/** The files a container may start: rampart-bundle's start files, or tsc's output when nothing is bundled. */
export function startFiles(entries: BuildEntries): ReadonlyMap<string, string> {
  return entries.bundled.size > 0 ? entries.bundled : entries.compiled;
}

/** The start file for a role, by the source it is built from: `src/server.ts` serves, `src/worker.ts` works. */
export function entryFor(entries: BuildEntries, role: 'server' | 'worker'): string | undefined {
  for (const [script, source] of startFiles(entries))
    if (basename(source, extname(source)) === role) return script;
  return undefined;
}

// Node options whose value is the next argument (`--import x`): never the script.
const NODE_VALUE_OPTIONS = new Set([
  '-r',
  '--require',
  '--import',
  '--loader',
  '--experimental-loader',
  '-C',
  '--conditions',
  '--env-file',
  '--env-file-if-exists',
  '--input-type',
  '--title',
  '--inspect-port',
  '--redirect-warnings',
  '--diagnostic-dir',
  '--report-dir',
  '--watch-path',
]);
const INLINE_CODE = new Set(['-e', '--eval', '-p', '--print']);

/**
 * The script a container's command line starts with node, relative to `workdir` (`dist/server.js`), or
 * why there is none: node not run, inline code (`node -e`), or no script argument. Init processes before
 * node (`tini --`) and a `sh -c "node ..."` are looked through.
 */
export function nodeScript(argv: readonly string[], workdir = '/'): { script: string } | { none: string } {
  const shell = argv.findIndex(
    (word, index) => word === '-c' && /(^|\/)(ba|da)?sh$/.test(argv[index - 1] ?? ''),
  );
  if (shell !== -1)
    return nodeScript(
      (argv[shell + 1] ?? '').split(/\s+/).filter((word) => word !== 'exec'),
      workdir,
    );
  const node = argv.findIndex((word) => /(^|\/)node(js)?$/.test(word));
  if (node === -1) return { none: `does not run node (${argv.join(' ') || 'no command'})` };
  for (let i = node + 1; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--')
      return argv[i + 1]
        ? { script: relativeTo(argv[i + 1]!, workdir) }
        : { none: 'runs node with no script' };
    if (INLINE_CODE.has(word)) return { none: `runs inline code (node ${word})` };
    if (word.startsWith('-')) {
      if (!word.includes('=') && NODE_VALUE_OPTIONS.has(word)) i++;
      continue;
    }
    return { script: relativeTo(word, workdir) };
  }
  return { none: 'runs node with no script (a REPL)' };
}

function relativeTo(script: string, workdir: string): string {
  const absolute = posix.isAbsolute(script) ? script : posix.join(workdir, script);
  return posix.relative(workdir, posix.normalize(absolute)) || script;
}

/**
 * The path the service serves metrics on for each start file: the server entry's from its
 * `register(observability, { metricsPath })` (@rampart/observability's default when not set), the worker
 * entry's from the `request.url === '<path>'` branch that answers with `registry.metrics()`. A start file
 * whose path cannot be read is left out; `false` where the service turned its endpoint off.
 */
export function readMetricsPaths(serviceDir: string, entries: BuildEntries): Map<string, string | false> {
  const paths = new Map<string, string | false>();
  const server = entryFor(entries, 'server');
  if (server) {
    const sources = sourceFiles(join(serviceDir, 'src')).map((file) => readFileSync(file, 'utf8'));
    const registration = sources
      .flatMap((source) => [...source.matchAll(/register\(\s*observability\s*,\s*\{([^}]*)\}/g)])
      .map((match) => match[1]!);
    const option = registration
      .map((options) => /\bmetricsPath:\s*(false|'([^']*)'|"([^"]*)")/.exec(options))
      .find((match) => match !== null);
    if (registration.length > 0 && !registration.some((options) => /\bmetricsPort\b/.test(options))) {
      paths.set(
        server,
        option ? (option[1] === 'false' ? false : (option[2] ?? option[3]!)) : PLUGIN_DEFAULTS.metricsPath,
      );
    }
  }
  const worker = entryFor(entries, 'worker');
  const workerSource = worker ? join(serviceDir, startFiles(entries).get(worker)!) : undefined;
  if (worker && workerSource && existsSync(workerSource)) {
    const source = readFileSync(workerSource, 'utf8');
    const answer = source.indexOf('.metrics()');
    if (answer !== -1) {
      const branches = [...source.slice(0, answer).matchAll(/request\.url\s*===\s*['"]([^'"]+)['"]/g)];
      const path = branches.at(-1)?.[1];
      if (path) paths.set(worker, path);
    }
  }
  return paths;
}

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.[cm]?ts$/.test(entry.name) && !/\.(test|spec)\.[cm]?ts$/.test(entry.name) ? [path] : [];
  });
}

/** How a service's environment is validated: its own parser, or (when that cannot run safely) a few rules. */
export type EnvValidator =
  | {
      kind: 'parser';
      /** Runs src/env.ts's parseEnv: the parsed values, or the parser's problems (one line each). */
      parse(values: Readonly<Record<string, string>>): { env?: Record<string, unknown>; problems: string[] };
    }
  | {
      kind: 'static';
      /** Why the parser is not run. */
      reason: string;
      /** Variables src/env.ts declares as Type.Integer. */
      integers: Set<string>;
      /** HOST's default in src/env.ts, when it is a literal. */
      hostDefault: string | undefined;
    };

// Modules env.ts may import for it to be imported here: the schema library and Node's builtins, nothing
// of the service's, so importing it runs no service code.
const SAFE_IMPORT = /^(typebox|@sinclair\/typebox|node:[a-z_/]+)(\/.*)?$/;

/**
 * The service's own environment parser: src/env.ts's exported `parseEnv`, imported when the file imports
 * only TypeBox and Node builtins and never exits the process (so importing it has no side effects), and
 * it loads. Otherwise a static fallback, with the reason.
 */
export async function loadEnvValidator(envFile: string): Promise<EnvValidator> {
  const source = readFileSync(envFile, 'utf8');
  const fallback = (reason: string): EnvValidator => {
    const integers = new Set(
      [...source.matchAll(/^ {2}([A-Z][A-Z0-9_]*):\s*Type\.Integer\(/gm)].map((match) => match[1]!),
    );
    const hostDefault = /^ {2}HOST:\s*Type\.String\(\{[^}]*\bdefault:\s*['"]([^'"]*)['"]/m.exec(source)?.[1];
    return { kind: 'static', reason, integers, hostDefault };
  };
  const imports = [...source.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]/gm)].map(
    (match) => match[1]!,
  );
  const unsafe = imports.filter((specifier) => !SAFE_IMPORT.test(specifier));
  if (unsafe.length > 0) return fallback(`it imports ${unsafe.join(', ')}, which could run service code`);
  if (/\bimport\s*\(|\bprocess\.(exit|on|once|kill)\b|^\s*await\b/m.test(source))
    return fallback('it has side effects (a dynamic import, a top-level await or process control)');
  if (!/export\s+function\s+parseEnv\s*\(/.test(source)) return fallback('it exports no parseEnv function');
  let parseEnv: (values: Record<string, string>) => Record<string, unknown>;
  try {
    parseEnv = ((await import(pathToFileURL(envFile).href)) as { parseEnv: typeof parseEnv }).parseEnv;
  } catch (error) {
    return fallback(
      `it does not load here (${(error as Error).message.split('\n').slice(0, 2).join(' ').trim()})`,
    );
  }
  return {
    kind: 'parser',
    parse(values) {
      try {
        return { env: parseEnv({ ...values }), problems: [] };
      } catch (error) {
        const { problems, message } = error as { problems?: unknown; message?: string };
        return {
          problems:
            Array.isArray(problems) && problems.every((problem) => typeof problem === 'string')
              ? problems
              : [String(message ?? error)],
        };
      }
    },
  };
}

/**
 * The variables @rampart/observability's register hook reads (it runs before src/env.ts): found by running
 * its readTracingConfig over an environment that records every name asked for, once as it is and once
 * with the OTLP exporter chosen (whose settings are read only then).
 */
export function tracingVariables(): Set<string> {
  const read = new Set<string>();
  const recording = (values: Record<string, string>) =>
    new Proxy(values, {
      get(target, key) {
        if (typeof key === 'string') read.add(key);
        return typeof key === 'string' ? target[key] : undefined;
      },
    });
  readTracingConfig(recording({}));
  readTracingConfig(recording({ OTEL_TRACES_EXPORTER: 'otlp' }));
  return read;
}

/** Why the register hook would refuse these values (it exits 1 before the service starts), if it would. */
export function tracingProblem(values: Readonly<Record<string, string>>): string | undefined {
  try {
    readTracingConfig(values);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
