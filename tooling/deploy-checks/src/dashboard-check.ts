import type { Problem } from './problem.ts';

interface Panel {
  title?: string;
  datasource?: { uid?: string } | string | null;
  panels?: Panel[];
  targets?: { datasource?: { uid?: string } | string | null }[];
}

/**
 * Checks a generated Grafana dashboard before Grafana provisions it: JSON, a `uid` and `title`, panels,
 * and every data source reference either a dashboard variable (`${name}`, declared in `templating`) or
 * one of `datasourceUids` (what deploy/grafana provisions).
 */
export function checkDashboard(content: string, file: string, datasourceUids: readonly string[]): Problem[] {
  const fail = (message: string): Problem => ({ file, rule: 'dashboard', message });
  let dashboard: {
    uid?: unknown;
    title?: unknown;
    panels?: Panel[];
    templating?: { list?: { name?: string }[] };
  };
  try {
    dashboard = JSON.parse(content);
  } catch (error) {
    return [fail(`not JSON: ${(error as Error).message}`)];
  }
  const problems: Problem[] = [];
  if (typeof dashboard.uid !== 'string' || dashboard.uid === '')
    problems.push(fail('no uid (provisioning needs a stable one)'));
  if (typeof dashboard.title !== 'string' || dashboard.title === '') problems.push(fail('no title'));
  if (!Array.isArray(dashboard.panels) || dashboard.panels.length === 0) problems.push(fail('no panels'));
  const variables = new Set((dashboard.templating?.list ?? []).map((variable) => variable.name));
  const checkReference = (reference: Panel['datasource'], where: string) => {
    if (reference === undefined || reference === null) return;
    const uid = typeof reference === 'string' ? reference : reference.uid;
    if (uid === undefined) return;
    const variable = /^\$\{?([A-Za-z0-9_]+)\}?$/.exec(uid)?.[1];
    if (variable ? !variables.has(variable) : !datasourceUids.includes(uid)) {
      problems.push(
        fail(`${where}: data source "${uid}" is neither a dashboard variable nor a provisioned data source`),
      );
    }
  };
  const walk = (panels: Panel[]) => {
    for (const panel of panels) {
      const where = `panel "${panel.title ?? '?'}"`;
      checkReference(panel.datasource, where);
      for (const target of panel.targets ?? []) checkReference(target.datasource, where);
      walk(panel.panels ?? []);
    }
  };
  walk(dashboard.panels ?? []);
  return problems;
}
