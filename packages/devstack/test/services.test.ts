import { existsSync } from "node:fs";
import net from "node:net";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { freePort, PortInUseError, startPostgres, startRedis, throwawayDataDir } from "../src/index.ts";

describe("embedded services", () => {
  it("starts a real Postgres, serves queries, and removes a throwaway cluster on stop", async () => {
    const port = await freePort();
    const dataDir = await throwawayDataDir("svc");
    const postgres = await startPostgres({ dataDir, port, database: "probe", persistent: false });
    try {
      const client = new pg.Client({ connectionString: postgres.url });
      await client.connect();
      const { rows } = await client.query<{ version: number }>("select current_setting('server_version_num')::int as version");
      await client.end();
      expect(rows[0]!.version).toBeGreaterThanOrEqual(160000);
    } finally {
      await postgres.stop();
    }
    expect(existsSync(dataDir)).toBe(false);
    // Stopped: the port is free again.
    await expect(new Promise((resolve) => net.connect(port, "127.0.0.1").on("error", resolve).on("connect", () => resolve("connected")))).resolves.not.toBe("connected");
  });

  it("refuses a busy port with the variable to change", async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      await expect(startRedis({ port, portEnvVar: "GPUMESH_REDIS_PORT" })).rejects.toThrow(new PortInUseError(port, "Redis", "GPUMESH_REDIS_PORT"));
      await expect(startPostgres({ dataDir: await throwawayDataDir("busy"), port, database: "x", persistent: false, portEnvVar: "GPUMESH_PG_PORT" })).rejects.toThrow(
        `Postgres: port ${port} is already in use; set GPUMESH_PG_PORT to a free port`,
      );
    } finally {
      server.close();
    }
  });

  it("restarts Redis on the same port", async () => {
    const redis = await startRedis({ port: await freePort() });
    try {
      await redis.restart();
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(redis.port, "127.0.0.1", () => socket.write("PING\r\n"));
        socket.on("data", (data) => {
          resolve(data.toString().trim());
          socket.end();
        });
        socket.on("error", reject);
      });
      expect(reply).toBe("+PONG");
    } finally {
      await redis.stop();
    }
  });
});
