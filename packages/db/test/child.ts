import { type ChildProcess, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const writer = new URL('./fixtures/writer.ts', import.meta.url).pathname;

export interface Child {
  process: ChildProcess;
  /** Resolves with the first line starting with `prefix` (rejects if the child exits first). */
  line(prefix: string): Promise<string>;
  readonly lines: string[];
  exited: Promise<number | null>;
}

/** Starts test/fixtures/writer.ts as a real child process. */
export function startWriter(dataDir: string, mode: 'write' | 'hold'): Child {
  const child = spawn(process.execPath, [writer, dataDir, mode], {
    stdio: ['pipe', 'pipe', 'pipe'],
    // The crash test starts 21 children: cache compiled JavaScript between them.
    env: { ...process.env, NODE_COMPILE_CACHE: join(tmpdir(), 'rampart-db-compile-cache') },
  });
  const lines: string[] = [];
  const waiters: Array<{ prefix: string; resolve: (line: string) => void }> = [];
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const waiter of waiters.splice(0)) {
      if (line.startsWith(waiter.prefix)) waiter.resolve(line);
      else waiters.push(waiter);
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    process: child,
    lines,
    exited,
    line(prefix) {
      const seen = lines.find((line) => line.startsWith(prefix));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ prefix, resolve });
        void exited.then((code) =>
          reject(new Error(`writer exited (${code}) before "${prefix}": ${stderr}`)),
        );
      });
    },
  };
}
