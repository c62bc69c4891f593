import { descriptionQuestion } from './description.ts';
import { camelCase, checkName, pascalCase } from './names.ts';
import type { GeneratorSpec } from './spec.ts';
import { renderTemplateTree } from './templates.ts';

/** `gen package <name>`: a shared package in the house shape, changeset-ready. */
export const packageGenerator: GeneratorSpec = {
  name: 'package',
  description: 'a shared package in the house shape, changeset-ready',
  usage: 'gen package <name> [--description "..."]',
  questions: [
    {
      name: 'name',
      message: 'Package name (kebab-case)',
      position: 0,
      required: true,
      validate(value, workspace) {
        const problem = checkName(value, 'package');
        if (problem) return problem;
        if (workspace.packages.includes(value)) return `packages/${value} already exists`;
        return undefined;
      },
    },
    descriptionQuestion('A Rampart package.'),
  ],
  async plan(answers, workspace, render) {
    const name = answers.name!;
    const data = {
      ...answers,
      scope: workspace.scope,
      pascal: pascalCase(name),
      camel: camelCase(name),
      constName: name.toUpperCase().replaceAll('-', '_'),
      errorPrefix: `RAMPART_${name.toUpperCase().replaceAll('-', '_')}`,
    };
    return {
      changes: renderTemplateTree('package', data, render),
      next: [
        './rampart install',
        `./rampart turbo run typecheck lint test --filter=${workspace.scope}/${name}`,
      ],
    };
  },
};
