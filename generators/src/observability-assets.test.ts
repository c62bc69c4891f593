import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ManifestEntry } from './manifest.ts';
import { describeService, FIRST_RESOURCE, resourceRoutes, templateTasks } from './observability-assets.ts';

const template = (path: string) => readFileSync(new URL(`../templates/${path}`, import.meta.url), 'utf8');

/** The routes a routes plugin declares (`app.get('/:id', ...)`), registered at `prefix`. */
function declaredRoutes(source: string, prefix: string): Array<{ method: string; route: string }> {
  return [...source.matchAll(/\bapp\.(get|post|put|patch|delete)\(\s*'([^']*)'/g)].map((match) => ({
    method: match[1]!.toUpperCase(),
    route: match[2] === '/' ? prefix : `${prefix}${match[2]}`,
  }));
}

describe('what the dashboard and rules describe', () => {
  it("lists the routes the service template's items and the resource template serve", () => {
    const app = template('service/apps/{{name}}/src/app.ts.hbs');
    expect(app).toContain(`await app.register(itemRoutes, { prefix: '/${FIRST_RESOURCE}' });`);
    expect(declaredRoutes(template('service/apps/{{name}}/src/items/routes.ts'), '/items')).toEqual(
      resourceRoutes('items'),
    );
    expect(
      declaredRoutes(template('resource/apps/{{service}}/src/{{name}}/routes.ts.hbs'), '/refunds'),
    ).toEqual(resourceRoutes('refunds'));
  });

  it("takes the service template's tasks from its src/tasks.ts", () => {
    expect(templateTasks()).toEqual(['audit.verify']);
  });

  it('adds each applied task and resource in the order of rampart.json, after the template', () => {
    const entries: ManifestEntry[] = [
      { generator: 'service', templateVersion: 16, answers: { name: 'shop' } },
      {
        generator: 'resource',
        templateVersion: 3,
        answers: { service: 'shop', name: 'carts', fields: 'a:string' },
      },
      { generator: 'task', templateVersion: 1, answers: { service: 'shop', name: 'expire-carts' } },
      { generator: 'upgrade', templateVersion: 1, answers: {} },
      {
        generator: 'resource',
        templateVersion: 3,
        answers: { service: 'shop', name: 'payments', fields: 'a:string' },
      },
      { generator: 'task', templateVersion: 1, answers: { service: 'shop', name: 'settle' } },
    ];
    expect(describeService('shop', entries)).toEqual({
      service: 'shop',
      routes: [...resourceRoutes('items'), ...resourceRoutes('carts'), ...resourceRoutes('payments')],
      tasks: ['audit.verify', 'expire-carts', 'settle'],
    });
  });

  it('refuses a recorded task or resource run without a name', () => {
    expect(() =>
      describeService('shop', [
        { generator: 'service', templateVersion: 16, answers: { name: 'shop' } },
        { generator: 'task', templateVersion: 1, answers: { service: 'shop' } },
      ]),
    ).toThrow(/apps\/shop\/rampart\.json: its task run \(entry 1 .*\) has no answers\.name/);
  });
});
