/**
 * Every way the release tooling fails on purpose. The CLIs print `code: message` and exit 1, never a stack.
 * The status says which side is at fault, as for HTTP: 4xx the caller's input, 5xx a step that broke.
 */
export const RELEASE_ERRORS = {
  RAMPART_RELEASE_BAD_ARGUMENTS: { status: 400, message: 'the command-line arguments are not understood' },
  RAMPART_RELEASE_NOT_A_WORKSPACE: {
    status: 400,
    message: 'the directory is not the root of a pnpm workspace',
  },
  RAMPART_RELEASE_DIRTY_TREE: {
    status: 409,
    message: 'the git work tree has uncommitted changes; a release starts from a clean tree',
  },
  RAMPART_RELEASE_BUILD_FAILED: { status: 500, message: 'building the publishable packages failed' },
  RAMPART_RELEASE_BUILD_OUTPUT_MISSING: {
    status: 500,
    message: "a publishable package's exports point at files its build did not produce",
  },
  RAMPART_RELEASE_COMMAND_FAILED: { status: 500, message: 'a release step (changeset, pnpm or git) failed' },
  RAMPART_RELEASE_REGISTRY_UNREACHABLE: { status: 502, message: 'the registry could not be queried' },
  RAMPART_RELEASE_PACKAGE_CHECK_FAILED: {
    status: 422,
    message: 'a package misses a required field, or publint or attw found problems in it',
  },
  RAMPART_RELEASE_REGISTRY_START_FAILED: { status: 500, message: 'the local registry did not start' },
} as const;

export type ReleaseErrorCode = keyof typeof RELEASE_ERRORS;

export class ReleaseError extends Error {
  readonly code: ReleaseErrorCode;
  readonly status: number;
  constructor(code: ReleaseErrorCode, detail: string, options?: { cause?: unknown }) {
    super(`${RELEASE_ERRORS[code].message}: ${detail}`, options);
    this.name = 'ReleaseError';
    this.code = code;
    this.status = RELEASE_ERRORS[code].status;
  }
}

export function isReleaseError(error: unknown): error is ReleaseError {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof Error && typeof code === 'string' && code in RELEASE_ERRORS;
}
