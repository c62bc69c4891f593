import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ReleaseError } from './errors.ts';

export interface LocalRegistryOptions {
  /** Directory for the registry's config, storage and htpasswd (created if missing). */
  dir: string;
  /** The npm scope anyone may publish to without logging in. Default `@rampart`. */
  scope?: string;
  /** How long to wait for the registry to listen. Default 30 s. */
  startTimeoutMs?: number;
}

export interface LocalRegistry {
  /** Base URL with a trailing slash, e.g. `http://127.0.0.1:40123/`. */
  url: string;
  /** Where published tarballs and metadata are stored. */
  storage: string;
  /** Stops the registry; resolves once the process has exited. Safe to call twice. */
  stop(): Promise<void>;
}

export const LOCAL_REGISTRY_DEFAULTS = { scope: '@rampart', startTimeoutMs: 30_000 } as const;

/**
 * Starts verdaccio in a child process on 127.0.0.1 with a free port, no uplinks (it serves only what was
 * published to it) and anonymous publish for one scope; nothing outside that scope can be published.
 */
export async function startLocalRegistry(options: LocalRegistryOptions): Promise<LocalRegistry> {
  const settings = { ...LOCAL_REGISTRY_DEFAULTS, ...options };
  if (!/^@[a-z0-9][a-z0-9._-]*$/.test(settings.scope)) {
    throw new ReleaseError('RAMPART_RELEASE_BAD_ARGUMENTS', `scope "${settings.scope}" is not an npm scope`);
  }
  const dir = resolve(settings.dir);
  const storage = join(dir, 'storage');
  mkdirSync(storage, { recursive: true });
  const configPath = join(dir, 'config.json');
  writeFileSync(
    configPath,
    JSON.stringify(
      {
        self_path: configPath,
        storage,
        auth: { htpasswd: { file: join(dir, 'htpasswd'), max_users: -1 } },
        uplinks: {},
        packages: {
          [`${settings.scope}/*`]: { access: '$all', publish: '$anonymous', unpublish: '$anonymous' },
          '**': { access: '$all', publish: '$authenticated' },
        },
        web: { enable: false },
        log: { type: 'stdout', format: 'pretty', level: 'warn' },
      },
      null,
      2,
    ),
  );

  const child = spawn(process.execPath, [join(import.meta.dirname, 'registry-server.ts'), configPath], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
  };
  try {
    const url = await waitForUrl(child, settings.startTimeoutMs);
    return { url, storage, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

function waitForUrl(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolveUrl, reject) => {
    let stdout = '';
    let stderr = '';
    const fail = (why: string, cause?: unknown) => {
      clearTimeout(timer);
      reject(
        new ReleaseError(
          'RAMPART_RELEASE_REGISTRY_START_FAILED',
          `${why}\n${(stderr || stdout).slice(-2_000)}`,
          {
            cause,
          },
        ),
      );
    };
    const timer = setTimeout(() => fail(`not listening after ${timeoutMs} ms`), timeoutMs);
    child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      stderr += text;
    });
    child.stdout?.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
      const line = stdout.split('\n').find((candidate) => candidate.startsWith('{"url":'));
      if (!line) return;
      clearTimeout(timer);
      resolveUrl((JSON.parse(line) as { url: string }).url);
    });
    child.once('error', (error) => fail('could not start', error));
    child.once('exit', (code, signal) => fail(`exited (${signal ?? code}) before listening`));
  });
}
