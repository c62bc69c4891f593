import type { FileChange } from './staged-write.ts';
import type { Workspace } from './workspace.ts';

export interface Question {
  /** Answer key, and the flag that gives it (`--name`). */
  name: string;
  message: string;
  /** Position among the positional arguments (`gen package <name>` has `name` at 0). */
  position?: number;
  required: boolean;
  default?: string;
  /**
   * For an optional question without a `default`: what the generator takes when the answer is left out,
   * shown at the prompt (`Retries after the first attempt (empty for 3)`). An empty answer at the prompt is
   * taken as no answer, the same as leaving the flag out.
   */
  whenEmpty?(workspace: Workspace): string;
  /** A message saying what is wrong, or undefined when the value is fine. */
  validate?(
    value: string,
    workspace: Workspace,
    answers: Readonly<Record<string, string>>,
  ): string | undefined;
}

export interface Plan {
  changes: FileChange[];
  /** Commands to run next, printed after a successful run. */
  next: string[];
}

export type Render = (template: string, data: Readonly<Record<string, unknown>>) => string;

export interface GeneratorSpec {
  name: string;
  description: string;
  usage: string;
  questions: readonly Question[];
  plan(answers: Readonly<Record<string, string>>, workspace: Workspace, render: Render): Promise<Plan>;
}
