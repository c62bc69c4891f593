import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { addImport, anchorMissing, readTarget, replaceOnce } from './source-edits.ts';
import type { FileChange } from './staged-write.ts';
import type { Workspace } from './workspace.ts';

/** What a resource adds to its service's existing files, besides its own new ones. */
export interface ResourceNames {
  service: string;
  name: string;
  camel: string;
  pascal: string;
  notFoundCode: string;
  hasEncrypted: boolean;
}

const REGISTER = /^ {2}await app\.register\(\w+Routes, \{ prefix: '[^']*'(?:, \w+)* \}\);$/gm;

/** src/app.ts: the routes imported and registered after the service's other resources. */
export function registerRoutes(workspace: Workspace, names: ResourceNames): FileChange {
  const path = `apps/${names.service}/src/app.ts`;
  const plugin = `${names.camel}Routes`;
  const line = `  await app.register(${plugin}, { prefix: '/${names.name}'${names.hasEncrypted ? ', env' : ''} });`;
  const original = readTarget(workspace, path);
  let source = addImport(original, `import { ${plugin} } from './${names.name}/routes.ts';`, path);
  let end = -1;
  for (const match of source.matchAll(REGISTER)) end = match.index + match[0].length;
  if (end !== -1) {
    source = `${source.slice(0, end)}\n${line}${source.slice(end)}`;
  } else {
    const last = source.lastIndexOf('\n  return app;\n}');
    if (last === -1) throw anchorMissing(path, "buildApp's `return app;`", line);
    source = `${source.slice(0, last)}\n${line}${source.slice(last)}`;
  }
  return { path, content: source, kind: 'update', original };
}

/** src/schema.ts: the table exported for drizzle-kit and for typed queries. */
export function exportTable(workspace: Workspace, names: ResourceNames): FileChange {
  const path = `apps/${names.service}/src/schema.ts`;
  const source = readTarget(workspace, path);
  const line = `export { ${names.camel} } from './${names.name}/schema.ts';\n`;
  return { path, content: `${source.replace(/\n*$/, '\n')}${line}`, kind: 'update', original: source };
}

/** src/errors.ts: the resource's not-found error (created when the service has no errors.ts). */
export function notFoundError(workspace: Workspace, names: ResourceNames): FileChange {
  const path = `apps/${names.service}/src/errors.ts`;
  const original = existsSync(join(workspace.root, path)) ? readTarget(workspace, path) : undefined;
  const error = `/** No row of ${names.name} has this id; answered as 404 problem+json with this code. */
export class ${names.pascal}NotFoundError extends Error {
  readonly code = '${names.notFoundCode}';
  readonly statusCode = 404;
  constructor(id: string) {
    super(\`${names.name} \${id} does not exist\`);
    this.name = '${names.pascal}NotFoundError';
  }
}
`;
  return original === undefined
    ? { path, content: error, kind: 'create' }
    : { path, content: `${original.replace(/\n*$/, '\n\n')}${error}`, kind: 'update', original };
}

/** test/hardening.test.ts: the conformance kit's key gets the new scopes (it must hold every scope). */
export function hardeningScopes(workspace: Workspace, names: ResourceNames): FileChange[] {
  const path = `apps/${names.service}/test/hardening.test.ts`;
  if (!existsSync(join(workspace.root, path))) return [];
  const original = readTarget(workspace, path);
  const content = replaceOnce(
    original,
    /(apiKeys\.create\(\{\s*name: 'hardening',\s*scopes: \[)([^\]]*)\]/,
    (_whole, head, list) =>
      `${head}${list!.trim().replace(/,$/, '')}, '${names.name}:read', '${names.name}:write']`,
    path,
    "the conformance kit's key (`apiKeys.create({ name: 'hardening', scopes: [...] })`)",
    `'${names.name}:read', '${names.name}:write' in the scopes of the hardening key`,
  );
  return [{ path, content, kind: 'update', original }];
}

const KEY_RING_ENTRY = `  FIELD_ENCRYPTION_KEYS: Type.Optional(
    Type.String({
      pattern: '^[1-9][0-9]{0,8}:[A-Za-z0-9+/]{43}=(,[1-9][0-9]{0,8}:[A-Za-z0-9+/]{43}=)*$',
      description:
        'Key ring of the encrypted fields: <version>:<32 random bytes, base64>[,...]; the highest version encrypts, all decrypt. Required in production.',
    }),
  ),
`;

const PRODUCTION_CHECK = `  if (
    Value.Check(EnvSchema, candidate) &&
    candidate.NODE_ENV === 'production' &&
    candidate.FIELD_ENCRYPTION_KEYS === undefined
  ) {
    problems.push('FIELD_ENCRYPTION_KEYS="": is required when NODE_ENV=production (the key ring of the encrypted fields)');
  }
`;

// 32 bytes anyone can read: fine for development and tests, refused in production by the check above.
const DEVELOPMENT_KEY = Buffer.from('rampart-development-only-field-k').toString('base64');

const KEY_RING_HELPERS = `
/** Only for development and tests: production refuses to start without FIELD_ENCRYPTION_KEYS. */
export const DEVELOPMENT_FIELD_ENCRYPTION_KEYS = '1:${DEVELOPMENT_KEY}';

/** The key ring FIELD_ENCRYPTION_KEYS names (\`1:<base64>,2:<base64>\`), else the development one. */
export function fieldEncryptionKeys(env: Env): { version: number; key: string }[] {
  return (env.FIELD_ENCRYPTION_KEYS ?? DEVELOPMENT_FIELD_ENCRYPTION_KEYS).split(',').map((entry) => {
    const [version, key] = entry.split(':');
    return { version: Number(version), key: key ?? '' };
  });
}
`;

/**
 * The Deployments' `API_KEY_PEPPER` entry, in every shape the formatter gives it: on one line, or wrapped
 * at any of its braces once the secret's name (`<service>-secrets`) makes the line longer than the
 * workspace's line width (services of 29 characters and more), e.g.
 *
 *     - name: API_KEY_PEPPER
 *       valueFrom:
 *         {
 *           secretKeyRef:
 *             { name: <service>-secrets, key: API_KEY_PEPPER },
 *         }
 *
 * Groups: the entry's indentation, the secret's name. The new entry is written on one line after it and
 * the formatter wraps it the same way.
 */
const PEPPER_ENTRY =
  /^( +)- name: API_KEY_PEPPER\n\1 {2}valueFrom:\s*\{\s*secretKeyRef:\s*\{\s*name:\s*([^\s,{}]+)\s*,\s*key:\s*API_KEY_PEPPER\s*,?\s*\}\s*,?\s*\}[ \t]*\n/m;

/**
 * The first encrypted field of a service adds FIELD_ENCRYPTION_KEYS: to src/env.ts (schema, hidden in
 * error messages, required in production, a development key ring otherwise) and to the Deployments'
 * secrets, as API_KEY_PEPPER is. A service that has it already gets nothing.
 */
export function encryptionKeyRing(workspace: Workspace, service: string): FileChange[] {
  const envPath = `apps/${service}/src/env.ts`;
  const envOriginal = readTarget(workspace, envPath);
  let env = envOriginal;
  if (env.includes('FIELD_ENCRYPTION_KEYS')) return [];
  const byHand = 'FIELD_ENCRYPTION_KEYS in EnvSchema, required in production, and fieldEncryptionKeys(env)';
  env = replaceOnce(
    env,
    /(export const EnvSchema = Type\.Object\(\{\n[\s\S]*?)(\n\}\);\n)/,
    (_whole, body, end) => `${body}\n${KEY_RING_ENTRY.trimEnd()}${end}`,
    envPath,
    'an `export const EnvSchema = Type.Object({ ... });`',
    byHand,
  );
  env = replaceOnce(
    env,
    /^const SECRET = \/(.*)\/;$/m,
    (whole, pattern) =>
      new RegExp(pattern!).test('FIELD_ENCRYPTION_KEYS') ? whole : `const SECRET = /${pattern}|KEYS/;`,
    envPath,
    'the `const SECRET = /.../;` that hides secret values in error messages',
    byHand,
  );
  env = replaceOnce(
    env,
    /^ {2}if \(problems\.length > 0\) throw new EnvError\(/m,
    (whole) => `${PRODUCTION_CHECK}${whole}`,
    envPath,
    'the `if (problems.length > 0) throw new EnvError(...)` of parseEnv',
    byHand,
  );
  const changes: FileChange[] = [
    {
      path: envPath,
      content: `${env.replace(/\n*$/, '\n')}${KEY_RING_HELPERS}`,
      kind: 'update',
      original: envOriginal,
    },
  ];

  for (const deployment of ['deployment-api.yaml', 'deployment-worker.yaml']) {
    const path = `apps/${service}/deploy/k8s/base/${deployment}`;
    if (!existsSync(join(workspace.root, path))) continue;
    const original = readTarget(workspace, path);
    const content = replaceOnce(
      original,
      PEPPER_ENTRY,
      (whole, indent, secret) =>
        `${whole}${indent}- name: FIELD_ENCRYPTION_KEYS\n${indent}  valueFrom: { secretKeyRef: { name: ${secret}, key: FIELD_ENCRYPTION_KEYS } }\n`,
      path,
      'the API_KEY_PEPPER secretKeyRef entry to put FIELD_ENCRYPTION_KEYS beside',
      'FIELD_ENCRYPTION_KEYS from the service Secret (secretKeyRef), beside API_KEY_PEPPER',
    );
    changes.push({ path, content, kind: 'update', original });
  }
  // The env test parses a production environment that had everything production needed: now it needs a ring.
  const envTestPath = `apps/${service}/src/env.test.ts`;
  if (existsSync(join(workspace.root, envTestPath))) {
    const test = readTarget(workspace, envTestPath);
    const next = test.replace(
      /parseEnv\(\{(\s*)NODE_ENV: 'production',(\s*)API_KEY_PEPPER: ([^{}]*?),?(\s*)\}\)/g,
      (_whole, a, b, pepper, c) =>
        `parseEnv({${a}NODE_ENV: 'production',${b}API_KEY_PEPPER: ${pepper}, FIELD_ENCRYPTION_KEYS: \`1:\${'A'.repeat(43)}=\`${c}})`,
    );
    if (next !== test) changes.push({ path: envTestPath, content: next, kind: 'update', original: test });
  }
  const configPath = `apps/${service}/deploy/k8s/base/config.env`;
  if (existsSync(join(workspace.root, configPath))) {
    const config = readTarget(workspace, configPath);
    const next = config.replace(
      'API_KEY_PEPPER, METRICS_TOKEN)',
      'API_KEY_PEPPER, FIELD_ENCRYPTION_KEYS, METRICS_TOKEN)',
    );
    if (next !== config) changes.push({ path: configPath, content: next, kind: 'update', original: config });
  }
  return changes;
}
