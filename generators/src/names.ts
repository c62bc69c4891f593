import { builtinModules } from 'node:module';

const KEBAB = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const MAX_LENGTH = 40;

/**
 * Names a generator refuses even when they are well formed: grab-bag names the house style forbids,
 * names that shadow Node built-ins or npm conventions, and words that break generated code or tooling.
 */
const RESERVED = new Set([
  ...builtinModules.filter((name) => !name.includes('/') && !name.startsWith('_')),
  'common',
  'shared',
  'utils',
  'util',
  'helpers',
  'lib',
  'misc',
  'core',
  'node-modules',
  'favicon',
  'dist',
  'src',
  'test',
  'tests',
  'bench',
  'app',
  'apps',
  'packages',
  'generators',
  'rampart',
  'new',
  'delete',
  'class',
  'function',
  'default',
  'constructor',
  'prototype',
]);

/** Returns a message naming what is wrong with `value` as a `what` name, or undefined when it is fine. */
export function checkName(value: string, what: string): string | undefined {
  if (value.length === 0) return `${what} name is empty`;
  if (value.length > MAX_LENGTH) return `${what} name "${value}" is longer than ${MAX_LENGTH} characters`;
  if (!KEBAB.test(value)) {
    return `${what} name "${value}" must be kebab-case: lowercase letters and digits in words joined by single hyphens, starting with a letter (e.g. "payments" or "order-events")`;
  }
  if (RESERVED.has(value)) return `${what} name "${value}" is reserved; choose a name that says what it does`;
  return undefined;
}

/** `order-events` -> `OrderEvents`. */
export function pascalCase(name: string): string {
  return name
    .split('-')
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
}

/** `order-events` -> `orderEvents`. */
export function camelCase(name: string): string {
  const pascal = pascalCase(name);
  return pascal.charAt(0).toLowerCase() + pascal.slice(1);
}
