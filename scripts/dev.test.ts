import { spawn } from "node:child_process";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { freePort, isPortFree } from "@gpumesh/devstack";
import { describe, expect, it } from "vitest";

// `pnpm dev` refuses bad configuration and busy ports before starting anything.
function runDev(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "scripts/dev.ts"], {
      cwd: path.resolve(import.meta.dirname, ".."),
      env: { ...process.env, GPUMESH_DATA_DIR: path.join(os.tmpdir(), `gpumesh-devtest-${process.pid}`), ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("exit", (code) => resolve({ code, output }));
  });
}

async function occupy(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return { port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe("pnpm dev start-up checks", () => {
  it("names an invalid variable in one line and exits 1", async () => {
    const { code, output } = await runDev({ WEB_PORT: "not-a-port" });
    expect(code).toBe(1);
    expect(output).toMatch(/invalid configuration: WEB_PORT: .*\(got "not-a-port"\)/);
  });

  it("says which port is busy and which variable moves it, starting nothing", async () => {
    const busy = await occupy();
    const pgPort = await freePort();
    try {
      const { code, output } = await runDev({ WEB_PORT: String(busy.port), GPUMESH_PG_PORT: String(pgPort), GPUMESH_REDIS_PORT: String(await freePort()) });
      expect(code).toBe(1);
      expect(output).toContain(`Web app: port ${busy.port} is already in use; set WEB_PORT to a free port`);
      expect(output).not.toContain("starting Postgres");
      expect(await isPortFree(pgPort)).toBe(true);
    } finally {
      await busy.close();
    }
  });

  it("names the Postgres port variable when that port is taken", async () => {
    const busy = await occupy();
    try {
      const { code, output } = await runDev({ WEB_PORT: String(await freePort()), GPUMESH_PG_PORT: String(busy.port), GPUMESH_REDIS_PORT: String(await freePort()) });
      expect(code).toBe(1);
      expect(output).toContain(`Postgres: port ${busy.port} is already in use; set GPUMESH_PG_PORT`);
    } finally {
      await busy.close();
    }
  });
});
