import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

/**
 * util-linux's `script`, which runs a command on a real pseudo-terminal (the prompts need a terminal on
 * stdin and stdout) while this process talks to it through pipes. Absent elsewhere (BSD's `script` takes
 * other flags): the tests that need it are skipped there.
 */
export const hasTerminal = (() => {
  const probe = spawnSync('script', ['--version'], { encoding: 'utf8' });
  return probe.status === 0 && probe.stdout.includes('util-linux');
})();

export interface Terminal {
  /**
   * Waits until `text` is on the screen after everything waited for so far (the prompts redraw their line
   * at each key, so an earlier copy does not count); fails after `timeoutMs` showing the screen.
   */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  /** Keys as a person types them: `\r` is Enter, `\x04` Ctrl-D, `\x03` Ctrl-C, `\x15` Ctrl-U. */
  type(keys: string): void;
  /** What was shown, without the terminal's escape sequences. */
  screen(): string;
  /** The exit status of `gen` (`script -e` passes it on); the terminal is killed after `timeoutMs`. */
  exit(timeoutMs?: number): Promise<number | null>;
}

const ESCAPES = new RegExp(`${String.fromCharCode(27)}(?:\\[[0-9;?]*[A-Za-z]|[()][A-Za-z0-9])`, 'g');

/** Runs `gen ...args` in `dir` (a scratch workspace) on a pseudo-terminal, as a person at a shell would. */
export function openTerminal(dir: string, args: readonly string[]): Terminal {
  const command = [process.execPath, join(dir, 'generators/src/cli.ts'), ...args].map(quote).join(' ');
  const child: ChildProcess = spawn('script', ['-qfec', command, '/dev/null'], {
    cwd: dir,
    env: { ...process.env, INIT_CWD: dir, TERM: 'xterm' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let raw = '';
  child.stdout!.on('data', (chunk) => {
    raw += String(chunk);
  });
  child.stderr!.on('data', (chunk) => {
    raw += String(chunk);
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  let done = false;
  void exited.then(() => {
    done = true;
  });
  const screen = () => raw.replace(ESCAPES, '');
  let seen = 0;
  return {
    async waitFor(text, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const at = screen().indexOf(text, seen);
        if (at !== -1) {
          seen = at + text.length;
          return;
        }
        if (done || Date.now() > deadline) {
          child.kill();
          throw new Error(
            `"${text}" did not appear on the terminal${done ? ' (gen exited)' : ` within ${timeoutMs} ms`}:\n${screen().slice(seen)}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    type(keys) {
      child.stdin!.write(keys);
    },
    screen,
    async exit(timeoutMs = 60_000) {
      const timer = setTimeout(() => child.kill(), timeoutMs);
      try {
        const [code] = await exited;
        return code;
      } finally {
        clearTimeout(timer);
        child.stdin!.end();
      }
    },
  };
}

function quote(word: string): string {
  return /^[\w./@:=-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}
