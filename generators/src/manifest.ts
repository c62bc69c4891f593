import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GenError } from './errors.ts';
import type { FileChange } from './staged-write.ts';
import type { Workspace } from './workspace.ts';

/** What one generator run recorded: enough to run it again on a newer template. */
export interface ManifestEntry {
  generator: string;
  templateVersion: number;
  answers: Record<string, unknown>;
}

/**
 * A service's `rampart.json`: the `gen service` run that made it, then every `gen task` / `gen resource`
 * run applied to it since, in order, so an upgrade can re-apply each template.
 */
export interface Manifest extends ManifestEntry {
  applied?: ManifestEntry[];
}

export function manifestPath(service: string): string {
  return `apps/${service}/rampart.json`;
}

/** The service's manifest, or undefined when it has none (not made by `gen service`). */
export function readManifest(workspace: Workspace, service: string): Manifest | undefined {
  return readManifestFile(workspace, service)?.manifest;
}

/** The manifest and the text it was parsed from. */
function readManifestFile(
  workspace: Workspace,
  service: string,
): { manifest: Manifest; text: string } | undefined {
  const file = join(workspace.root, manifestPath(service));
  if (!existsSync(file)) return undefined;
  try {
    const text = readFileSync(file, 'utf8');
    const manifest = JSON.parse(text) as Manifest;
    if (typeof manifest.generator !== 'string' || typeof manifest.answers !== 'object') throw new Error();
    return { manifest, text };
  } catch (error) {
    throw new GenError(
      'RAMPART_GEN_INVALID_ANSWER',
      `${manifestPath(service)} is not a Rampart manifest (JSON with generator, templateVersion, answers)`,
      { cause: error },
    );
  }
}

/** The update that appends `entry` to the service's manifest. */
export function appendToManifest(workspace: Workspace, service: string, entry: ManifestEntry): FileChange {
  const read = readManifestFile(workspace, service);
  if (!read) {
    throw new GenError('RAMPART_GEN_TARGET_MISSING', `${manifestPath(service)} does not exist`);
  }
  const { manifest, text } = read;
  const next: Manifest = { ...manifest, applied: [...(manifest.applied ?? []), entry] };
  return {
    path: manifestPath(service),
    content: `${JSON.stringify(next, null, 2)}\n`,
    kind: 'update',
    original: text,
  };
}
