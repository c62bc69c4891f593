import type { Question } from './spec.ts';

/**
 * A one-line description lands in JSON, YAML, a Dockerfile LABEL, Markdown and doc comments, and
 * handlebars would HTML-escape some characters, so it is limited to characters that read the same in all.
 */
export function descriptionQuestion(fallback: string): Question {
  return {
    name: 'description',
    message: 'One line on what it does',
    required: false,
    default: fallback,
    // `*/` would end the doc comment the description is written into.
    validate: (value) =>
      /^[^&<>"'`=\\\n\r$]{1,200}$/.test(value) && !value.includes('*/')
        ? undefined
        : 'description must be one line of 1-200 characters without & < > " \' ` = \\ $ or */',
  };
}
