import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { childProcesses, isRunning, processIdentity, ServiceRegistry, stopProcess, type ProcessIdentity } from "./processes.ts";

/**
 * The watchdog of `pnpm dev`: children die with the parent even when the parent is SIGKILLed (or
 * crashes without running its handlers), which no signal handler can catch and which Linux's
 * PR_SET_PDEATHSIG cannot give to a Node process.
 *
 * A small detached process (its own process group, so a terminal's SIGHUP or Ctrl-C does not reach
 * it) that polls the parent every 300 ms and remembers the parent's live children. Once the parent is
 * gone (same pid with another start time counts as gone) it stops, in parallel with a bounded wait,
 * every service recorded under the run directory and every remembered child that still runs, then
 * exits. When the parent shut down cleanly there is nothing left and it just exits.
 *
 * Run as: node --import tsx watchdog.ts <parentPid> <parentStartTime> <runDir>
 */
export function startWatchdog(runDir: string, cwd: string): ChildProcess {
  const self = processIdentity(process.pid)!;
  const child = spawn(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), String(self.pid), self.startTime, runDir], {
    cwd,
    detached: true,
    stdio: "ignore",
  });
  child.unref();
  return child;
}

async function watch(parent: ProcessIdentity, runDir: string): Promise<void> {
  mkdirSync(runDir, { recursive: true });
  const log = (message: string) => appendFileSync(path.join(runDir, "watchdog.log"), `${new Date().toISOString()} ${message}\n`);
  const seen = new Map<number, ProcessIdentity>();
  for (;;) {
    if (!isRunning(parent)) break;
    for (const child of childProcesses(parent.pid)) if (child.pid !== process.pid) seen.set(child.pid, child);
    for (const [pid, identity] of seen) if (!isRunning(identity)) seen.delete(pid);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  const registry = new ServiceRegistry(runDir);
  const recorded = (await registry.records()).filter(isRunning);
  const orphans = [...seen.values()].filter((child) => isRunning(child) && !recorded.some((r) => r.pid === child.pid));
  if (recorded.length + orphans.length === 0) return;
  log(`parent ${parent.pid} is gone: stopping ${[...recorded.map((r) => `${r.name} (${r.pid})`), ...orphans.map((o) => String(o.pid))].join(", ")}`);
  // Apps first (they hold connections to the rest), then the rest in reverse start order.
  await Promise.all(orphans.map((orphan) => stopProcess(orphan, { group: true, graceMs: 8_000 })));
  await registry.reclaimLeftovers(log);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // Group signals are the parent's to handle (it stops everything and exits; then so does this).
  for (const signal of ["SIGINT", "SIGHUP"] as const) process.on(signal, () => undefined);
  const [pid, startTime, runDir] = process.argv.slice(2);
  await watch({ pid: Number(pid), startTime: startTime! }, runDir!);
  process.exit(0);
}
