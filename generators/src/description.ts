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
    // `*/` would end the doc comment the description is written into. Control characters (a tab, C1's NEL)
    // and the Unicode line and paragraph separators are invalid in a JSON string or end a line in YAML or
    // JavaScript.
    validate: (value) =>
      /^[^&<>"'`=\\$\p{Cc}\u2028\u2029]{1,200}$/u.test(value) && !value.includes('*/')
        ? undefined
        : 'description must be one line of 1-200 characters without control characters (tab, newline...), & < > " \' ` = \\ $ or */',
  };
}
