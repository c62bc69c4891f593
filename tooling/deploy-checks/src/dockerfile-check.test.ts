import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkDockerfile, checkDockerignore } from './dockerfile-check.ts';

// What `gen service shop --port 3200` writes.
const generated = readFileSync(new URL('../test/fixtures/Dockerfile', import.meta.url), 'utf8');
const rulesOf = (content: string) => checkDockerfile(content, 'Dockerfile').map((problem) => problem.rule);
const edit = (from: string | RegExp, to: string) => {
  const changed = generated.replace(from, to);
  expect(changed, `fixture no longer contains ${from}`).not.toBe(generated);
  return changed;
};

describe('checkDockerfile', () => {
  it('passes the generated Dockerfile', () => {
    expect(checkDockerfile(generated, 'Dockerfile')).toEqual([]);
  });

  it.each([
    ['an unpinned base image', edit('ARG NODE_VERSION=24.21.0', 'ARG NODE_VERSION=lts'), 'pinned-base'],
    [
      'a :latest base',
      edit(/FROM node:\$\{NODE_VERSION\}-bookworm-slim AS runtime/, 'FROM node:latest AS runtime'),
      'pinned-base',
    ],
    [
      'ADD of a URL',
      edit('WORKDIR /app\n', 'WORKDIR /app\nADD https://example.invalid/x.tgz /tmp/\n'),
      'no-add-url',
    ],
    ['ADD of a local file', edit('WORKDIR /app\n', 'WORKDIR /app\nADD README.md /app/\n'), 'copy-not-add'],
    ['no USER', edit(/^USER node\n/m, ''), 'non-root'],
    ['USER root', edit(/^USER node\n/m, 'USER root\n'), 'non-root'],
    ['a shell-form CMD', edit(/^CMD \[.*\]$/m, 'CMD node dist/server.js'), 'exec-form'],
    ['no init process', edit(/^ENTRYPOINT .*$/m, 'ENTRYPOINT ["node"]'), 'init-process'],
    ['no HEALTHCHECK', edit(/^HEALTHCHECK [^\n]*\\\n[^\n]*\n/m, ''), 'healthcheck'],
    ['a HEALTHCHECK on another path', edit(/\/health\/live/g, '/'), 'healthcheck'],
    [
      'a missing OCI label',
      edit(/^\s+org\.opencontainers\.image\.licenses="MIT"$/m, '      org.example="x"'),
      'oci-labels',
    ],
    ['no turbo prune', edit(/--docker/, ''), 'turbo-prune'],
    ['apt lists left in the layer', edit(/ \\\n && rm -rf \/var\/lib\/apt\/lists\/\*/, ''), 'apt-lists'],
    ['recommended packages', edit('--no-install-recommends ', ''), 'apt-no-recommends'],
    [
      'a secret baked in',
      edit('WORKDIR /app\n', 'WORKDIR /app\nENV API_KEY_PEPPER=abc\n'),
      'no-secret-in-image',
    ],
    ['an unknown HEALTHCHECK flag', edit('--retries=3', '--retires=3'), 'dockerfile-utils'],
  ])('fails on %s', (_name, content, rule) => {
    expect(rulesOf(content)).toContain(rule);
  });

  it('says where: the line of the instruction', () => {
    const content = edit('WORKDIR /app\n', 'WORKDIR /app\nADD https://example.invalid/x.tgz /tmp/\n');
    const line = content.split('\n').findIndex((text) => text.startsWith('ADD ')) + 1;
    expect(checkDockerfile(content, 'apps/shop/Dockerfile')).toContainEqual({
      file: 'apps/shop/Dockerfile',
      rule: 'no-add-url',
      message: expect.stringMatching(new RegExp(`^line ${line}: ADD fetches`)),
    });
  });

  it('reports a file with no FROM at all', () => {
    expect(rulesOf('RUN echo hi\n')).toContain('stages');
  });
});

describe('checkDockerignore', () => {
  const template = readFileSync(
    new URL('../../../generators/templates/service/apps/{{name}}/Dockerfile.dockerignore', import.meta.url),
    'utf8',
  );

  it('passes the template', () => {
    expect(checkDockerignore(template, 'Dockerfile.dockerignore')).toEqual([]);
  });

  it('fails when .env files or node_modules would enter the build context', () => {
    const problems = checkDockerignore(`${template.replace('**/.env\n', '')}!**/node_modules/keep\n`, 'x');
    expect(problems.map((problem) => problem.message)).toEqual([
      'does not exclude **/.env',
      're-includes **/node_modules/keep',
    ]);
  });
});
