import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { openSync } from 'node:fs';

export interface ServerSpec {
  /** The entry: a .ts file under servers/, or the bundled Rampart server (configs.ts). */
  entry: string;
  /** Node flags, before everything else. */
  flags?: readonly string[];
  /** Files preloaded with `node --import` (the tracing setups). */
  imports?: readonly string[];
  env?: Readonly<Record<string, string>>;
  /** Core to pin to with taskset, or undefined to run unpinned. */
  core: string | undefined;
}

export interface RunningServer {
  pid: number;
  port: number;
  key: string | undefined;
  stop(): Promise<void>;
}

const STARTUP_MS = 60_000;

/**
 * Starts one server process with its stdout on /dev/null, so log lines cost the server what they would cost
 * writing to a pipe nobody is slow to read, and nothing in this process. The server reports its port (and
 * key) over the IPC channel; only then is it pinned to `core` (every thread), so start-ups may use every
 * core and run side by side.
 */
export async function startServer(spec: ServerSpec): Promise<RunningServer> {
  const node = [
    ...(spec.flags ?? []),
    ...(spec.imports ?? []).flatMap((file) => ['--import', file]),
    spec.entry,
  ];
  const devNull = openSync('/dev/null', 'w');
  const child: ChildProcess = spawn(process.execPath, node, {
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', ...spec.env },
    stdio: ['ignore', devNull, 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr = (stderr + String(chunk)).slice(-4000);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), STARTUP_MS);
  try {
    const message = await new Promise<{ port: number; key?: string }>((resolve, reject) => {
      child.once('message', (value) => resolve(value as { port: number; key?: string }));
      child.once('exit', (code) =>
        reject(new Error(`${spec.entry} exited with ${code} before listening:\n${stderr}`)),
      );
    });
    if (spec.core)
      execFileSync('taskset', ['-a', '-p', '-c', spec.core, String(child.pid)], { stdio: 'ignore' });
    return {
      pid: child.pid as number,
      port: message.port,
      key: message.key,
      stop: async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(kill);
      },
    };
  } finally {
    clearTimeout(timer);
  }
}
