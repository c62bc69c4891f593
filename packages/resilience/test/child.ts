import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const fixture = fileURLToPath(new URL('./fixtures/server.ts', import.meta.url));

export interface ChildServer {
  child: ChildProcess;
  address: string;
  /** Every JSON line the server printed so far. */
  lines: Array<Record<string, unknown> & { t: number; msg?: string }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  stderr: () => string;
}

/** Starts test/fixtures/server.ts as a real process and waits until it listens. */
export async function startServer(env: Record<string, string>): Promise<ChildServer> {
  const child = spawn(process.execPath, [fixture], {
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: ChildServer['lines'] = [];
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>(
    (resolve) => {
      child.on('exit', (code, signal) => resolve({ code, signal, at: Date.now() }));
    },
  );
  const address = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${err}`)), 15_000);
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf('\n');
        try {
          const parsed = JSON.parse(line);
          lines.push(parsed);
          if (parsed.msg === 'listening') {
            clearTimeout(timer);
            resolve(parsed.address);
          }
        } catch {
          // not one of ours
        }
      }
    });
    void exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening: ${err}`));
    });
  });
  return { child, address, lines, exited, stderr: () => err };
}
