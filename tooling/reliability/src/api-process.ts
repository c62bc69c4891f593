import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startCommand } from '@rampart/bundle';

const run = promisify(execFile);

/** apps/api's package root, found through its `exports` (`@rampart/api/app` is dist/app.js). */
export function apiRoot(): string {
  return dirname(dirname(createRequire(import.meta.url).resolve('@rampart/api/app')));
}

/** A pepper for these runs only (the service runs with NODE_ENV=production, which demands one). */
export const TEST_PEPPER = 'reliability-pepper-0123456789abcdef0123456789';

/** The environment every scenario starts from: production mode, 127.0.0.1, a free port, quiet logs. */
export function baseEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: 'warn',
    API_KEY_PEPPER: TEST_PEPPER,
    SHUTDOWN_GRACE_MS: '10000',
    ...extra,
  };
}

/** What `src/runtime-probe.ts` reports, after a full GC: `process.memoryUsage()` and the event-loop delay p99. */
export interface RuntimeProbe {
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  lagP99Ms: number;
}

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** http://127.0.0.1:<port> (the API); empty for the worker. */
  readonly url: string;
  readonly port: number;
  /** The last 64 KiB of stdout and stderr, for failure messages. */
  output(): string;
  /**
   * Every "request failed" line (the errors plugin's log of a 5xx answer) from stdout, the last 5,000: the
   * output's tail alone loses a lone unexpected 500 behind hundreds of expected 503 lines.
   */
  failedRequests(): string[];
  /** Resolves with the exit code (null when killed by a signal) and how long after `signal()` it came. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends the signal and waits for the exit; `ms` is signal to exit. */
  signal(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  /** SIGKILL if still running (cleanup). */
  kill(): void;
  /** With `probe: true`: the heap after a full GC and the event-loop delay p99 since the last call. */
  probe(): Promise<RuntimeProbe>;
}

const TAIL = 64 * 1024;
const FAILED_KEPT = 5_000;

// A test that timed out keeps running after its cleanup and may start a child then: whatever is still
// alive when the test process exits is killed, so no service outlives the run.
const alive = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of alive) child.kill('SIGKILL');
});

/** Preload that holds back process.exit() so the process must end on its own (see exit-probe.ts). */
export const EXIT_PROBE = fileURLToPath(new URL('./exit-probe.ts', import.meta.url));

/** Preload answering SIGUSR2 with the heap after a GC and the event-loop delay (see runtime-probe.ts). */
export const RUNTIME_PROBE = fileURLToPath(new URL('./runtime-probe.ts', import.meta.url));

export interface StartOptions {
  timeoutMs?: number;
  /** Extra node flags before the script, e.g. `['--import', EXIT_PROBE]`. */
  nodeArgs?: string[];
  /** Preload RUNTIME_PROBE (with --expose-gc), for `probe()`. */
  probe?: boolean;
}

function spawnService(
  script: 'server.js' | 'worker.js',
  env: Record<string, string>,
  ready: RegExp,
  { timeoutMs = 60_000, nodeArgs = [], probe = false }: StartOptions,
): Promise<ServiceProcess> {
  if (probe) nodeArgs = [...nodeArgs, '--expose-gc', '--import', RUNTIME_PROBE];
  const root = apiRoot();
  // As `pnpm start` / `pnpm start:worker` do (their Node flags, the bundled entry, which starts tracing
  // before the app loads). cwd is the app, whose node_modules hold what the bundle leaves outside (PGlite).
  const start = startCommand(root, script === 'server.js' ? 'start' : 'start:worker');
  if (start.entry !== `dist/${script}`)
    throw new Error(`${root}: start runs ${start.entry}, not dist/${script}`);
  const child = spawn(process.execPath, [...start.flags, ...nodeArgs, join(root, start.entry)], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  alive.add(child);
  child.once('exit', () => alive.delete(child));
  let out = '';
  let partial = '';
  const failed: string[] = [];
  let probes = 0;
  const probed: Array<(line: string) => void> = [];
  const keep = (chunk: Buffer) => {
    out = (out + String(chunk)).slice(-TAIL);
    const lines = String(chunk).match(/runtime-probe: .*/g) ?? [];
    for (const line of lines) probed.shift()?.(line);
  };
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not start within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    child.stderr!.on('data', keep);
    let started = false;
    child.stdout!.on('data', (chunk: Buffer) => {
      keep(chunk);
      const lines = (partial + String(chunk)).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.includes('"msg":"request failed"')) failed.push(line);
      if (failed.length > FAILED_KEPT) failed.splice(0, failed.length - FAILED_KEPT);
      const match = started ? null : ready.exec(out);
      if (!match) return;
      started = true;
      clearTimeout(timer);
      const url = match[1] ?? '';
      resolve({
        child,
        pid: child.pid!,
        url,
        port: url ? Number(new URL(url).port) : 0,
        output: () => out,
        failedRequests: () => [...failed],
        exited,
        async signal(signal) {
          const started = performance.now();
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          const result = await exited;
          return { ...result, ms: Math.round(performance.now() - started) };
        },
        kill() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        },
        probe() {
          if (!probe) return Promise.reject(new Error('started without probe: true'));
          probes++;
          return new Promise((resolveProbe, rejectProbe) => {
            const timer = setTimeout(
              () => rejectProbe(new Error(`probe ${probes} got no answer in 30 s`)),
              30_000,
            );
            probed.push((line) => {
              clearTimeout(timer);
              resolveProbe({
                heapUsed: Number(/heapUsed=(\d+)/.exec(line)?.[1]),
                heapTotal: Number(/heapTotal=(\d+)/.exec(line)?.[1]),
                external: Number(/external=(\d+)/.exec(line)?.[1]),
                arrayBuffers: Number(/arrayBuffers=(\d+)/.exec(line)?.[1]),
                lagP99Ms: Number(/lagP99Ms=([0-9.]+)/.exec(line)?.[1]),
              });
            });
            child.kill('SIGUSR2');
          });
        },
      });
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${script} exited (${code ?? signal}) before it was ready:\n${out}`));
    });
  });
}

/** Starts apps/api's server (dist/server.js) and resolves once it prints its address. */
export function startApi(env: Record<string, string>, options: StartOptions = {}): Promise<ServiceProcess> {
  return spawnService('server.js', env, /listening on (http:\/\/\S+)/, options);
}

/** Starts apps/api's worker (dist/worker.js; PostgreSQL only) and resolves once it runs. */
export function startWorker(
  env: Record<string, string>,
  options: StartOptions = {},
): Promise<ServiceProcess> {
  return spawnService('worker.js', env, /api worker running()/, options);
}

/**
 * Creates an API key through the service's own keys CLI (dist/cli.js), with the same environment the
 * server gets. On PGlite run it before the server starts: the data directory belongs to one process.
 */
export async function createApiKey(env: Record<string, string>, scopes: string[]): Promise<string> {
  const root = apiRoot();
  const { stdout } = await run(
    process.execPath,
    [join(root, 'dist', 'cli.js'), 'create', '--name', 'reliability', '--scopes', scopes.join(',')],
    { cwd: root, env, timeout: 60_000 },
  );
  const created = JSON.parse(stdout) as { key?: string };
  if (!created.key) throw new Error(`keys CLI printed no key: ${stdout}`);
  return created.key;
}
