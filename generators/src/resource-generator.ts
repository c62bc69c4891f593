import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { descriptionQuestion } from './description.ts';
import { GenError } from './errors.ts';
import { FIELD_TYPES, type Field, parseFields } from './fields.ts';
import { appendToManifest, type ManifestEntry } from './manifest.ts';
import { generateMigration } from './migration.ts';
import { camelCase, checkName, pascalCase } from './names.ts';
import { refreshAssets } from './observability-assets.ts';
import { drizzleImports, fieldCode } from './resource-code.ts';
import {
  encryptionKeyRing,
  exportTable,
  hardeningScopes,
  notFoundError,
  type ResourceNames,
  registerRoutes,
} from './resource-edits.ts';
import { serviceQuestion } from './service-question.ts';
import type { GeneratorSpec } from './spec.ts';
import { renderTemplateTree } from './templates.ts';
import type { Workspace } from './workspace.ts';

/** Bumped whenever templates/resource (or what the generator edits) changes. */
export const RESOURCE_TEMPLATE_VERSION = 4;

const constCase = (name: string) => name.toUpperCase().replaceAll('-', '_');

/**
 * Identifiers the resource templates (templates/resource) declare, import or rely on as globals, beside
 * the resource's own `camel` and `Pascal` ones: a resource called `page` would declare `Page` twice in
 * routes.ts, `changes` would shadow its table in the PATCH handler, `writer` or `stored` would shadow it
 * in the test. Compared with both the camelCase and the PascalCase form of the name.
 */
const TEMPLATE_IDENTIFIERS = new Set(
  [
    // routes.ts
    'audit paginate prepared uuidv7 createFieldCipher TypeBoxTypeProvider eq sql FastifyPluginAsync',
    'FastifyRequest Type Static Env fieldEncryptionKeys Id CreateBody PatchBody Page read write actorOf',
    'request traceId fastify options app db byId q cipher seal open column plaintext rowId ciphertext',
    'serialize row page body id created tx reply changes updated deleted Date Partial',
    // schema.ts (and every drizzle column builder a field type imports)
    'uuidv7PrimaryKey pgTable text integer boolean timestamp numeric doublePrecision uuid',
    'jsonb bigint date varchar',
    // test/<name>.test.ts
    'auditLog createTestDatabase TestDatabase FastifyInstance afterEach beforeEach describe it expect',
    'buildApp parseEnv first second database writer reader lines line call method url key payload',
    'trail n firstPage after secondPage cleared anonymous forbidden response status missing stored other',
    'moved MIGRATIONS',
    'encodeURIComponent Set',
    // the service files the resource is added to (src/app.ts, src/env.ts)
    'env',
  ]
    .join(' ')
    .split(' '),
);

/** Words JavaScript (in a module, so strict mode) refuses as a binding name. */
const JS_RESERVED = new Set(
  (
    'break case catch class const continue debugger default delete do else enum export extends false ' +
    'finally for function if import in instanceof new null return super switch this throw true try ' +
    'typeof var void while with yield let static implements interface package private protected public ' +
    'await arguments eval undefined'
  ).split(' '),
);

/**
 * Paths every service serves before its resources (@rampart/resilience's health routes, the observability
 * plugin's scrape endpoint): a resource at /<name> must not take one of them, nor a prefix of one.
 */
export const SERVICE_ROUTES = ['/health/live', '/health/ready', '/metrics'];

/**
 * What is wrong with `name` as a resource name for the code the templates generate, whatever the service:
 * a JavaScript reserved word, an identifier the templates use, a route every service has. Undefined when
 * none.
 */
export function resourceNameProblem(name: string): string | undefined {
  const camel = camelCase(name);
  const pascal = pascalCase(name);
  if (JS_RESERVED.has(camel)) {
    return `resource name "${name}" would make \`${camel}\`, a JavaScript reserved word, an identifier in the generated code; choose another (e.g. "${name}-entries")`;
  }
  for (const identifier of [camel, pascal]) {
    if (TEMPLATE_IDENTIFIERS.has(identifier)) {
      return `resource name "${name}" would clash with \`${identifier}\` in the generated code; choose another (e.g. "${name}-entries")`;
    }
  }
  const route = `/${name}`;
  const taken = SERVICE_ROUTES.find((path) => path === route || path.startsWith(`${route}/`));
  if (taken) {
    return `resource name "${name}" would serve /${name}, but every service already serves ${taken}; choose another`;
  }
  return undefined;
}

/**
 * What in `service`'s own files the resource's identifiers and route would clash with: its routes plugin
 * (`<camel>Routes`) or route prefix in src/app.ts, its not-found error in src/errors.ts, its table's export
 * in src/schema.ts (`item` against the first resource's `itemRoutes` and `ItemNotFoundError`).
 */
function serviceClash(workspace: Workspace, service: string, name: string): string | undefined {
  const src = join(workspace.root, 'apps', service, 'src');
  // The code only: a word in a comment or a string (`// Every table this service owns`) is no clash.
  const read = (file: string) =>
    existsSync(join(src, file))
      ? readFileSync(join(src, file), 'utf8')
          .replace(/\/\*[\s\S]*?\*\//g, '')
          .replace(/\/\/.*$/gm, '')
          .replace(/'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\]|\\.)*`/g, "''")
      : '';
  const word = (text: string, identifier: string) =>
    new RegExp(`(?<![\\w$])${identifier}(?![\\w$])`).test(text);
  const camel = camelCase(name);
  const pascal = pascalCase(name);
  const app = read('app.ts');
  const appSource = existsSync(join(src, 'app.ts')) ? readFileSync(join(src, 'app.ts'), 'utf8') : '';
  for (const [file, text, identifier] of [
    ['app.ts', app, `${camel}Routes`],
    ['app.ts', app, `${pascal}RoutesOptions`],
    ['errors.ts', read('errors.ts'), `${pascal}NotFoundError`],
    ['schema.ts', read('schema.ts'), camel],
  ] as const) {
    if (word(text, identifier)) {
      return `apps/${service}/src/${file} already has \`${identifier}\`, which resource "${name}" would declare again; choose another name`;
    }
  }
  if (appSource.includes(`prefix: '/${name}'`)) {
    return `apps/${service}/src/app.ts already registers routes at /${name}`;
  }
  return undefined;
}

/** Tables the service's database already has: from its own migrations and the packages' it applies. */
function existingTables(workspace: Workspace, service: string): Set<string> {
  const folders = [join(workspace.root, 'apps', service, 'migrations')];
  for (const pkg of workspace.packages) folders.push(join(workspace.root, 'packages', pkg, 'migrations'));
  const tables = new Set<string>();
  for (const folder of folders) {
    if (!existsSync(folder)) continue;
    for (const file of readdirSync(folder).filter((entry) => entry.endsWith('.sql'))) {
      for (const match of readFileSync(join(folder, file), 'utf8').matchAll(
        /CREATE TABLE (?:IF NOT EXISTS )?"?(?:\w+"?\."?)?(\w+)"?/gi,
      )) {
        tables.add(match[1]!);
      }
    }
  }
  return tables;
}

/** `gen resource <service> <name> --fields "..."`: table, migration, CRUD routes with scopes, audit, tests. */
export const resourceGenerator: GeneratorSpec = {
  name: 'resource',
  description:
    'a table with its migration, scoped CRUD routes with audit and pagination, and tests, in a service',
  usage:
    'gen resource <service> <name> --fields "title:string,amount:integer,email:encrypted-string,note:text?"',
  questions: [
    serviceQuestion,
    {
      name: 'name',
      message: 'Resource name, plural, kebab-case (its routes are /<name>, its table <name>)',
      position: 1,
      required: true,
      validate(value, workspace, answers) {
        const problem = checkName(value, 'resource');
        if (problem) return problem;
        const service = answers.service;
        if (service) {
          const src = join(workspace.root, 'apps', service, 'src');
          if (existsSync(join(src, value))) return `apps/${service}/src/${value} already exists`;
          if (existsSync(join(src, `${value}.ts`))) {
            return `apps/${service}/src/${value}.ts already exists; choose a resource name no file of the service has`;
          }
          if (existsSync(join(workspace.root, 'apps', service, 'test', `${value}.test.ts`))) {
            return `apps/${service}/test/${value}.test.ts already exists; choose a resource name no test of the service has`;
          }
          const table = value.replaceAll('-', '_');
          if (existingTables(workspace, service).has(table)) {
            return `apps/${service}'s database already has a table "${table}"`;
          }
        }
        const generic = resourceNameProblem(value);
        if (generic) return generic;
        return service ? serviceClash(workspace, service, value) : undefined;
      },
    },
    {
      name: 'fields',
      message: `Fields, name:type[?] joined by commas (types: ${FIELD_TYPES.join(', ')}; ? = optional)`,
      required: true,
      validate(value) {
        const fields = parseFields(value);
        return typeof fields === 'string' ? `--fields: ${fields}` : undefined;
      },
    },
    descriptionQuestion('A resource of this service.'),
  ],
  async plan(answers, workspace, render) {
    const service = answers.service!;
    const name = answers.name!;
    const fields = parseFields(answers.fields!);
    if (typeof fields === 'string') throw new GenError('RAMPART_GEN_INVALID_ANSWER', `--fields: ${fields}`);
    const code = fields.map(fieldCode);
    const names: ResourceNames = {
      service,
      name,
      camel: camelCase(name),
      pascal: pascalCase(name),
      notFoundCode: `RAMPART_${constCase(service)}_${constCase(name)}_NOT_FOUND`,
      hasEncrypted: fields.some((field: Field) => field.type === 'encrypted-string'),
    };
    const data = {
      ...names,
      description: answers.description,
      table: name.replaceAll('-', '_'),
      fields: code,
      requiredFields: code.filter((field) => !field.optional),
      optionalFields: code.filter((field) => field.optional),
      encryptedFields: code.filter((field) => field.encrypted),
      drizzleImports: drizzleImports(fields),
    };
    const sources = [
      ...renderTemplateTree('resource', data, render),
      exportTable(workspace, names),
      notFoundError(workspace, names),
      registerRoutes(workspace, names),
      ...hardeningScopes(workspace, names),
      ...(names.hasEncrypted ? encryptionKeyRing(workspace, service) : []),
    ];
    const entry: ManifestEntry = {
      generator: 'resource',
      templateVersion: RESOURCE_TEMPLATE_VERSION,
      answers: { service, name, fields: answers.fields, description: answers.description },
    };
    // Checked before drizzle-kit runs: a hand-edited dashboard fails the run without waiting for it.
    const assets = await refreshAssets(workspace, service, entry);
    const migration = generateMigration(workspace, service, data.table, sources);
    return {
      changes: [...sources, ...migration, ...assets, appendToManifest(workspace, service, entry)],
      next: [
        `./rampart turbo run typecheck lint test --filter=${workspace.scope}/${service}`,
        `(cd apps/${service} && pnpm keys create --name ${name}-client --scopes ${name}:read,${name}:write)`,
      ],
    };
  },
};
