import type { Problem } from './problem.ts';

// Variables whose values are credentials (a URL with a password, a pepper, a token, key material).
const SECRET_VARIABLE = /(_URL|PASSWORD|SECRET|TOKEN|PEPPER|_KEY|_KEYS)$/;

// The OTLP exporter's headers carry the collector's credentials (`authorization=Bearer ...`, a vendor's API
// key header); its other variables are not secrets, though `OTEL_EXPORTER_OTLP_CLIENT_KEY` (a file path)
// ends like one.
const OTLP_HEADERS = /^OTEL_EXPORTER_OTLP_(?:(?:TRACES|METRICS|LOGS)_)?HEADERS$/;

/** True for a variable that must come from a Secret, never a ConfigMap or an image. */
export function isSecretVariable(name: string): boolean {
  if (OTLP_HEADERS.test(name)) return true;
  return SECRET_VARIABLE.test(name) && !/^OTEL_/.test(name);
}

/**
 * The variable names a service's `src/env.ts` declares: the keys of its `EnvSchema = Type.Object({...})`.
 * Read from the source text so no service code runs; a file without that shape is a problem.
 */
export function readEnvVariables(
  source: string,
  file: string,
): { variables: Set<string>; problems: Problem[] } {
  const start = /export const EnvSchema = Type\.Object\(\{\n/.exec(source);
  if (!start) {
    return {
      variables: new Set(),
      problems: [{ file, rule: 'env-schema', message: 'no `export const EnvSchema = Type.Object({` found' }],
    };
  }
  const body = source.slice(start.index + start[0].length);
  const end = body.search(/^\}\);/m);
  const variables = new Set<string>();
  for (const match of (end === -1 ? body : body.slice(0, end)).matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)) {
    variables.add(match[1]!);
  }
  return { variables, problems: [] };
}
