#!/usr/bin/env node
// `pnpm release [--dry-run] [--registry <url>]`: the root script runs this file with Node 24 directly.
// See README.md ("Releasing") for the flow; release-flow.ts does the work.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isReleaseError, ReleaseError } from './errors.ts';
import { runRelease } from './release-flow.ts';

const USAGE = `usage: pnpm release [--dry-run] [--registry <url>]

  --dry-run          build and print what would be versioned, published and tagged; change nothing
  --registry <url>   publish to this registry instead of the one pnpm is configured with
  --root <dir>       the workspace root (default: the workspace this file belongs to)
`;

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

/** Runs the release CLI and returns its exit code; a failure prints `code: message`, never a stack. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const options = parseReleaseArgs(argv);
    if (options === 'help') {
      io.out(USAGE);
      return 0;
    }
    await runRelease({ ...options, log: io.out });
    return 0;
  } catch (error) {
    if (isReleaseError(error)) io.err(`${error.code}: ${error.message}\n`);
    else io.err(`release: unexpected failure: ${(error as Error)?.message ?? String(error)}\n`);
    return 1;
  }
}

/** Parses the CLI arguments; a mistake throws RAMPART_RELEASE_BAD_ARGUMENTS with the usage. */
export function parseReleaseArgs(
  argv: readonly string[],
): { root: string; dryRun: boolean; registry?: string } | 'help' {
  let values: { 'dry-run'?: boolean; registry?: string; root?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        'dry-run': { type: 'boolean' },
        registry: { type: 'string' },
        root: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new ReleaseError('RAMPART_RELEASE_BAD_ARGUMENTS', `${(error as Error).message}\n${USAGE}`, {
      cause: error,
    });
  }
  if (values.help) return 'help';
  const root = resolve(values.root ?? resolve(import.meta.dirname, '../../..'));
  if (values.registry === undefined) return { root, dryRun: values['dry-run'] === true };
  let url: URL;
  try {
    url = new URL(values.registry);
  } catch (error) {
    throw new ReleaseError('RAMPART_RELEASE_BAD_ARGUMENTS', `--registry "${values.registry}" is not a URL`, {
      cause: error,
    });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ReleaseError(
      'RAMPART_RELEASE_BAD_ARGUMENTS',
      `--registry must be http(s), got "${values.registry}"`,
    );
  }
  const registry = url.href.endsWith('/') ? url.href : `${url.href}/`;
  return { root, dryRun: values['dry-run'] === true, registry };
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2), {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  });
}
