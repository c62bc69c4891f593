import type { K8sObject } from './kustomize.ts';
import type { Problem } from './problem.ts';

interface ModelClass {
  new (data: unknown): { validate(): void };
}

/**
 * Validates each object against the Kubernetes OpenAPI schema of its apiVersion and kind, as compiled by
 * `kubernetes-models` (types, formats such as quantities and int-or-string, required fields, enums).
 * An apiVersion/kind it has no schema for is a problem too: a typo there would otherwise pass unchecked.
 * Unknown fields are not reported: the upstream schemas allow them (the API server prunes or rejects them).
 */
export async function validateSchemas(objects: readonly K8sObject[], file: string): Promise<Problem[]> {
  const problems: Problem[] = [];
  for (const object of objects) {
    const where = `${object.kind ?? '?'}/${object.metadata?.name ?? '?'}`;
    const Model = await modelFor(object.apiVersion, object.kind);
    if (!Model) {
      problems.push({
        file,
        rule: 'schema',
        message: `${where}: no schema for apiVersion "${object.apiVersion}" kind "${object.kind}"`,
      });
      continue;
    }
    try {
      new Model(object).validate();
    } catch (error) {
      const details = (error as { errors?: { instancePath?: string; message?: string }[] }).errors;
      const lines = details?.length
        ? details.map((detail) => `${detail.instancePath || '/'} ${detail.message ?? 'is invalid'}`)
        : [(error as Error).message];
      for (const line of new Set(lines))
        problems.push({ file, rule: 'schema', message: `${where}: ${line}` });
    }
  }
  return problems;
}

async function modelFor(apiVersion: unknown, kind: unknown): Promise<ModelClass | undefined> {
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return undefined;
  if (!/^([a-z0-9.-]+\/)?v\d+[a-z0-9]*$/.test(apiVersion) || !/^[A-Z][A-Za-z0-9]*$/.test(kind))
    return undefined;
  try {
    const group = (await import(/* @vite-ignore */ `kubernetes-models/${apiVersion}`)) as Record<
      string,
      unknown
    >;
    const Model = group[kind];
    return typeof Model === 'function' ? (Model as ModelClass) : undefined;
  } catch {
    return undefined;
  }
}
