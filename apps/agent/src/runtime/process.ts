import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { RAY_GCS_PORT, type OpenedAssignment } from "@gpumesh/agent-protocol";
import { rayEnv, type Runtime, type RunningWorkload, type StartOptions } from "./runtime.ts";

/**
 * The workload when none is configured: a small HTTP service that reports its allocation
 * (apps/agent/workload/node-service.mjs; two levels up from src/runtime, one from the bundle in dist/).
 */
const here = path.dirname(fileURLToPath(import.meta.url));
export const DEFAULT_WORKLOAD = [
  process.execPath,
  [path.join(here, "../../workload/node-service.mjs"), path.join(here, "../workload/node-service.mjs")].find((candidate) => existsSync(candidate)) ?? path.join(here, "../workload/node-service.mjs"),
];

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the workload exited (${child.signalCode ?? `code ${child.exitCode}`}) before serving`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the workload did not listen on port ${port} within ${timeoutMs / 1000} s`);
}

/**
 * Runs each allocation as a process group of its own (`detached`), with the allocation in its
 * environment and a free port in PORT; the workload is running once that port accepts connections.
 * Stopping sends SIGTERM to the group, then SIGKILL after `graceMs`. Only groups this runtime started
 * are ever signalled.
 */
export class ProcessRuntime implements Runtime {
  readonly name = "process";
  /** It runs its owner's command only and refuses assignments that bring a workload (start() below). */
  readonly runsImages = false;
  private readonly children = new Map<string, ChildProcess>();
  private readonly logListeners: ((allocationId: string, lines: string[]) => void)[] = [];

  constructor(
    private readonly options: { command?: string[]; advertiseHost?: string; graceMs?: number; startTimeoutMs?: number } = {},
  ) {}

  async start(assignment: OpenedAssignment, options: StartOptions = {}): Promise<RunningWorkload> {
    if (this.children.has(assignment.allocationId)) return { endpoints: [] };
    // Processes run on the host itself, unisolated: only the supplier's own command ever runs here,
    // never a renter's. A lease that brings its own workload is refused (with a reason the renter
    // reads), so the scheduler places it elsewhere, rather than served with something else.
    if (assignment.workload) throw new Error(`this device runs its owner's command, not renters' images (gpumesh-agent start --runtime process): ${assignment.workload.image ?? `a ${assignment.clusterType.toLowerCase().replace("_", "-")} node`} cannot run here`);
    const [command, ...args] = this.options.command ?? DEFAULT_WORKLOAD;
    const port = await freePort();
    const child = spawn(command!, args, {
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        PORT: String(port),
        GPUMESH_ALLOCATION_ID: assignment.allocationId,
        GPUMESH_CLUSTER_ID: assignment.clusterId,
        GPUMESH_CLUSTER_TYPE: assignment.clusterType,
        GPUMESH_GPU_COUNT: String(assignment.gpuCount),
        GPUMESH_ENDS_AT: assignment.endsAt,
        ...rayEnv(assignment, options),
      },
    });
    this.children.set(assignment.allocationId, child);
    const forward = (chunk: Buffer) => {
      const lines = chunk.toString().split("\n").filter((line) => line.trim());
      if (lines.length) for (const listener of this.logListeners) listener(assignment.allocationId, lines);
    };
    child.stdout?.on("data", forward);
    child.stderr?.on("data", forward);
    child.on("exit", (code, signal) => {
      if (this.children.get(assignment.allocationId) === child) {
        this.children.delete(assignment.allocationId);
        for (const listener of this.logListeners) listener(assignment.allocationId, [`workload exited unexpectedly (${signal ?? `code ${code}`})`]);
      }
    });
    try {
      await waitForPort(port, child, this.options.startTimeoutMs ?? 15_000);
    } catch (error) {
      await this.stop(assignment.allocationId);
      throw error;
    }
    const host = this.options.advertiseHost ?? "127.0.0.1";
    // A Ray head's command (the supplier's own) is told GPUMESH_RAY_ROLE=head and runs Ray's GCS on its
    // default port on this host, as `ray start --head` does: that is the address its workers are sent.
    const rayHead = assignment.ray?.role === "head" ? [{ kind: "ray-head" as const, url: `${host.includes(":") ? `[${host}]` : host}:${RAY_GCS_PORT}` }] : [];
    return { endpoints: [{ kind: "url", url: `http://${host}:${port}/` }, ...rayHead] };
  }

  async stop(allocationId: string): Promise<void> {
    const child = this.children.get(allocationId);
    if (!child?.pid) return;
    this.children.delete(allocationId);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        /* already gone */
      }
    };
    signalGroup("SIGTERM");
    const killed = setTimeout(() => signalGroup("SIGKILL"), this.options.graceMs ?? 5_000);
    await exited;
    clearTimeout(killed);
  }

  running(): string[] {
    return [...this.children.keys()];
  }

  onLog(listener: (allocationId: string, lines: string[]) => void): void {
    this.logListeners.push(listener);
  }
}
