import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { childProcesses, isPortFree, isRunning, processIdentity, ServiceRegistry, type ProcessIdentity } from "@gpumesh/devstack";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

// `pnpm dev` stops every child on SIGTERM and SIGHUP, and a leftover of a run killed with SIGKILL
// never blocks the next start. These run the real scripts/dev.ts with real Postgres and Redis; the
// chain is a stand-in (no cargo here): a fake `cargo` that builds nothing and a fake localnet binary
// that listens, ignores SIGHUP (as redis-server does) and never answers, so dev.ts waits in the
// localnet bootstrap with Postgres, Redis and "localnet" running: the state a signal usually finds.
const repo = path.resolve(import.meta.dirname, "..");
let work: string;
let dataDir: string;
const ports = { pg: 0, redis: 0, localnet: 0, web: 0, admin: 0, gateway: 0 };

beforeAll(async () => {
  work = await fs.mkdtemp(path.join(os.tmpdir(), "gpumesh-devsignals-"));
  dataDir = path.join(work, "data");
  await fs.mkdir(path.join(work, "bin"));
  await fs.mkdir(path.join(work, "target/debug"), { recursive: true });
  await fs.writeFile(path.join(work, "bin/cargo"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  await fs.writeFile(
    path.join(work, "target/debug/localnet"),
    `#!/usr/bin/env node
const port = Number(process.argv[process.argv.indexOf("--port") + 1]);
process.on("SIGHUP", () => {});
require("node:http").createServer(() => {}).listen(port, "127.0.0.1", () => console.log("localnet listening on http://127.0.0.1:" + port));
`,
    { mode: 0o755 },
  );
});

// Fresh ports for every test, below Linux's ephemeral range (32768–60999): a port the OS handed out
// once (freePort) can be taken meanwhile as the local end of any outgoing connection of the parallel
// unit tests, which once made localnet fail with EADDRINUSE here.
beforeEach(async () => {
  const taken = new Set<number>();
  for (const key of Object.keys(ports) as (keyof typeof ports)[]) {
    for (;;) {
      const port = 20_000 + Math.floor(Math.random() * 12_000);
      if (taken.has(port) || !(await isPortFree(port))) continue;
      taken.add(port);
      ports[key] = port;
      break;
    }
  }
});

afterAll(async () => {
  // Whatever a failed test left behind.
  await new ServiceRegistry(path.join(dataDir, "run")).reclaimLeftovers();
  await fs.rm(work, { recursive: true, force: true });
});

interface Dev {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startDev(): Dev {
  const { SOLANA_RPC_URL: _chain, ...inherited } = process.env;
  const child = spawn(process.execPath, ["--import", "tsx", process.env.DEV_SCRIPT_UNDER_TEST ?? "scripts/dev.ts"], {
    cwd: repo,
    // Its own process group, like a shell job: a terminal's SIGHUP goes to the whole group.
    detached: true,
    env: {
      ...inherited,
      PATH: `${path.join(work, "bin")}:${process.env.PATH}`,
      CARGO_TARGET_DIR: path.join(work, "target"),
      GPUMESH_DATA_DIR: dataDir,
      GPUMESH_PG_PORT: String(ports.pg),
      GPUMESH_REDIS_PORT: String(ports.redis),
      GPUMESH_LOCALNET_PORT: String(ports.localnet),
      WEB_PORT: String(ports.web),
      GPUMESH_ADMIN_PORT: String(ports.admin),
      GPUMESH_GATEWAY_PORT: String(ports.gateway),
      GPUMESH_SEED_DEVICES: "12",
      GPUMESH_SEED_SUPPLIERS: "3",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, dev?: Dev): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${dev ? `\n--- dev output ---\n${dev.output()}` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Every process below `pid` (children, theirs, …). */
function descendants(pid: number): ProcessIdentity[] {
  const found: ProcessIdentity[] = [];
  const queue = [pid];
  while (queue.length) {
    for (const child of childProcesses(queue.shift()!)) {
      queue.push(child.pid);
      found.push(child);
    }
  }
  return found;
}

/** Starts dev.ts and waits until Postgres, Redis and localnet run (and dev.ts waits on the chain). */
async function startedDev(): Promise<{ dev: Dev; processes: ProcessIdentity[] }> {
  const dev = startDev();
  await until("localnet to listen", async () => dev.output().includes("starting localnet on") && !(await isPortFree(ports.localnet)), 150_000, dev);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const processes = descendants(dev.child.pid!);
  // Postgres (with its own workers), redis-server, localnet and the watchdog at least.
  expect(processes.length).toBeGreaterThanOrEqual(4);
  for (const port of [ports.pg, ports.redis, ports.localnet]) expect(await isPortFree(port)).toBe(false);
  return { dev, processes };
}

async function expectAllGone(processes: ProcessIdentity[], dev: Dev, timeoutMs = 20_000): Promise<void> {
  await until("every child to be gone", () => processes.every((p) => !isRunning(p)), timeoutMs, dev);
  for (const port of [ports.pg, ports.redis, ports.localnet]) expect(await isPortFree(port)).toBe(true);
}

// Linux: the checks read /proc (dev.ts itself also runs on macOS, through `ps`).
describe.skipIf(process.platform !== "linux")("pnpm dev stops cleanly", () => {
  it("SIGTERM (a process manager, timeout) stops every child in order and exits 0", async () => {
    const { dev, processes } = await startedDev();
    process.kill(dev.child.pid!, "SIGTERM");
    expect(await dev.exited).toBe(0);
    expect(dev.output()).toMatch(/SIGTERM: stopping…[\s\S]*stopped/);
    await expectAllGone(processes, dev);
    expect(await new ServiceRegistry(path.join(dataDir, "run")).records()).toEqual([]);
  }, 240_000);

  it("SIGHUP to the whole group (a closed terminal) stops every child, though redis-server and localnet ignore SIGHUP", async () => {
    const { dev, processes } = await startedDev();
    process.kill(-dev.child.pid!, "SIGHUP");
    expect(await dev.exited).toBe(0);
    await expectAllGone(processes, dev);
  }, 240_000);

  it("SIGKILL of dev.ts: the watchdog stops what it left", async () => {
    const { dev, processes } = await startedDev();
    process.kill(dev.child.pid!, "SIGKILL");
    await dev.exited;
    await expectAllGone(processes, dev, 40_000);
  }, 240_000);

  it("a leftover of a run killed outright (watchdog too) is stopped at the next start, which then succeeds; a recorded pid that is not ours is left alone", async () => {
    const first = await startedDev();
    // The watchdog is the one detached node child; kill it first, then dev.ts: nothing cleans up.
    const watchdog = childProcesses(first.dev.child.pid!).find((p) => /watchdog\.ts/.test(cmdline(p.pid)));
    expect(watchdog).toBeDefined();
    process.kill(watchdog!.pid, "SIGKILL");
    process.kill(first.dev.child.pid!, "SIGKILL");
    await first.dev.exited;
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const registry = new ServiceRegistry(path.join(dataDir, "run"));
    const leftovers = (await registry.records()).filter(isRunning);
    expect(leftovers.map((r) => r.name).sort()).toEqual(["localnet", "postgres", "redis"]);
    expect(await isPortFree(ports.redis)).toBe(false);

    // A record whose pid now belongs to someone else (another start time): never signalled.
    const stranger = spawn("sleep", ["120"], { stdio: "ignore" });
    const strangerId = processIdentity(stranger.pid!)!;
    await fs.writeFile(
      path.join(dataDir, "run/stranger.pid"),
      JSON.stringify({ name: "stranger", pid: stranger.pid, startTime: `${strangerId.startTime}0`, signal: "SIGTERM", group: false, recordedAt: Date.now() }),
    );
    try {
      const second = await startedDev();
      expect(second.dev.output()).toMatch(/stopping a leftover redis \(pid \d+, port \d+\)/);
      for (const leftover of leftovers) expect(isRunning(leftover)).toBe(false);
      expect(isRunning(strangerId)).toBe(true);
      process.kill(second.dev.child.pid!, "SIGTERM");
      expect(await second.dev.exited).toBe(0);
      await expectAllGone(second.processes, second.dev);
    } finally {
      stranger.kill("SIGKILL");
    }
  }, 360_000);
});

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return "";
  }
}
