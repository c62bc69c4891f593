import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { GenError } from './errors.ts';
import { holdSignals, throwIfChildInterrupted } from './interrupt.ts';
import type { FileChange } from './staged-write.ts';
import type { Workspace } from './workspace.ts';

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)).split('\\').join('/'));
}

/**
 * Runs the service's own drizzle-kit (`drizzle-kit generate`, what `pnpm db:generate` runs) over a staging
 * copy of its schema, migrations and drizzle.config.ts, with `changes` (the new and edited schema files)
 * applied, and returns the migration files it wrote or changed: the SQL, the snapshot and the journal,
 * exactly as drizzle-kit keeps them. The staging copy sits inside the service, so its imports resolve
 * through the service's node_modules; it is removed whatever happens.
 */
export function generateMigration(
  workspace: Workspace,
  service: string,
  tag: string,
  changes: readonly FileChange[],
): FileChange[] {
  const serviceDir = join(workspace.root, 'apps', service);
  const drizzleKit = join(serviceDir, 'node_modules/.bin/drizzle-kit');
  if (!existsSync(join(serviceDir, 'drizzle.config.ts'))) {
    throw new GenError(
      'RAMPART_GEN_TARGET_MISSING',
      `apps/${service}/drizzle.config.ts does not exist: the resource's migration is generated with it; nothing was written`,
    );
  }
  if (!existsSync(drizzleKit)) {
    throw new GenError(
      'RAMPART_GEN_MIGRATION_FAILED',
      `apps/${service} has no drizzle-kit installed (node_modules/.bin/drizzle-kit); run ./rampart install first. Nothing was written`,
    );
  }
  const staging = join(serviceDir, `.gen-staging-${randomBytes(6).toString('hex')}`);
  // A signal (Ctrl-C reaches drizzle-kit too) waits for the staging copy to be removed.
  const release = holdSignals();
  try {
    mkdirSync(staging);
    cpSync(join(serviceDir, 'drizzle.config.ts'), join(staging, 'drizzle.config.ts'));
    cpSync(join(serviceDir, 'src'), join(staging, 'src'), { recursive: true });
    if (existsSync(join(serviceDir, 'migrations'))) {
      cpSync(join(serviceDir, 'migrations'), join(staging, 'migrations'), { recursive: true });
    }
    const prefix = `apps/${service}/`;
    for (const change of changes) {
      if (!change.path.startsWith(`${prefix}src/`)) continue;
      const target = join(staging, change.path.slice(prefix.length));
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, change.content);
    }
    const before = new Map(
      listFiles(join(staging, 'migrations')).map((file) => [
        file,
        readFileSync(join(staging, 'migrations', file), 'utf8'),
      ]),
    );
    const result = spawnSync(drizzleKit, ['generate', '--name', tag], {
      cwd: staging,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
      // The same Node as this process: the shim drizzle-kit installs calls `node` from PATH.
      env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`, NO_COLOR: '1' },
    });
    throwIfChildInterrupted(result.signal);
    const after = listFiles(join(staging, 'migrations'));
    const written: FileChange[] = [];
    for (const file of after) {
      const content = readFileSync(join(staging, 'migrations', file), 'utf8');
      const old = before.get(file);
      if (old === content) continue;
      const path = `apps/${service}/migrations/${file}`;
      // The staging copy holds what the service's migrations held when they were copied: the original.
      written.push(
        old === undefined
          ? { path, content, kind: 'create' }
          : { path, content, kind: 'update', original: old },
      );
    }
    if (result.status !== 0 || !written.some((change) => change.path.endsWith('.sql'))) {
      const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`;
      const detail = output.trim().split('\n').slice(-15).join('\n');
      throw new GenError(
        'RAMPART_GEN_MIGRATION_FAILED',
        `drizzle-kit generate did not write the migration for apps/${service}; nothing was written:\n${detail}`,
      );
    }
    return written.sort((a, b) => a.path.localeCompare(b.path));
  } finally {
    rmSync(staging, { recursive: true, force: true });
    release();
  }
}
