import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { checkCron } from './cron.ts';
import { descriptionQuestion } from './description.ts';
import { GenError } from './errors.ts';
import { appendToManifest, type ManifestEntry } from './manifest.ts';
import { camelCase, checkName, pascalCase } from './names.ts';
import { refreshAssets } from './observability-assets.ts';
import { serviceQuestion } from './service-question.ts';
import { addImport, readTarget, replaceOnce } from './source-edits.ts';
import type { GeneratorSpec, Question } from './spec.ts';
import type { FileChange } from './staged-write.ts';
import { renderTemplateTree } from './templates.ts';
import type { Workspace } from './workspace.ts';

/** Bumped whenever templates/task changes, so an upgrade knows what a task was made from. */
export const TASK_TEMPLATE_VERSION = 2;

/** What a task gets when `--retries`, `--timeout` or `--concurrency` is left out (not recorded in rampart.json). */
const POLICY_DEFAULTS = { retries: 3, timeout: 60_000, concurrency: 5 } as const;

function wholeNumber(name: keyof typeof POLICY_DEFAULTS, min: number, max: number, what: string): Question {
  return {
    name,
    message: what,
    required: false,
    whenEmpty: () => String(POLICY_DEFAULTS[name]),
    validate: (value) =>
      /^\d+$/.test(value) && Number(value) >= min && Number(value) <= max
        ? undefined
        : `--${name} "${value}" must be a whole number from ${min} to ${max}`,
  };
}

function tasksFile(service: string): string {
  return `apps/${service}/src/tasks.ts`;
}

/** src/tasks.ts with the new task imported and added to the list `createTasks` returns. */
export function registerTask(workspace: Workspace, service: string, name: string): FileChange {
  const path = tasksFile(service);
  const factory = `create${pascalCase(name)}Task`;
  const original = readTarget(workspace, path);
  let source = original;
  if (!/export function createTasks\(database\b/.test(source)) {
    throw new GenError(
      'RAMPART_GEN_ANCHOR_MISSING',
      `${path} has no \`export function createTasks(database...)\`, so the generator cannot register the task; nothing was written`,
    );
  }
  source = addImport(source, `import { ${factory} } from './tasks/${name}.ts';`, path);
  const body = source.slice(source.indexOf('export function createTasks('));
  const start = source.length - body.length;
  const edited = replaceOnce(
    body,
    /^ {2}return \[([\s\S]*?)\];$/m,
    (_whole, list) => {
      const items = list!.trim().replace(/,$/, '');
      return `  return [${items ? `${items}, ` : ''}${factory}(database)];`;
    },
    path,
    'a `return [...]` list in createTasks',
    `${factory}(database) in the list createTasks returns, and import { ${factory} } from './tasks/${name}.ts'`,
  );
  return { path, content: source.slice(0, start) + edited, kind: 'update', original };
}

/** `gen task <service> <name>`: a typed durable task in a service, registered with its worker, with a test. */
export const taskGenerator: GeneratorSpec = {
  name: 'task',
  description:
    'a typed background task (payload schema, handler, retry/timeout policy, optional cron) in a service',
  usage: 'gen task <service> <name> [--cron "0 3 * * *"] [--retries N] [--timeout MS] [--concurrency N]',
  questions: [
    serviceQuestion,
    {
      name: 'name',
      message: 'Task name (kebab-case)',
      position: 1,
      required: true,
      validate(value, workspace, answers) {
        const problem = checkName(value, 'task');
        if (problem) return problem;
        const service = answers.service;
        if (!service) return undefined;
        if (existsSync(join(workspace.root, 'apps', service, 'src/tasks', `${value}.ts`))) {
          return `apps/${service}/src/tasks/${value}.ts already exists`;
        }
        if (!existsSync(join(workspace.root, tasksFile(service)))) return undefined;
        const tasks = readTarget(workspace, tasksFile(service));
        if (tasks.includes(`name: '${value}'`)) {
          return `apps/${service} already has a task named "${value}" (src/tasks.ts)`;
        }
        // Its files deleted but its registration left behind: a second one would register it twice.
        const factory = `create${pascalCase(value)}Task`;
        const registration = [
          new RegExp(`(?<![\\w$])${factory}(?![\\w$])`).test(tasks) ? `\`${factory}\`` : undefined,
          tasks.includes(`'./tasks/${value}.ts'`) ? `an import of './tasks/${value}.ts'` : undefined,
        ].filter(Boolean);
        if (registration.length > 0) {
          return `apps/${service}/src/tasks.ts already registers a task "${value}" (${registration.join(' and ')}); remove that first, or choose another name`;
        }
        return undefined;
      },
    },
    {
      name: 'cron',
      message: 'Cron schedule, 5 fields or 6 with seconds first',
      required: false,
      whenEmpty: () => 'none',
      validate: (value) => (value === '' ? undefined : checkCron(value)),
    },
    wholeNumber('retries', 0, 1000, 'Retries after the first attempt'),
    wholeNumber('timeout', 1, 82_800_000, 'Handler timeout in milliseconds'),
    wholeNumber('concurrency', 1, 1000, 'Handlers at once per worker process'),
    descriptionQuestion('A background task.'),
  ],
  async plan(answers, workspace, render) {
    const service = answers.service!;
    const name = answers.name!;
    const cron = answers.cron?.trim() || undefined;
    const data = {
      service,
      name,
      description: answers.description,
      cron,
      pascal: pascalCase(name),
      camel: camelCase(name),
      retries: Number(answers.retries ?? POLICY_DEFAULTS.retries),
      timeout: Number(answers.timeout ?? POLICY_DEFAULTS.timeout),
      concurrency: Number(answers.concurrency ?? POLICY_DEFAULTS.concurrency),
    };
    const recorded: Record<string, unknown> = { service, name, description: answers.description };
    if (cron) recorded.cron = cron;
    for (const key of ['retries', 'timeout', 'concurrency'] as const) {
      if (answers[key] !== undefined) recorded[key] = Number(answers[key]);
    }
    const entry: ManifestEntry = {
      generator: 'task',
      templateVersion: TASK_TEMPLATE_VERSION,
      answers: recorded,
    };
    return {
      changes: [
        ...renderTemplateTree('task', data, render),
        registerTask(workspace, service, name),
        // The dashboard gets the task's row, the rules its dead-letter and failure-ratio alerts.
        ...(await refreshAssets(workspace, service, entry)),
        appendToManifest(workspace, service, entry),
      ],
      next: [`./rampart turbo run typecheck lint test --filter=${workspace.scope}/${service}`],
    };
  },
};
