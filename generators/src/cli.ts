#!/usr/bin/env node
// `pnpm gen <generator> [answers...] [--flags]`. Every generator runs with no terminal when all answers
// come as flags, asks (through plop's prompts) for the rest when a terminal is attached, and otherwise
// exits 1 naming what is missing. Nothing is written unless every file can be; see staged-write.ts. One
// run at a time plans and writes in a workspace; see workspace-lock.ts.
import type { Interface } from 'node:readline';
import { parseArgs } from 'node:util';
import nodePlop, { type DynamicPromptsFunction, type NodePlopAPI } from 'node-plop';
import { GenError, isGenError } from './errors.ts';
import { formatChanges } from './format.ts';
import { holdSignals, receivedSignal, signalExitCode, throwIfInterrupted } from './interrupt.ts';
import { GENERATORS } from './registry.ts';
import type { GeneratorSpec, Plan } from './spec.ts';
import { applyChanges, describeChanges, refuseDuplicatePaths } from './staged-write.ts';
import { readWorkspace, type Workspace } from './workspace.ts';
import { lockWorkspace } from './workspace-lock.ts';

export interface CliIo {
  cwd: string;
  interactive: boolean;
  out(line: string): void;
  err(line: string): void;
}

/** Runs the generator CLI and returns the exit code; never throws for a user mistake. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    await run(argv, io);
    const signal = receivedSignal();
    if (signal) {
      io.err(`gen: interrupted by ${signal} after every file was written`);
      return signalExitCode(signal);
    }
    return 0;
  } catch (error) {
    if (isGenError(error) && error.code === 'RAMPART_GEN_INTERRUPTED') {
      io.err(`gen: ${error.message}`);
      return signalExitCode(receivedSignal() ?? 'SIGINT');
    }
    if (isGenError(error)) {
      io.err(`gen: ${error.message}`);
      return 1;
    }
    io.err(`gen: unexpected failure: ${(error as Error).message ?? String(error)}`);
    return 1;
  }
}

function usage(): string {
  return ['usage: pnpm gen <generator> [answers] [--flags] [--dry-run]', '', 'generators:']
    .concat(GENERATORS.map((spec) => `  ${spec.usage.padEnd(62)} ${spec.description}`))
    .join('\n');
}

async function run(argv: readonly string[], io: CliIo): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    io.out(usage());
    if (!name) throw new GenError('RAMPART_GEN_BAD_ARGUMENTS', 'no generator named');
    return;
  }
  const spec = GENERATORS.find((candidate) => candidate.name === name);
  if (!spec) throw new GenError('RAMPART_GEN_UNKNOWN_GENERATOR', `unknown generator "${name}"\n${usage()}`);
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(`usage: ${spec.usage}\n\n${spec.description}`);
    return;
  }

  const { values, positionals } = parseFlags(spec, rest);
  const workspace = readWorkspace(io.cwd);
  const answers = await collectAnswers(spec, workspace, values, positionals, io);
  // From here on (the prompts are over) a signal is held: each step cleans up what it has on disk and the
  // run stops at the next safe point, or after the last file when the commit was already under way.
  const release = holdSignals();
  try {
    // One run at a time plans and writes: a second `gen` started meanwhile waits, then plans from what this
    // one wrote (two at once would each read tasks.ts and rampart.json, and the last to write would win).
    const unlock = await lockWorkspace(workspace.root, {
      onWait: (who) => io.err(`gen: waiting for ${who} to finish writing to this workspace...`),
    });
    try {
      // The answers were checked against the workspace as it was before the wait: check them again.
      const current = readWorkspace(workspace.root);
      checkAnswers(spec, current, answers);
      await planAndWrite(spec, current, answers, values['dry-run'] === true, io);
    } finally {
      unlock();
    }
  } finally {
    release();
  }
}

async function planAndWrite(
  spec: GeneratorSpec,
  workspace: Workspace,
  answers: Record<string, string>,
  dryRun: boolean,
  io: CliIo,
): Promise<void> {
  const plop = await createPlop(workspace);
  const planned = await planWithPlop(plop, spec, answers, workspace);
  throwIfInterrupted();
  refuseDuplicatePaths(workspace.root, planned.changes);
  const plan = { ...planned, changes: formatChanges(workspace.root, planned.changes) };
  throwIfInterrupted();

  if (dryRun) {
    io.out(`gen ${spec.name} (dry run): would write ${plan.changes.length} file(s):`);
    for (const line of describeChanges(plan.changes)) io.out(`  ${line}`);
    return;
  }
  if (plan.changes.length === 0) {
    io.out(`gen ${spec.name}: nothing to change`);
    return;
  }
  await applyChanges(workspace.root, plan.changes);
  io.out(`gen ${spec.name}: wrote ${plan.changes.length} file(s):`);
  for (const line of describeChanges(plan.changes)) io.out(`  ${line}`);
  if (plan.next.length > 0) {
    io.out('next:');
    for (const command of plan.next) io.out(`  ${command}`);
  }
}

function parseFlags(spec: GeneratorSpec, args: readonly string[]) {
  const options: Record<string, { type: 'string' | 'boolean' }> = { 'dry-run': { type: 'boolean' } };
  for (const question of spec.questions) options[question.name] = { type: 'string' };
  try {
    return parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new GenError('RAMPART_GEN_BAD_ARGUMENTS', `${(error as Error).message}\nusage: ${spec.usage}`, {
      cause: error,
    });
  }
}

async function collectAnswers(
  spec: GeneratorSpec,
  workspace: Workspace,
  values: Record<string, unknown>,
  positionals: readonly string[],
  io: CliIo,
): Promise<Record<string, string>> {
  const maxPosition = Math.max(-1, ...spec.questions.map((question) => question.position ?? -1));
  if (positionals.length > maxPosition + 1) {
    throw new GenError('RAMPART_GEN_BAD_ARGUMENTS', `too many arguments\nusage: ${spec.usage}`);
  }
  const given: Record<string, string> = {};
  for (const question of spec.questions) {
    const flag = values[question.name];
    const positional = question.position === undefined ? undefined : positionals[question.position];
    if (typeof flag === 'string' && positional !== undefined && flag !== positional) {
      throw new GenError(
        'RAMPART_GEN_BAD_ARGUMENTS',
        `${question.name} given twice ("${positional}" and --${question.name} "${flag}")`,
      );
    }
    const value = typeof flag === 'string' ? flag : positional;
    if (value !== undefined) given[question.name] = value;
  }

  const missing = spec.questions.filter(
    (question) => question.required && given[question.name] === undefined,
  );
  if (missing.length > 0 && !io.interactive) {
    const names = missing.map((question) => `--${question.name}`).join(', ');
    throw new GenError(
      'RAMPART_GEN_MISSING_ANSWER',
      `missing ${names} (no terminal to ask)\nusage: ${spec.usage}`,
    );
  }

  // What was given is checked before anything is asked, so a bad flag fails before the first prompt.
  checkAnswers(spec, workspace, given);
  const answers = missing.length > 0 ? await ask(spec, workspace, given, io) : { ...given };
  for (const question of spec.questions) {
    if (answers[question.name] === undefined && question.default !== undefined)
      answers[question.name] = question.default;
  }
  checkAnswers(spec, workspace, answers);
  return answers;
}

/** Checks every answer present, in the questions' order; the first that is not valid fails the run. */
function checkAnswers(spec: GeneratorSpec, workspace: Workspace, answers: Readonly<Record<string, string>>) {
  for (const question of spec.questions) {
    const value = answers[question.name];
    if (value === undefined) continue;
    const problem = question.validate?.(value, workspace, answers);
    if (problem) throw new GenError('RAMPART_GEN_INVALID_ANSWER', problem);
  }
}

type Inquirer = Parameters<DynamicPromptsFunction>[0];

/** What of inquirer's prompt session (the `ui` of the promise `inquirer.prompt` returns) is used here. */
interface PromptSession {
  rl: Interface;
  close(): void;
}

/**
 * Asks for every answer not given, through plop's prompts (its inquirer), with the terminal's keys meaning
 * what they mean in a shell: Enter at an optional question takes what leaving its flag out takes (its
 * default, shown), Ctrl-D ends the run with RAMPART_GEN_MISSING_ANSWER and Ctrl-C with
 * RAMPART_GEN_INTERRUPTED, nothing written. Each answer is checked as it is typed, against the answers
 * before it (a task name against the service just chosen), and asked again until it is valid.
 */
async function ask(
  spec: GeneratorSpec,
  workspace: Workspace,
  given: Readonly<Record<string, string>>,
  io: CliIo,
): Promise<Record<string, string>> {
  const plop = await createPlop(workspace);
  plop.setGenerator(spec.name, {
    description: spec.description,
    prompts: (inquirer) => prompt(inquirer, spec, workspace, given, io),
    actions: [],
  });
  const asked = (await plop.getGenerator(spec.name).runPrompts()) as Record<string, unknown>;
  const answers: Record<string, string> = { ...given };
  for (const question of spec.questions) {
    const value = asked[question.name];
    // Empty at an optional question: no answer, as when its flag is left out.
    if (typeof value === 'string' && !(value === '' && !question.required)) answers[question.name] = value;
  }
  return answers;
}

function prompt(
  inquirer: Inquirer,
  spec: GeneratorSpec,
  workspace: Workspace,
  given: Readonly<Record<string, string>>,
  io: CliIo,
): Promise<Record<string, unknown>> {
  const strings = (answers: Record<string, unknown>) =>
    Object.fromEntries(
      Object.entries(answers).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
    );
  const questions = spec.questions.map((question) => ({
    type: 'input',
    name: question.name,
    message: question.whenEmpty
      ? `${question.message} (empty for ${question.whenEmpty(workspace)})`
      : question.message,
    default: question.default,
    validate: (value: string, before: Record<string, unknown> = {}) => {
      if (value === '' && !question.required && question.default === undefined) return true;
      return question.validate?.(value, workspace, { ...given, ...strings(before) }) ?? true;
    },
  }));
  // The given answers are passed in as answered, so inquirer asks only for the others.
  const pending = inquirer.prompt(questions, { ...given });
  // Inquirer's own session: its readline and its close. Inquirer 9 leaves its promise pending for ever
  // when the input ends (Ctrl-D), and on Ctrl-C sends this process SIGINT with nothing said.
  const session = (pending as unknown as { ui: PromptSession }).ui;
  return new Promise((resolve, reject) => {
    let settled = false;
    const asking = () => {
      const name = (session as unknown as { activePrompt?: { opt?: { name?: unknown } } }).activePrompt?.opt
        ?.name;
      return typeof name === 'string' ? `--${name}` : 'an answer';
    };
    const stop = (error: GenError) => {
      if (settled) return;
      settled = true;
      // The message goes on a line of its own, not after the prompt.
      io.out('');
      try {
        session.close();
      } catch {
        // Its readline was closed already (the input ended); the rest of close() ran before that.
      }
      reject(error);
    };
    pending.then(
      (answers) => {
        settled = true;
        resolve(answers);
      },
      (error: unknown) => {
        settled = true;
        reject(error);
      },
    );
    // Inquirer closes its readline too when the last answer is in; its promise has resolved by the time
    // this check runs (the next turn of the event loop), so only an input that ended stops the run here.
    session.rl.on('close', () =>
      setImmediate(() =>
        stop(
          new GenError(
            'RAMPART_GEN_MISSING_ANSWER',
            `missing ${asking()}: the input ended (Ctrl-D) at its prompt; nothing was written\nusage: ${spec.usage}`,
          ),
        ),
      ),
    );
    session.rl.removeAllListeners('SIGINT');
    session.rl.on('SIGINT', () =>
      stop(
        new GenError(
          'RAMPART_GEN_INTERRUPTED',
          'interrupted by SIGINT (Ctrl-C) at a prompt; nothing was written',
        ),
      ),
    );
  });
}

async function createPlop(workspace: Workspace): Promise<NodePlopAPI> {
  return nodePlop('', { destBasePath: workspace.root, force: false });
}

/**
 * Runs the generator through plop: its single action renders the whole plan (plop's handlebars) without
 * touching the disk, so the caller can list it (dry run) or apply it all at once.
 */
async function planWithPlop(
  plop: NodePlopAPI,
  spec: GeneratorSpec,
  answers: Record<string, string>,
  workspace: Workspace,
): Promise<Plan> {
  let plan: Plan | undefined;
  let failure: unknown;
  plop.setActionType('rampart-plan', async (data) => {
    try {
      plan = await spec.plan(data as Record<string, string>, workspace, (template, view) =>
        plop.renderString(template, view),
      );
      return `planned ${plan.changes.length} file(s)`;
    } catch (error) {
      failure = error;
      throw error;
    }
  });
  plop.setGenerator(spec.name, {
    description: spec.description,
    prompts: [],
    actions: [{ type: 'rampart-plan' }],
  });
  const result = await plop.getGenerator(spec.name).runActions(answers);
  if (failure) throw failure;
  if (!plan || result.failures.length > 0) {
    const detail = result.failures.map((item) => item.error || item.message).join('; ');
    throw new GenError('RAMPART_GEN_WRITE_FAILED', `the generator failed: ${detail}`);
  }
  return plan;
}

/**
 * `stream.write` that gives up quietly once the reader is gone (`pnpm gen ... | head -1`): the run's
 * outcome and exit status are the files, not whether anyone read the list of them.
 */
function lineWriter(stream: NodeJS.WriteStream): (line: string) => void {
  let closed = false;
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') closed = true;
    else throw error;
  });
  return (line) => {
    if (closed || stream.destroyed) return;
    stream.write(`${line}\n`);
  };
}

if (import.meta.main) {
  const code = await runCli(process.argv.slice(2), {
    cwd: process.env.INIT_CWD ?? process.cwd(),
    interactive: Boolean(process.stdin.isTTY && process.stdout.isTTY),
    out: lineWriter(process.stdout),
    err: lineWriter(process.stderr),
  });
  process.exitCode = code;
}
