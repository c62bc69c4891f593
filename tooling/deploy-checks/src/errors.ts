/** Every code this package throws, with its meaning (the README's errors table lists the same). */
export const DEPLOY_CHECK_ERRORS = {
  RAMPART_DEPLOY_TOOL_MISSING: 'a tool a check needs (kubectl, promtool, docker-compose) is not installed',
  RAMPART_DEPLOY_RENDER_FAILED: 'kubectl kustomize could not render a kustomization',
} as const;

export type DeployCheckErrorCode = keyof typeof DEPLOY_CHECK_ERRORS;

/** A check could not run at all (as opposed to a check that ran and found problems). */
export class DeployCheckError extends Error {
  readonly code: DeployCheckErrorCode;
  constructor(code: DeployCheckErrorCode, detail: string, options?: { cause?: unknown }) {
    super(`${DEPLOY_CHECK_ERRORS[code]}: ${detail}`, options);
    this.name = 'DeployCheckError';
    this.code = code;
  }
}
