#!/usr/bin/env node
// rampart-tasks-worker: runs a service's tasks in a process of its own.
//   DATABASE_URL=postgres://... rampart-tasks-worker ./dist/tasks.js
// The module's exports that are tasks (made with defineTask) are run. Optional environment:
// TASKS_SCHEMA, TASKS_POOL_SIZE, TASKS_SHUTDOWN_GRACE_MS, TASKS_POLL_INTERVAL_MS,
// TASKS_SUPERVISE_INTERVAL_SECONDS, TASKS_SCHEDULE_INTERVAL_SECONDS.
// Exit codes: 2 for a usage, configuration or task-definition mistake, 1 when the worker could not start.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { registerDrizzleImportHook } from '@rampart/db/import-hook';
import type { TSchema } from 'typebox';
import type { Task } from './define-task.ts';
import { asError } from './errors.ts';

/** Exit 2 for a usage or configuration mistake, 1 when the worker could not start (the database, say). */
function fail(message: string, code = 2): never {
  console.error(`rampart-tasks-worker: ${message}`);
  process.exit(code);
}

function integer(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value)) fail(`${name} must be an integer, got ${JSON.stringify(raw)}`);
  return value;
}

const modulePath = process.argv[2];
if (!modulePath) fail('usage: rampart-tasks-worker <module exporting tasks>');
const connectionString = process.env.DATABASE_URL;
if (!connectionString) fail('DATABASE_URL is not set (a worker process needs PostgreSQL)');
if (!/^postgres(ql)?:\/\//.test(connectionString)) {
  fail('DATABASE_URL must be a postgres:// or postgresql:// URL (a worker process needs PostgreSQL)');
}

// drizzle-orm (this package's and, most likely, the tasks module's) loads several times faster through
// this hook; it has to be in place before either is imported.
registerDrizzleImportHook();
const { runWorker } = await import('./run-worker.ts');

let loaded: Record<string, unknown>;
try {
  loaded = (await import(pathToFileURL(resolve(modulePath)).href)) as Record<string, unknown>;
} catch (error) {
  fail(`cannot load ${modulePath}: ${asError(error).message}`);
}
// A task exported twice (`export const x = ...; export default x`) is one task.
const tasks = [
  ...new Set(
    Object.values(loaded).filter(
      (value): value is Task<TSchema> =>
        typeof value === 'object' && value !== null && typeof (value as Task).check === 'function',
    ),
  ),
];
if (tasks.length === 0) fail(`${modulePath} exports no tasks`);

const options = {
  connectionString,
  tasks,
  schema: process.env.TASKS_SCHEMA || undefined,
  poolSize: integer('TASKS_POOL_SIZE'),
  shutdownGraceMs: integer('TASKS_SHUTDOWN_GRACE_MS'),
  pollIntervalMs: integer('TASKS_POLL_INTERVAL_MS'),
  superviseIntervalSeconds: integer('TASKS_SUPERVISE_INTERVAL_SECONDS'),
  scheduleIntervalSeconds: integer('TASKS_SCHEDULE_INTERVAL_SECONDS'),
  onError: (error: Error) => console.error(`rampart-tasks-worker: ${error.message}`),
};
const defined = Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
try {
  await runWorker(defined as unknown as Parameters<typeof runWorker>[0]);
} catch (error) {
  const { code, message } = asError(error) as Error & { code?: string };
  // Bad settings or task definitions are the caller's to fix (2); anything else is the database's (1).
  const usage = code === 'RAMPART_TASKS_OPTIONS_INVALID' || code === 'RAMPART_TASKS_TASK_INVALID';
  fail(code ? `${code}: ${message}` : message, usage ? 2 : 1);
}
process.stdout.write(`rampart-tasks-worker: running ${tasks.map((task) => task.name).join(', ')}\n`);
