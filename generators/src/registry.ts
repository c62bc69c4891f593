import { initGenerator } from './init-generator.ts';
import { packageGenerator } from './package-generator.ts';
import { resourceGenerator } from './resource-generator.ts';
import { serviceGenerator } from './service-generator.ts';
import type { GeneratorSpec } from './spec.ts';
import { taskGenerator } from './task-generator.ts';

/** Every generator `pnpm gen` knows, in the order `--help` lists them. */
export const GENERATORS: readonly GeneratorSpec[] = [
  serviceGenerator,
  taskGenerator,
  resourceGenerator,
  packageGenerator,
  initGenerator,
];
