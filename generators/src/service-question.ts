import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { manifestPath } from './manifest.ts';
import type { Question } from './spec.ts';

/** The `<service>` answer of generators that add to a service: an app under apps/ that `gen service` made. */
export const serviceQuestion: Question = {
  name: 'service',
  message: 'Service to add it to (a folder under apps/)',
  position: 0,
  required: true,
  validate(value, workspace) {
    if (!workspace.apps.includes(value)) {
      const known = workspace.apps.length > 0 ? workspace.apps.join(', ') : 'none';
      return `service "${value}" does not exist: no apps/${value} (services: ${known})`;
    }
    if (!existsSync(join(workspace.root, manifestPath(value)))) {
      return `apps/${value} is not a Rampart service: it has no rampart.json (only services made by gen service take generated tasks and resources)`;
    }
    return undefined;
  },
};
