#!/usr/bin/env node
// `node tooling/release/src/check-packages.ts [--no-build] [--root <dir>]`: publint and attw over every
// publishable package, on the tarball pnpm would publish (workspace: and catalog: ranges already rewritten).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';
import { buildPackages } from './build-packages.ts';
import { isReleaseError, ReleaseError } from './errors.ts';
import { runCommand } from './run-command.ts';
import { publishablePackages, readWorkspace, type WorkspacePackage } from './workspace.ts';

/** One finding, already worded for a person. */
export interface Finding {
  tool: 'manifest' | 'files' | 'publint' | 'attw';
  /** publint: `error` / `warning` / `suggestion`; attw: always `error` (the profile decides what counts). */
  severity: 'error' | 'warning' | 'suggestion';
  code: string;
  text: string;
}

export interface PackageCheck {
  name: string;
  path: string;
  /** True when no finding is an error or a warning (suggestions are reported, not failed). */
  ok: boolean;
  findings: Finding[];
}

/**
 * attw's `esm-only` profile: our packages are ESM only (`"type": "module"`, `exports` without `require`),
 * so resolving them from CommonJS (`node16-cjs`) or without `exports` support (`node10`) is expected to
 * fail and is not a finding; every ESM resolution (node16 from ESM, bundler) must find correct types.
 */
export const ATTW_PROFILE = 'esm-only';
const ATTW_IGNORED_RESOLUTIONS = ['node10', 'node16-cjs'];

/** Packs one package with pnpm and runs publint and attw on the tarball. */
export async function checkPackage(pkg: WorkspacePackage, scratchDir: string): Promise<PackageCheck> {
  const tarball = join(scratchDir, `${pkg.name.replace(/^@/, '').replace('/', '-')}.tgz`);
  await runCommand('pnpm', ['pack', '--out', tarball], {
    cwd: pkg.dir,
    failWith: 'RAMPART_RELEASE_COMMAND_FAILED',
  });
  const findings = [
    ...manifestFindings(pkg),
    ...(await staleOutputFindings(pkg, tarball)),
    ...(await runPublint(tarball)),
    ...(await runAttw(tarball)),
  ];
  return {
    name: pkg.name,
    path: pkg.path,
    ok: findings.every((finding) => finding.severity === 'suggestion'),
    findings,
  };
}

export interface CheckPackagesOptions {
  root: string;
  /** Build the packages first (turbo, cached). Default true. */
  build?: boolean;
  log: (text: string) => void;
}

/** Builds (unless told not to) and checks every publishable package, logging one block per package. */
export async function checkPackages(options: CheckPackagesOptions): Promise<PackageCheck[]> {
  const workspace = readWorkspace(options.root);
  const packages = publishablePackages(workspace);
  if (options.build !== false) await buildPackages(workspace, packages, { onOutput: options.log });
  options.log(
    `check-packages: publint and attw (profile ${ATTW_PROFILE}) over ${packages.length} package(s)\n`,
  );
  const scratchDir = mkdtempSync(join(tmpdir(), 'rampart-check-packages-'));
  try {
    const checks: PackageCheck[] = [];
    for (const pkg of packages) {
      const check = await checkPackage(pkg, scratchDir);
      checks.push(check);
      options.log(formatCheck(check));
    }
    const clean = checks.filter((check) => check.ok).length;
    options.log(`check-packages: ${clean} of ${checks.length} package(s) clean\n`);
    return checks;
  } finally {
    rmSync(scratchDir, { recursive: true, force: true });
  }
}

/** One package's block of the report: a status line, then one indented line per finding. */
export function formatCheck(check: PackageCheck): string {
  const lines = [`${check.ok ? 'ok  ' : 'FAIL'} ${check.name} (${check.path})`];
  for (const finding of check.findings) {
    lines.push(`       ${finding.tool} ${finding.severity} ${finding.code}: ${finding.text}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The fields every published package must set (issue 10): what platform teams' tooling and registries read
 * and publint does not insist on.
 */
export const REQUIRED_FIELDS = [
  'type',
  'exports',
  'files',
  'engines',
  'license',
  'repository',
  'sideEffects',
] as const;

function manifestFindings(pkg: WorkspacePackage): Finding[] {
  const manifest = pkg.manifest as unknown as Record<string, unknown>;
  const findings: Finding[] = REQUIRED_FIELDS.filter((field) => manifest[field] === undefined).map(
    (field) => ({
      tool: 'manifest',
      severity: 'error',
      code: 'MISSING_FIELD',
      text: `package.json has no "${field}"`,
    }),
  );
  if (manifest.type !== undefined && manifest.type !== 'module') {
    findings.push({
      tool: 'manifest',
      severity: 'error',
      code: 'NOT_ESM',
      text: 'package.json "type" is not "module"',
    });
  }
  const engines = manifest.engines as { node?: unknown } | undefined;
  if (engines && typeof engines.node !== 'string') {
    findings.push({
      tool: 'manifest',
      severity: 'error',
      code: 'MISSING_FIELD',
      text: 'package.json has no "engines.node"',
    });
  }
  return findings;
}

/**
 * Packed `dist/` files whose `src/` source no longer exists: tsc never deletes outputs, so a renamed or
 * removed module would otherwise be published from a stale build (a real release builds from scratch).
 */
async function staleOutputFindings(pkg: WorkspacePackage, tarball: string): Promise<Finding[]> {
  if (!existsSync(join(pkg.dir, 'src'))) return [];
  const { stdout } = await runCommand('tar', ['-tzf', tarball], {
    cwd: pkg.dir,
    failWith: 'RAMPART_RELEASE_COMMAND_FAILED',
  });
  const stale = stdout
    .split('\n')
    .map((entry) => entry.replace(/^package\//, ''))
    .filter((file) => file.startsWith('dist/'))
    .filter((file) => {
      const stem = file.slice('dist/'.length).replace(/\.(d\.ts\.map|js\.map|d\.ts|js)$/, '');
      return !['.ts', '.mts', '.tsx', '.js'].some((ext) => existsSync(join(pkg.dir, 'src', `${stem}${ext}`)));
    });
  if (stale.length === 0) return [];
  return [
    {
      tool: 'files',
      severity: 'warning',
      code: 'STALE_BUILD_OUTPUT',
      text: `${stale.join(', ')}: no source in src/ (left by an earlier build; delete dist and rebuild)`,
    },
  ];
}

async function runPublint(tarball: string): Promise<Finding[]> {
  const bytes = readFileSync(tarball);
  const { messages, pkg } = await publint({
    pack: {
      tarball: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
    },
    level: 'suggestion',
  });
  return messages.map((message) => ({
    tool: 'publint',
    severity: message.type,
    code: message.code,
    text: `${formatMessage(message, pkg, { color: false }) ?? message.code} (at ${message.path.join('.') || 'package.json'})`,
  }));
}

interface AttwProblem {
  kind: string;
  entrypoint?: string;
  resolutionKind?: string;
}

async function runAttw(tarball: string): Promise<Finding[]> {
  const bin = resolve(
    createRequire(import.meta.url).resolve('@arethetypeswrong/cli/package.json'),
    '..',
    'dist/index.js',
  );
  const result = await runCommand(
    process.execPath,
    [bin, tarball, '--format', 'json', '--profile', ATTW_PROFILE],
    {
      cwd: tmpdir(),
    },
  );
  let analysis: { types?: unknown; problems?: AttwProblem[] };
  try {
    analysis = (JSON.parse(result.stdout) as { analysis: typeof analysis }).analysis;
  } catch (error) {
    throw new ReleaseError(
      'RAMPART_RELEASE_COMMAND_FAILED',
      `attw ${tarball}: ${result.stderr || result.stdout}`,
      {
        cause: error,
      },
    );
  }
  if (!analysis.types) {
    return [
      { tool: 'attw', severity: 'error', code: 'NoTypes', text: 'the package ships no type declarations' },
    ];
  }
  return (analysis.problems ?? [])
    .filter((problem) => !ATTW_IGNORED_RESOLUTIONS.includes(problem.resolutionKind ?? ''))
    .map((problem) => ({
      tool: 'attw',
      severity: 'error',
      code: problem.kind,
      text: `entry "${problem.entrypoint ?? '.'}"${problem.resolutionKind ? ` resolved as ${problem.resolutionKind}` : ''} (see https://github.com/arethetypeswrong/arethetypeswrong.github.io/blob/main/docs/problems/${problem.kind}.md)`,
    }));
}

export async function main(
  argv: readonly string[],
  io: { out(text: string): void; err(text: string): void },
) {
  try {
    let values: { 'no-build'?: boolean; root?: string };
    try {
      ({ values } = parseArgs({
        args: [...argv],
        options: { 'no-build': { type: 'boolean' }, root: { type: 'string' } },
        strict: true,
        allowPositionals: false,
      }));
    } catch (error) {
      throw new ReleaseError(
        'RAMPART_RELEASE_BAD_ARGUMENTS',
        `${(error as Error).message}\nusage: check-packages.ts [--no-build] [--root <dir>]`,
        { cause: error },
      );
    }
    const root = resolve(values.root ?? resolve(import.meta.dirname, '../../..'));
    const checks = await checkPackages({ root, build: values['no-build'] !== true, log: io.out });
    const failed = checks.filter((check) => !check.ok).map((check) => check.name);
    if (failed.length > 0) throw new ReleaseError('RAMPART_RELEASE_PACKAGE_CHECK_FAILED', failed.join(', '));
    return 0;
  } catch (error) {
    if (isReleaseError(error)) io.err(`${error.code}: ${error.message}\n`);
    else io.err(`check-packages: unexpected failure: ${(error as Error)?.message ?? String(error)}\n`);
    return 1;
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2), {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
  });
}
