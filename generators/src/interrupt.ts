import { constants } from 'node:os';
import { GenError } from './errors.ts';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

let holders = 0;
let received: NodeJS.Signals | undefined;

function record(signal: NodeJS.Signals): void {
  received ??= signal;
}

/**
 * Holds SIGINT, SIGTERM and SIGHUP until the returned release is called: a signal no longer ends the
 * process at once (halfway through renaming files into place, or with a staging folder on disk) but is
 * recorded, for the run to stop at its next safe point (`throwIfInterrupted`), undo or finish what it was
 * doing, and exit with 128 + the signal's number (130 for Ctrl-C). Holds nest.
 */
export function holdSignals(): () => void {
  if (holders === 0) for (const signal of SIGNALS) process.on(signal, record);
  holders += 1;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    holders -= 1;
    if (holders === 0) for (const signal of SIGNALS) process.off(signal, record);
  };
}

/**
 * A safe point after a child process ran synchronously: a signal held meanwhile is only dispatched at the
 * event loop's next turn, but one that also ended the child (Ctrl-C reaches the whole process group) is
 * known now. Throws RAMPART_GEN_INTERRUPTED as `throwIfInterrupted` does.
 */
export function throwIfChildInterrupted(childSignal: NodeJS.Signals | null): void {
  if (holders > 0 && childSignal && (SIGNALS as readonly string[]).includes(childSignal)) record(childSignal);
  throwIfInterrupted();
}

/** The first signal received while held, if any. */
export function receivedSignal(): NodeJS.Signals | undefined {
  return received;
}

/** The exit status for a run a signal stopped: 128 + its number (SIGINT 130, SIGHUP 129, SIGTERM 143). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 2);
}

/** A safe point: throws RAMPART_GEN_INTERRUPTED when a held signal arrived. */
export function throwIfInterrupted(): void {
  if (received) {
    throw new GenError('RAMPART_GEN_INTERRUPTED', `interrupted by ${received}; nothing was written`);
  }
}
