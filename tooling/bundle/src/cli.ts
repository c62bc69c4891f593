#!/usr/bin/env node
// rampart-bundle [--root <dir>] [--outdir dist] [--external <package>]... [--preload <module>]... <entry>...
// A service's build runs `rampart-bundle --preload @rampart/observability/register src/server.ts
// src/worker.ts` after tsc: dist/server.js and dist/worker.js then load bundles of the service (see
// bundle.ts), tracing first. Exit 1 with a message on bad input.
import { parseArgs } from 'node:util';
import { BundleError, bundleService, DEFAULT_EXTERNAL, PRIME_SCRIPT } from './bundle.ts';

function usage(message: string): never {
  process.stderr.write(
    `rampart-bundle: ${message}\nusage: rampart-bundle [--root <dir>] [--outdir dist] [--external <package>]... [--preload <module>]... <entry>...\n`,
  );
  process.exit(1);
}

let parsed: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    allowPositionals: true,
    options: {
      root: { type: 'string', default: '.' },
      outdir: { type: 'string', default: 'dist' },
      external: { type: 'string', multiple: true },
      preload: { type: 'string', multiple: true },
    },
  });
}
try {
  parsed = parse();
} catch (error) {
  usage((error as Error).message);
}
const { values, positionals } = parsed;
if (positionals.length === 0) usage('name at least one entry file, e.g. src/server.ts');

const started = performance.now();
try {
  const result = await bundleService({
    root: values.root,
    outdir: values.outdir,
    entries: positionals,
    external: [...DEFAULT_EXTERNAL, ...(values.external ?? [])],
    preload: values.preload ?? [],
  });
  const code = result.files.filter((file) => file.path.endsWith('.js') && file.path.includes('/bundle/'));
  const isChunk = (path: string) => /\/chunk-[^/]+\.js$/.test(path);
  const entries = code
    .filter((file) => !isChunk(file.path) && !file.path.endsWith(`/${PRIME_SCRIPT}`))
    .map((file) => file.path);
  const bytes = code.reduce((sum, file) => sum + file.bytes, 0);
  const chunks = code.filter((file) => isChunk(file.path)).length;
  process.stdout.write(
    `rampart-bundle: ${result.modules} modules -> ${entries.join(', ')}` +
      `${chunks > 0 ? ` + ${chunks} shared chunks` : ''} (${(bytes / 1048576).toFixed(1)} MiB)` +
      `${result.assets.length > 0 ? `; copied ${result.assets.map((asset) => asset.to).join(', ')}` : ''}` +
      ` in ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
  );
  if (result.compileCache) process.stdout.write(`rampart-bundle: ${result.compileCache}\n`);
} catch (error) {
  if (error instanceof BundleError) usage(`${error.code}: ${error.message}`);
  throw error;
}
