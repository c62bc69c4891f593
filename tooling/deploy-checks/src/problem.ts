/** One finding of a check: the file it is about, the rule that failed and what to change. */
export interface Problem {
  file: string;
  rule: string;
  message: string;
}

/** `file: [rule] message`, one line per problem, for test failures and the CLI. */
export function formatProblems(problems: readonly Problem[]): string {
  return problems.map((problem) => `${problem.file}: [${problem.rule}] ${problem.message}`).join('\n');
}
