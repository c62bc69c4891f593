import { DockerfileParser, type Instruction, PropertyInstruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import type { Problem } from './problem.ts';

const REQUIRED_LABELS = [
  'org.opencontainers.image.title',
  'org.opencontainers.image.description',
  'org.opencontainers.image.source',
  'org.opencontainers.image.licenses',
];
const INIT_PROCESS = /(^|\/)(tini|dumb-init)$/;
// Names that carry credentials: baked into an image layer they are readable by anyone who pulls it.
const SECRET_NAME =
  /(PASSWORD|SECRET|TOKEN|PEPPER|PRIVATE_KEY|API_KEY|ENCRYPTION_KEY|DATABASE_URL|REDIS_URL)/i;

/**
 * Checks a service Dockerfile: the syntax and semantics dockerfile-utils (the linter behind VS Code's
 * Docker support) reports, then the rules Rampart images keep: `turbo prune --docker`, base images
 * pinned to a version or digest, no `ADD` (never of a URL), a final stage that runs as a non-root user
 * under an init process, exec-form `CMD`/`ENTRYPOINT`, a `HEALTHCHECK` on `/health/live`, OCI labels,
 * apt lists removed in the layer that fetched them, and no secret-looking `ENV`/`ARG`.
 */
export function checkDockerfile(content: string, file: string): Problem[] {
  const problems: Problem[] = [];
  const fail = (rule: string, message: string, line?: number) =>
    problems.push({ file, rule, message: line === undefined ? message : `line ${line + 1}: ${message}` });

  for (const diagnostic of validate(content)) {
    const message = typeof diagnostic.message === 'string' ? diagnostic.message : diagnostic.message.value;
    fail('dockerfile-utils', message, diagnostic.range.start.line);
  }

  const dockerfile = DockerfileParser.parse(content);
  const globalArgs = new Map<string, string>();
  for (const arg of dockerfile.getInitialARGs()) {
    for (const property of arg.getProperties()) globalArgs.set(property.getName(), property.getValue() ?? '');
  }
  const expand = (text: string) =>
    text.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (whole, name: string) => globalArgs.get(name) ?? whole);

  const froms = dockerfile.getFROMs();
  if (froms.length === 0) {
    fail('stages', 'no FROM instruction');
    return problems;
  }
  const stageNames = new Set<string>();
  for (const from of froms) {
    const line = from.getRange().start.line;
    const name = from.getImageName() ?? '';
    if (!stageNames.has(name) && name !== 'scratch') {
      const tag = expand(from.getImageTag() ?? '');
      const digest = from.getImageDigest();
      if (!digest && (tag === '' || tag === 'latest' || !/\d/.test(tag) || tag.includes('$'))) {
        fail('pinned-base', `base image "${from.getImage()}" is not pinned to a version or digest`, line);
      }
    }
    const stage = from.getBuildStage();
    if (stage) stageNames.add(stage);
  }

  const instructions = dockerfile.getInstructions();
  const finalFrom = froms[froms.length - 1]!;
  const finalStart = finalFrom.getRange().start.line;
  const finalStage = instructions.filter((instruction) => instruction.getRange().start.line > finalStart);
  const keyword = (instruction: Instruction) => instruction.getKeyword().toUpperCase();
  const args = (instruction: Instruction) => instruction.getRawArgumentsContent() ?? '';

  if (!instructions.some((i) => keyword(i) === 'RUN' && /\bturbo\b.*\bprune\b.*--docker/.test(args(i)))) {
    fail('turbo-prune', 'no `turbo prune <package> --docker` stage: the image would copy the whole monorepo');
  }

  for (const instruction of instructions) {
    const line = instruction.getRange().start.line;
    const kw = keyword(instruction);
    const text = args(instruction);
    if (kw === 'ADD') {
      if (/(^|\s)(https?|git):\/\//.test(text) || /\.git(\s|$)/.test(text)) {
        fail(
          'no-add-url',
          'ADD fetches from the network at build time, unverified; download in RUN with a checksum',
          line,
        );
      } else {
        fail('copy-not-add', 'use COPY for local files (ADD also unpacks archives, silently)', line);
      }
    }
    if (kw === 'RUN' && /apt-get\s+(-\S+\s+)*install/.test(text)) {
      if (!/--no-install-recommends/.test(text))
        fail('apt-no-recommends', 'apt-get install without --no-install-recommends', line);
      if (!/rm -rf \/var\/lib\/apt\/lists/.test(text))
        fail('apt-lists', 'apt lists not removed in the same RUN', line);
    }
    if (kw === 'ENV' || kw === 'ARG') {
      for (const property of propertiesOf(instruction)) {
        if (SECRET_NAME.test(property.getName())) {
          fail(
            'no-secret-in-image',
            `${kw} ${property.getName()} looks like a secret; pass it at run time`,
            line,
          );
        }
      }
    }
  }

  const users = finalStage.filter((i) => keyword(i) === 'USER');
  const lastUser = users.at(-1);
  if (!lastUser) fail('non-root', 'the final stage sets no USER, so the service runs as root');
  else if (/^(root|0)(:|$)/.test(args(lastUser).trim()))
    fail('non-root', `the final stage runs as ${args(lastUser).trim()}`);

  const execForm = (kw: string) => {
    const found = finalStage.filter((i) => keyword(i) === kw).at(-1);
    if (!found) return undefined;
    const parsed = parseJsonArray(args(found));
    if (!parsed)
      fail(
        'exec-form',
        `${kw} is in shell form: signals go to /bin/sh, not to node`,
        found.getRange().start.line,
      );
    return parsed;
  };
  const entrypoint = execForm('ENTRYPOINT');
  const cmd = execForm('CMD');
  if (!cmd) fail('exec-form', 'the final stage has no exec-form CMD');
  if (!entrypoint || !INIT_PROCESS.test(entrypoint[0] ?? '')) {
    fail(
      'init-process',
      'ENTRYPOINT does not start an init process (tini or dumb-init) to reap zombies and forward signals',
    );
  }

  const healthcheck = finalStage.filter((i) => keyword(i) === 'HEALTHCHECK').at(-1);
  if (!healthcheck) fail('healthcheck', 'the final stage has no HEALTHCHECK');
  else {
    const text = args(healthcheck);
    const command = /\bCMD\s+(.*)$/s.exec(text)?.[1];
    if (/^\s*NONE\b/i.test(text) || !command) fail('healthcheck', 'HEALTHCHECK has no CMD');
    else {
      if (!parseJsonArray(command))
        fail('healthcheck', 'HEALTHCHECK CMD is in shell form (needs /bin/sh in the image)');
      if (!command.includes('/health/live')) fail('healthcheck', 'HEALTHCHECK does not probe /health/live');
    }
  }

  const labels = new Set<string>();
  for (const instruction of finalStage.filter((i) => keyword(i) === 'LABEL')) {
    for (const property of propertiesOf(instruction)) {
      labels.add(property.getName());
    }
  }
  for (const label of REQUIRED_LABELS) {
    if (!labels.has(label)) fail('oci-labels', `the final stage has no LABEL ${label}`);
  }
  return problems;
}

function parseJsonArray(text: string): string[] | undefined {
  try {
    const value: unknown = JSON.parse(text.replace(/\\\r?\n/g, ' '));
    return Array.isArray(value) && value.length > 0 && value.every((part) => typeof part === 'string')
      ? value
      : undefined;
  } catch {
    return undefined;
  }
}

function propertiesOf(instruction: Instruction) {
  return instruction instanceof PropertyInstruction ? instruction.getProperties() : [];
}

// What must never reach the build context: it is large (node_modules, .git), machine-specific (dist,
// .turbo, built for the host) or secret (.env files).
const MUST_IGNORE = ['**/node_modules', '.git', '**/.env', '**/.env.*', '**/dist', '**/.turbo'];

/**
 * Checks the ignore file BuildKit uses for a Dockerfile (`<Dockerfile>.dockerignore` beside it, else the
 * context's `.dockerignore`): it must exclude node_modules, .git, dist, .turbo and .env files, and must
 * not re-include them with `!`.
 */
export function checkDockerignore(content: string, file: string): Problem[] {
  const lines = content
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const problems: Problem[] = [];
  for (const pattern of MUST_IGNORE) {
    if (!lines.includes(pattern))
      problems.push({ file, rule: 'dockerignore', message: `does not exclude ${pattern}` });
  }
  for (const line of lines.filter((candidate) => candidate.startsWith('!'))) {
    if (/node_modules|\.env|\.git\b/.test(line))
      problems.push({ file, rule: 'dockerignore', message: `re-includes ${line.slice(1)}` });
  }
  return problems;
}

/** What a container of the image starts with unless the pod says otherwise: the final stage's settings. */
export interface ImageDefaults {
  /** ENTRYPOINT, exec form as given, shell form as `/bin/sh -c <text>`. */
  entrypoint?: string[];
  /** CMD, likewise. */
  cmd?: string[];
  /** ENV of the final stage (`${ARG}` references resolved from the ARG defaults). */
  env: Record<string, string>;
  /** The last WORKDIR of the final stage, `/` without one. */
  workdir: string;
}

/** Reads the final stage's ENTRYPOINT, CMD, ENV and WORKDIR: what `docker run` and Kubernetes start from. */
export function readImageDefaults(content: string): ImageDefaults {
  const dockerfile = DockerfileParser.parse(content);
  const variables = new Map<string, string>();
  for (const arg of dockerfile.getInitialARGs()) {
    for (const property of arg.getProperties()) variables.set(property.getName(), property.getValue() ?? '');
  }
  const froms = dockerfile.getFROMs();
  const finalStart = froms.at(-1)?.getRange().start.line ?? -1;
  const expand = (text: string) =>
    text.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (whole, name: string) => variables.get(name) ?? whole);
  const defaults: ImageDefaults = { env: {}, workdir: '/' };
  const form = (text: string) => parseJsonArray(text) ?? ['/bin/sh', '-c', text.trim()];
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction.getRange().start.line <= finalStart) continue;
    const keyword = instruction.getKeyword().toUpperCase();
    const text = instruction.getRawArgumentsContent() ?? '';
    if (keyword === 'ARG' || keyword === 'ENV') {
      for (const property of propertiesOf(instruction)) {
        const name = property.getName();
        const value = property.getValue();
        if (keyword === 'ENV') {
          defaults.env[name] = expand(value ?? '');
          variables.set(name, defaults.env[name]!);
        } else if (value !== null) variables.set(name, expand(value));
      }
    } else if (keyword === 'WORKDIR') {
      const dir = expand(text.trim());
      defaults.workdir = dir.startsWith('/') ? dir : `${defaults.workdir.replace(/\/$/, '')}/${dir}`;
    } else if (keyword === 'ENTRYPOINT') {
      defaults.entrypoint = form(text);
    } else if (keyword === 'CMD') defaults.cmd = form(text);
  }
  return defaults;
}
