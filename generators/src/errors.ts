/** Every way a generator run can fail on purpose. The CLI prints the message and exits 1, never a stack. */
export const GEN_ERRORS = {
  RAMPART_GEN_UNKNOWN_GENERATOR: 'unknown generator',
  RAMPART_GEN_BAD_ARGUMENTS: 'the arguments do not fit the generator',
  RAMPART_GEN_MISSING_ANSWER: 'an answer is missing: no terminal to ask, or the input ended at its prompt',
  RAMPART_GEN_INVALID_ANSWER: 'an answer is not valid',
  RAMPART_GEN_TARGET_EXISTS: 'the target already exists',
  RAMPART_GEN_TARGET_MISSING: 'a file the generator must update does not exist',
  RAMPART_GEN_TARGET_CHANGED: 'a file the generator must update changed since the generator read or wrote it',
  RAMPART_GEN_ANCHOR_MISSING: 'a file the generator must update no longer has the spot it extends',
  RAMPART_GEN_MIGRATION_FAILED: 'drizzle-kit could not generate the migration',
  RAMPART_GEN_NOT_A_WORKSPACE: 'not inside a Rampart workspace',
  RAMPART_GEN_WRITE_FAILED: 'writing the files failed; everything written was rolled back',
  RAMPART_GEN_DUPLICATE_PATH: 'the generator planned one file twice',
  RAMPART_GEN_BUSY: 'another gen run is writing to this workspace and did not finish in time',
  RAMPART_GEN_INTERRUPTED: 'a signal (Ctrl-C) stopped the run before every file was written',
} as const;

export type GenErrorCode = keyof typeof GEN_ERRORS;

export class GenError extends Error {
  readonly code: GenErrorCode;
  constructor(code: GenErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GenError';
    this.code = code;
  }
}

export function isGenError(error: unknown): error is GenError {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === 'string' && code in GEN_ERRORS;
}
