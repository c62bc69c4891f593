import { descriptionQuestion } from './description.ts';
import { camelCase, checkName, pascalCase } from './names.ts';
import type { GeneratorSpec } from './spec.ts';
import { renderTemplateTree, templateFiles } from './templates.ts';
import { packageNameTaken } from './workspace.ts';

const SOURCE = 'packages/{{name}}/src/';

/**
 * Names whose `src/<name>.ts` would be a file the package template already writes (`errors`, `index`):
 * the plan would hold that path twice.
 */
function templateSourceNames(): Set<string> {
  return new Set(
    templateFiles('package')
      .filter((path) => path.startsWith(SOURCE) && !path.slice(SOURCE.length).includes('{{'))
      .map((path) => path.slice(SOURCE.length).replace(/\.hbs$/, ''))
      .filter((file) => file.endsWith('.ts'))
      .map((file) => file.slice(0, -'.ts'.length)),
  );
}

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
        if (templateSourceNames().has(value)) {
          return `package name "${value}" is reserved: the package template already writes src/${value}.ts`;
        }
        return packageNameTaken(workspace, value);
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
