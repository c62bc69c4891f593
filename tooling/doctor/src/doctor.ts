import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DOCTOR_CHECKS, loadService, type Verdict } from './checks.ts';
import { readSources } from './source.ts';

export interface ServiceReport {
  service: string;
  results: ({ check: string } & Verdict)[];
}

export interface DoctorReport {
  ok: boolean;
  checks: string[];
  services: ServiceReport[];
}

/** Runs every doctor check on every service under `<root>/apps` (a directory with a package.json). */
export function runDoctor(root: string): DoctorReport {
  const appsDir = join(root, 'apps');
  const names = existsSync(appsDir)
    ? readdirSync(appsDir)
        .filter(
          (name) =>
            statSync(join(appsDir, name)).isDirectory() && existsSync(join(appsDir, name, 'package.json')),
        )
        .sort()
    : [];
  const services = names.map((name) => {
    const dir = join(appsDir, name);
    const service = loadService(dir, name, readSources(dir));
    return {
      service: name,
      results: DOCTOR_CHECKS.map((check) => ({ check: check.id, ...check.run(service) })),
    };
  });
  return {
    ok: services.every((service) => service.results.every((result) => result.ok)),
    checks: DOCTOR_CHECKS.map((check) => check.id),
    services,
  };
}

/** The service × check table, then one line per failure naming what is missing. */
export function formatReport(report: DoctorReport): string {
  if (report.services.length === 0) return 'doctor: no services in apps/\n';
  const header = ['service', ...report.checks];
  const rows = report.services.map((service) => [
    service.service,
    ...service.results.map((result) => (result.ok ? 'ok' : 'FAIL')),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  const out = [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line), ''];
  for (const service of report.services) {
    for (const result of service.results)
      if (!result.ok) out.push(`${service.service}: ${result.check}: ${result.detail}`);
  }
  const failures = report.services.flatMap((service) =>
    service.results.filter((result) => !result.ok),
  ).length;
  out.push(
    failures === 0
      ? `doctor: ${report.services.length} service(s), all checks pass`
      : `doctor: ${failures} failure(s)`,
  );
  return `${out.join('\n')}\n`;
}
