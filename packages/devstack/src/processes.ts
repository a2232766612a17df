import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";

/**
 * Process bookkeeping for `pnpm dev`: who our processes are, and stopping them with a bounded wait.
 *
 * A process is identified by its pid AND its start time (Linux: /proc/<pid>/stat, elsewhere `ps -o
 * lstart`), so a pid the OS has since given to someone else is never mistaken for ours. A zombie (an
 * orphan that exited but that no one reaped, common under minimal init processes) counts as gone.
 */
export interface ProcessIdentity {
  pid: number;
  startTime: string;
}

function linuxStat(pid: number): { state: string; ppid: number; startTime: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces and parentheses: the fields after it start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { state: fields[0]!, ppid: Number(fields[1]), startTime: fields[19]! };
  } catch {
    return undefined;
  }
}

const hasProc = process.platform === "linux";

/** The identity of a live (not zombie) process, or undefined when there is none with that pid. */
export function processIdentity(pid: number): ProcessIdentity | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (hasProc) {
    const stat = linuxStat(pid);
    return stat && stat.state !== "Z" && stat.state !== "X" ? { pid, startTime: stat.startTime } : undefined;
  }
  try {
    const out = execFileSync("ps", ["-o", "stat=,lstart=", "-p", String(pid)], { encoding: "utf8" }).trim();
    if (!out || out.startsWith("Z")) return undefined;
    return { pid, startTime: out.slice(out.indexOf(" ") + 1).trim() };
  } catch {
    return undefined;
  }
}

/** True while the process that had this identity is still running (not a later one with the same pid). */
export function isRunning(identity: ProcessIdentity): boolean {
  return processIdentity(identity.pid)?.startTime === identity.startTime;
}

/** Live direct children of `pid`. */
export function childProcesses(pid: number): ProcessIdentity[] {
  let pids: number[] = [];
  if (hasProc) {
    for (const entry of readdirNumeric("/proc")) if (linuxStat(entry)?.ppid === pid) pids.push(entry);
  } else {
    try {
      pids = execFileSync("ps", ["-A", "-o", "pid=,ppid="], { encoding: "utf8" })
        .trim()
        .split("\n")
        .map((line) => line.trim().split(/\s+/).map(Number))
        .filter(([, ppid]) => ppid === pid)
        .map(([child]) => child!);
    } catch {
      pids = [];
    }
  }
  return pids.map(processIdentity).filter((p): p is ProcessIdentity => p !== undefined);
}

function readdirNumeric(dir: string): number[] {
  try {
    return readdirSync(dir).filter((name) => /^\d+$/.test(name)).map(Number);
  } catch {
    return [];
  }
}

/** True when `pid` leads its own process group (spawned with `detached`). */
function leadsGroup(pid: number): boolean {
  if (!hasProc) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[3]) === pid;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Stops one of our processes: `signal` (to its whole group when `group` and it leads one, so a
 * `next dev` takes its workers along), then SIGKILL after `graceMs`. Resolves once it is gone, or
 * false when it outlived the SIGKILL by another second (never throws). Does nothing to a pid that no
 * longer has this identity.
 */
export async function stopProcess(identity: ProcessIdentity, options: { signal?: NodeJS.Signals; graceMs?: number; group?: boolean } = {}): Promise<boolean> {
  const send = (signal: NodeJS.Signals) => {
    if (!isRunning(identity)) return;
    try {
      if (options.group && (leadsGroup(identity.pid) || !hasProc)) process.kill(-identity.pid, signal);
      else process.kill(identity.pid, signal);
    } catch {
      try {
        process.kill(identity.pid, signal);
      } catch {
        /* gone already */
      }
    }
  };
  send(options.signal ?? "SIGTERM");
  const deadline = Date.now() + (options.graceMs ?? 10_000);
  while (Date.now() < deadline) {
    if (!isRunning(identity)) return true;
    await sleep(50);
  }
  send("SIGKILL");
  for (let i = 0; i < 20; i++) {
    if (!isRunning(identity)) return true;
    await sleep(50);
  }
  return false;
}

/**
 * One file per service under `<dataDir>/run/` (`redis.pid`, …): JSON with the pid, its start time,
 * the port, and how to stop it. Written when the service is up, removed when it is stopped, so a
 * file that is still there at the next start names a leftover of a run that died without cleaning up
 * (SIGKILL, a crash, a power cut), which `reclaimLeftovers` stops.
 */
export interface ServiceRecord extends ProcessIdentity {
  name: string;
  port?: number;
  /** Signal that stops it cleanly (Postgres: SIGINT, its fast shutdown). */
  signal: NodeJS.Signals;
  /** Stop its whole process group (it was spawned detached and may have children of its own). */
  group: boolean;
  recordedAt: number;
}

export class ServiceRegistry {
  constructor(readonly runDir: string) {}

  private file(name: string) {
    return path.join(this.runDir, `${name}.pid`);
  }

  /** Records a running service (a no-op for a pid that is not running). */
  async record(name: string, pid: number | undefined, options: { port?: number; signal?: NodeJS.Signals; group?: boolean } = {}): Promise<void> {
    const identity = pid === undefined ? undefined : processIdentity(pid);
    if (!identity) return;
    const record: ServiceRecord = { name, ...identity, port: options.port, signal: options.signal ?? "SIGTERM", group: options.group ?? false, recordedAt: Date.now() };
    await fs.mkdir(this.runDir, { recursive: true });
    await fs.writeFile(this.file(name), JSON.stringify(record) + "\n");
  }

  async forget(name: string): Promise<void> {
    await fs.rm(this.file(name), { force: true });
  }

  async records(): Promise<ServiceRecord[]> {
    let names: string[];
    try {
      names = (await fs.readdir(this.runDir)).filter((name) => name.endsWith(".pid"));
    } catch {
      return [];
    }
    const records: ServiceRecord[] = [];
    for (const name of names) {
      try {
        records.push(JSON.parse(await fs.readFile(path.join(this.runDir, name), "utf8")) as ServiceRecord);
      } catch {
        await fs.rm(path.join(this.runDir, name), { force: true }); // half-written: nothing to go on
      }
    }
    return records.sort((a, b) => a.recordedAt - b.recordedAt);
  }

  /**
   * Stops every recorded service that still runs with the recorded identity (last recorded first),
   * and removes every record. A pid now held by another process (different start time) is left
   * alone: if it holds one of our ports, the port check names it as before.
   */
  async reclaimLeftovers(log: (message: string) => void = () => undefined): Promise<ServiceRecord[]> {
    const stopped: ServiceRecord[] = [];
    const records = await this.records();
    for (const record of records.reverse()) {
      if (isRunning(record)) {
        log(`stopping a leftover ${record.name} (pid ${record.pid}${record.port ? `, port ${record.port}` : ""}) from a run that did not shut down`);
        await stopProcess(record, { signal: record.signal, group: record.group, graceMs: 10_000 });
        stopped.push(record);
      }
      await this.forget(record.name);
    }
    return stopped;
  }
}
