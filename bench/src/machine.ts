import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';

/** Whether `taskset` (util-linux) can pin processes here, and to which cores. */
export function pinning(): { available: boolean; server: string; load: string } {
  let available = false;
  try {
    execFileSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
    available = cpus().length >= 2;
  } catch {
    available = false;
  }
  return { available, server: '0', load: '1' };
}

/** Clock ticks per second for /proc/<pid>/stat (USER_HZ), normally 100. */
export function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/** A process's user + system CPU time so far, in microseconds, from /proc/<pid>/stat. */
export function cpuMicros(pid: number, ticks: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which is parenthesised and may hold spaces): utime is the 12th, stime the 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / ticks;
}

/** A process's resident set size in bytes, from /proc/<pid>/status. */
export function rssBytes(pid: number): number {
  return statusBytes(pid, 'VmRSS');
}

/**
 * The highest resident set size the process has had so far (VmHWM): what a container's memory limit has to
 * hold, where RSS at one moment can miss a transient peak.
 */
export function peakRssBytes(pid: number): number {
  return statusBytes(pid, 'VmHWM');
}

function statusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

/** Clock ticks one core (or, for `undefined`, every core) has spent so far, and how many of them were stolen. */
export interface CoreTicks {
  stolen: number;
  total: number;
}

/**
 * A core's ticks from /proc/stat, where `steal` counts the time a virtual machine's core was ready to run
 * but its hypervisor ran something else: the one sign of a noisy neighbour the guest can read. `core` is one
 * core's number, else the machine as a whole; undefined where /proc/stat is missing or has no such core.
 */
export function coreTicks(core: string | undefined): CoreTicks | undefined {
  const label = core !== undefined && /^\d+$/.test(core) ? `cpu${core}` : 'cpu';
  let stat: string;
  try {
    stat = readFileSync('/proc/stat', 'utf8');
  } catch {
    return undefined;
  }
  const line = stat.split('\n').find((entry) => entry.startsWith(`${label} `));
  if (line === undefined) return undefined;
  // user nice system idle iowait irq softirq steal (guest time is already inside user and nice).
  const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
  return { stolen: fields[7] ?? 0, total: fields.reduce((sum, value) => sum + value, 0) };
}

/** The share (0–1) of a core's time stolen between two readings; 0 when either is missing or no time passed. */
export function stolenShare(before: CoreTicks | undefined, after: CoreTicks | undefined): number {
  if (before === undefined || after === undefined || after.total <= before.total) return 0;
  return (after.stolen - before.stolen) / (after.total - before.total);
}

/** Reads both cores now; the function returned gives the share of each stolen since (see stolenShare). */
export function stealSince(
  serverCore: string | undefined,
  loadCore: string | undefined,
): () => { server: number; load: number } {
  const server = coreTicks(serverCore);
  const load = coreTicks(loadCore);
  return () => ({
    server: stolenShare(server, coreTicks(serverCore)),
    load: stolenShare(load, coreTicks(loadCore)),
  });
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  loadStart: readonly number[];
}

export function describeMachine(): Machine {
  const all = cpus();
  return {
    cpu: all[0]?.model.trim() ?? 'unknown',
    cores: all.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    loadStart: loadavg(),
  };
}
