import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { descriptionQuestion } from './description.ts';
import { GenError } from './errors.ts';
import { FIELD_TYPES, type Field, parseFields } from './fields.ts';
import { appendToManifest } from './manifest.ts';
import { generateMigration } from './migration.ts';
import { camelCase, checkName, pascalCase } from './names.ts';
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
export const RESOURCE_TEMPLATE_VERSION = 3;

const constCase = (name: string) => name.toUpperCase().replaceAll('-', '_');

/**
 * Names the resource templates already use beside the resource's own `camel` and `Pascal` identifiers: a
 * resource called `page` would declare `Page` twice in routes.ts and shadow `page` in its test.
 */
const TEMPLATE_IDENTIFIERS = new Set(
  (
    'audit paginate prepared uuidv7 uuidv7PrimaryKey eq sql type static id createBody patchBody page ' +
    'read write app db byId cipher seal open serialize fastify options request reply row created ' +
    'updated deleted tx actorOf env fieldEncryptionKeys createFieldCipher auditLog createTestDatabase ' +
    'testDatabase describe it expect beforeEach afterEach buildApp parseEnv first second call trail ' +
    'cleared firstPage after pgTable text integer boolean timestamp numeric jsonb bigint ' +
    'doublePrecision date varchar'
  ).split(' '),
);

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
          const table = value.replaceAll('-', '_');
          if (existingTables(workspace, service).has(table)) {
            return `apps/${service}'s database already has a table "${table}"`;
          }
        }
        if (TEMPLATE_IDENTIFIERS.has(camelCase(value))) {
          return `resource name "${value}" would clash with \`${camelCase(value)}\` in the generated code; choose another (e.g. "${value}-entries")`;
        }
        return undefined;
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
    const migration = generateMigration(workspace, service, data.table, sources);
    return {
      changes: [
        ...sources,
        ...migration,
        appendToManifest(workspace, service, {
          generator: 'resource',
          templateVersion: RESOURCE_TEMPLATE_VERSION,
          answers: { service, name, fields: answers.fields, description: answers.description },
        }),
      ],
      next: [
        `./rampart turbo run typecheck lint test --filter=${workspace.scope}/${service}`,
        `(cd apps/${service} && pnpm keys create --name ${name}-client --scopes ${name}:read,${name}:write)`,
      ],
    };
  },
};
