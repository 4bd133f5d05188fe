// Host-level resources of the real-cluster harness and their synchronous teardown: cgroup v1
// hierarchies, mounts under the run directory, processes found by run directory or by cgroup.
// Everything here is keyed by names the harness chose (its run directory, its cgroup roots), so
// a teardown never touches another run's or the machine's own resources.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const CGROUP_FS = '/sys/fs/cgroup';

export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * The cgroup v1 hierarchies mounted under /sys/fs/cgroup (cpu, memory, ..., name=systemd); with
 * `withV2`, also the cgroup2 mount of a hybrid layout (runc and kubelet create cgroups there too).
 */
export function cgroupV1Hierarchies(withV2 = false): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-');
    if (sep < 0 || !(f[sep + 1] === 'cgroup' || (withV2 && f[sep + 1] === 'cgroup2'))) continue;
    const mp = f[4] ?? '';
    if (mp.startsWith(`${CGROUP_FS}/`)) out.push(mp);
  }
  return [...new Set(out)].sort();
}

/**
 * Creates cgroup `name` (a top-level path such as "/mtcl1a2b-node1") in every v1 hierarchy, as
 * kubelet requires of its cgroupRoot; cpuset.cpus/mems are copied from the root.
 */
export function createCgroupRoot(name: string): void {
  for (const h of cgroupV1Hierarchies()) {
    const dir = join(h, name);
    mkdirSync(dir, { recursive: true });
    if (h.endsWith('/cpuset')) {
      for (const f of ['cpuset.cpus', 'cpuset.mems']) {
        const v = readFileSync(join(h, f), 'utf8').trim();
        if (readFileSync(join(dir, f), 'utf8').trim() === '') writeFileSync(join(dir, f), v);
      }
    }
  }
}

/** Process ids in cgroup `name` and all its descendants, over every hierarchy. */
export function cgroupPids(name: string): number[] {
  const pids = new Set<number>();
  const walk = (dir: string): void => {
    let entries: string[];
    try { entries = readdirSync(dir); } catch { return; }
    try {
      for (const p of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (p) pids.add(Number(p));
    } catch { /* gone */ }
    for (const e of entries) {
      const sub = join(dir, e);
      if (isDir(sub)) walk(sub);
    }
  };
  for (const h of cgroupV1Hierarchies(true)) walk(join(h, name));
  return [...pids];
}

function isDir(p: string): boolean {
  try { return statSync(p).isDirectory(); } catch { return false; }
}

/** Removes cgroup `name` and its descendants (deepest first) in every hierarchy. */
export function removeCgroupRoot(name: string): string[] {
  const left: string[] = [];
  const rm = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir)) {
      const sub = join(dir, e);
      if (isDir(sub)) rm(sub);
    }
    for (let i = 0; i < 20; i++) {
      try { rmdirSync(dir); return; } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
        sleepSync(50);
      }
    }
    left.push(dir);
  };
  for (const h of cgroupV1Hierarchies(true)) rm(join(h, name));
  return left;
}

/** Pids of processes whose command line contains `needle` (e.g. the run directory). */
export function pidsWithCmdline(needle: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(needle)) out.push(Number(e));
    } catch { /* exited */ }
  }
  return out;
}

export function pidAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM'; }
}

export function killPids(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const p of pids) {
    try { process.kill(p, signal); } catch { /* gone */ }
  }
}

/** SIGTERM, wait up to graceMs, then SIGKILL, and wait until the pids are gone (max 5 s). */
export function terminateSync(pids: readonly number[], graceMs: number): void {
  if (pids.length === 0) return;
  killPids(pids, 'SIGTERM');
  const end = Date.now() + graceMs;
  while (Date.now() < end && pids.some(pidAlive)) sleepSync(50);
  killPids(pids.filter(pidAlive), 'SIGKILL');
  const end2 = Date.now() + 5_000;
  while (Date.now() < end2 && pids.some(pidAlive)) sleepSync(20);
}

/** Mount points at or below `dir` (from /proc/self/mountinfo), deepest first. */
export function mountsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4];
    if (!mp) continue;
    const decoded = mp.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (decoded === dir || decoded.startsWith(`${dir}/`)) out.push(decoded);
  }
  return out.sort((a, b) => b.length - a.length);
}

/** Unmounts everything at or below `dir`; lazily if a plain unmount fails. Returns what is left. */
export function unmountAll(dir: string): string[] {
  for (let round = 0; round < 5; round++) {
    const mps = mountsUnder(dir);
    if (mps.length === 0) return [];
    for (const mp of mps) {
      try { execFileSync('umount', [mp], { stdio: 'ignore' }); } catch {
        try { execFileSync('umount', ['-l', mp], { stdio: 'ignore' }); } catch { /* retried next round */ }
      }
    }
  }
  return mountsUnder(dir);
}

/** rmdir that ignores a missing or non-empty directory. */
export function rmdirIfEmpty(dir: string): void {
  try { rmdirSync(dir); } catch { /* not empty or not there */ }
}
