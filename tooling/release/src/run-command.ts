import { spawn } from 'node:child_process';
import { ReleaseError, type ReleaseErrorCode } from './errors.ts';

export interface CommandOptions {
  cwd: string;
  /** Extra variables on top of {@link childEnv}'s cleaned environment. */
  env?: Record<string, string>;
  /** Receives output as it arrives (a release prints its steps live). */
  onOutput?: (text: string) => void;
  /** The error code thrown when the command exits non-zero; omit to get the result back instead. */
  failWith?: ReleaseErrorCode;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The environment for child pnpm, turbo and git processes: ours minus the variables that pnpm, npm and
 * turbo set for the script that runs us (`npm_config_*`, `PNPM_*`, `TURBO_*` ...), which would otherwise
 * leak the outer run's configuration (its registry, its turbo run) into the inner one.
 */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|pnpm_|PNPM_SCRIPT|PNPM_CONFIG_|TURBO_|INIT_CWD$)/i.test(key)) continue;
    env[key] = value;
  }
  return { ...env, TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1', ...extra };
}

/** Runs a command without a shell and resolves with its output; rejects with `failWith` on a non-zero exit. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: CommandOptions,
): Promise<CommandResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: childEnv(options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
      options.onOutput?.(text);
    });
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      stderr += text;
      options.onOutput?.(text);
    });
    child.on('error', (error) => {
      reject(
        new ReleaseError(options.failWith ?? 'RAMPART_RELEASE_COMMAND_FAILED', `${command} could not start`, {
          cause: error,
        }),
      );
    });
    child.on('close', (code, signal) => {
      const result = { code: code ?? 1, stdout, stderr };
      if (result.code === 0 || !options.failWith) {
        resolvePromise(result);
        return;
      }
      // Output already streamed through onOutput is not repeated; otherwise its tail says what went wrong.
      const tail = options.onOutput ? '' : `${stdout}\n${stderr}`.trim().split('\n').slice(-15).join('\n');
      reject(
        new ReleaseError(
          options.failWith,
          `\`${[command, ...args].join(' ')}\` exited ${signal ?? result.code} in ${options.cwd}${tail ? `\n${tail}` : ''}`,
          { cause: result },
        ),
      );
    });
  });
}
