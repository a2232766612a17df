import { spawn, type ChildProcess, execFileSync } from "node:child_process";
import fs from "node:fs/promises";
import net from "node:net";
import { assertPortFree } from "./ports.ts";

export interface RedisOptions {
  port: number;
  /** Directory for the append-only file when data must survive restarts; none for throwaway servers. */
  dataDir?: string;
  portEnvVar?: string;
  /**
   * Run in its own process group, so a terminal's Ctrl-C (SIGINT to the whole foreground group) does
   * not stop Redis before the apps using it have drained; the caller must then stop it (`pnpm dev`
   * does, in order, and its service registry cleans up after a crash). Throwaway test servers stay in
   * the caller's group, so they die with it.
   */
  ownProcessGroup?: boolean;
}

export interface RunningRedis {
  url: string;
  port: number;
  /** The redis-server's pid (changes on restart). */
  readonly pid: number | undefined;
  /** Kill and start again on the same port and data (tests of Redis restarts). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function redisServerOnPath(): string | undefined {
  try {
    return execFileSync("sh", ["-c", "command -v redis-server"], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

function waitForPort(port: number, child: ChildProcess, output: () => string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null) {
        reject(new Error(`redis-server exited with code ${child.exitCode}: ${output()}`));
        return;
      }
      const socket = net.connect({ port, host: "127.0.0.1" });
      socket.once("connect", () => {
        socket.end();
        resolve();
      });
      socket.once("error", () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`redis-server did not listen on ${port} within ${timeoutMs} ms: ${output()}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/**
 * Starts a real Redis: the `redis-server` on PATH (installed by .ci/run from Debian), else the binary
 * that `redis-memory-server` manages (it needs to download and build Redis once, which machines without
 * internet cannot do: then the error says to install redis-server).
 */
export async function startRedis(options: RedisOptions): Promise<RunningRedis> {
  await assertPortFree(options.port, "Redis", options.portEnvVar);
  let binary = redisServerOnPath();
  if (!binary) {
    try {
      const { RedisBinary } = await import("redis-memory-server");
      binary = await RedisBinary.getPath();
    } catch (error) {
      throw new Error(
        `Redis: no redis-server on PATH and redis-memory-server could not provide one (${error instanceof Error ? error.message : String(error)}). Install it: apt-get install redis-server (Debian/Ubuntu) or brew install redis (macOS).`,
      );
    }
  }
  if (!binary) throw new Error("Redis: no redis-server binary found; install redis-server");
  if (options.dataDir) await fs.mkdir(options.dataDir, { recursive: true });

  const args = [
    "--port", String(options.port),
    "--bind", "127.0.0.1",
    "--save", "",
    "--daemonize", "no",
    ...(options.dataDir ? ["--dir", options.dataDir, "--appendonly", "yes"] : ["--appendonly", "no"]),
  ];
  let child: ChildProcess;
  let output = "";
  const launch = async () => {
    output = "";
    child = spawn(binary!, args, { stdio: ["ignore", "pipe", "pipe"], detached: options.ownProcessGroup ?? false });
    child.stdout?.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
    child.stderr?.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
    try {
      await waitForPort(options.port, child, () => output);
    } catch (error) {
      child.kill("SIGKILL");
      throw new Error(`Redis failed to start on port ${options.port}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const kill = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });

  await launch();
  return {
    url: `redis://127.0.0.1:${options.port}`,
    port: options.port,
    get pid() {
      return child.pid;
    },
    async restart() {
      await kill();
      await launch();
    },
    stop: kill,
  };
}
