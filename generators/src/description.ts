import type { Question } from './spec.ts';

/**
 * A one-line description lands in JSON, YAML, a Dockerfile LABEL and Markdown, and handlebars would
 * HTML-escape some characters, so it is limited to characters that read the same in all of them.
 */
export function descriptionQuestion(fallback: string): Question {
  return {
    name: 'description',
    message: 'One line on what it does',
    required: false,
    default: fallback,
    validate: (value) =>
      /^[^&<>"'`=\\\n\r$]{1,200}$/.test(value)
        ? undefined
        : 'description must be one line of 1-200 characters without & < > " \' ` = \\ or $',
  };
}
