import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { K8sObject } from './kustomize.ts';
import type { Problem } from './problem.ts';
import { runTool } from './tools.ts';

const require = createRequire(import.meta.url);
// TS2353 / TS2561: "Object literal may only specify known properties, and 'x' does not exist in type 'Y'".
const EXCESS_PROPERTY = /^objects\.ts\((\d+),\d+\): error TS(?:2353|2561): (.*)$/;

/**
 * Finds fields the Kubernetes API does not define (a misspelt `livenesProbe`, a `securityContext` one level
 * too high), which the OpenAPI schemas allow. Each object becomes a fresh object literal typed with
 * kubernetes-models' interface for its apiVersion/kind, and the TypeScript compiler's excess-property
 * check reports a field no interface along the path declares. The compiler names one such field per
 * branch of an object, so a second typo can surface only after the first is fixed. Objects without a model
 * are skipped here (validateSchemas already reports them).
 */
export function checkUnknownFields(objects: readonly K8sObject[], file: string): Problem[] {
  const lines: string[] = [];
  const owners: (K8sObject | undefined)[] = [];
  objects.forEach((object, index) => {
    const path = modelPath(object);
    if (!path) return;
    lines.push(`import type { I${object.kind} as T${index} } from 'kubernetes-models/${path}';`);
    owners.push(undefined);
  });
  objects.forEach((object, index) => {
    if (!modelPath(object)) return;
    lines.push(`export const o${index}: T${index} = ${JSON.stringify(object)};`);
    owners.push(object);
  });
  if (lines.length === 0) return [];

  const dir = mkdtempSync(join(tmpdir(), 'rampart-k8s-fields-'));
  try {
    // The models resolve from this package's own node_modules.
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(
      dirname(fileURLToPath(import.meta.resolve('kubernetes-models'))),
      join(dir, 'node_modules/kubernetes-models'),
    );
    writeFileSync(join(dir, 'objects.ts'), `${lines.join('\n')}\n`);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          skipLibCheck: true,
          types: [],
        },
        files: ['objects.ts'],
      }),
    );
    const tsc = join(dirname(require.resolve('typescript/package.json')), 'bin/tsc');
    const result = runTool(process.execPath, [tsc, '-p', 'tsconfig.json', '--pretty', 'false'], {
      cwd: dir,
      timeoutMs: 120_000,
    });
    const problems: Problem[] = [];
    for (const line of result.stdout.split('\n')) {
      const match = EXCESS_PROPERTY.exec(line.trim());
      if (!match) continue;
      const object = owners[Number(match[1]) - 1];
      const where = `${object?.kind ?? '?'}/${object?.metadata?.name ?? '?'}`;
      const detail =
        /'"?([^'"]+)"?' does not exist in type '([^']+)'\.(?: Did you mean to write '"?([^'"]+)"?'\?)?/.exec(
          match[2]!,
        );
      const message = detail
        ? `unknown field ${detail[1]} (${detail[2]} has no such field${detail[3] ? `; did you mean ${detail[3]}?` : ''})`
        : match[2]!;
      problems.push({ file, rule: 'unknown-field', message: `${where}: ${message}` });
    }
    if (result.code !== 0 && problems.length === 0 && !/error TS/.test(result.stdout)) {
      problems.push({
        file,
        rule: 'unknown-field',
        message: `tsc could not run: ${(result.stderr || result.stdout).trim()}`,
      });
    }
    return problems;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function modelPath(object: K8sObject): string | undefined {
  const { apiVersion, kind } = object;
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return undefined;
  if (!/^([a-z0-9.-]+\/)?v\d+[a-z0-9]*$/.test(apiVersion) || !/^[A-Z][A-Za-z0-9]*$/.test(kind))
    return undefined;
  try {
    import.meta.resolve(`kubernetes-models/${apiVersion}/${kind}`);
    return `${apiVersion}/${kind}`;
  } catch {
    return undefined;
  }
}
