import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { loadSchedulerEnv } from "../src/env.ts";

const schedulerDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const base = { DATABASE_URL: "postgresql://x/y", REDIS_URL: "redis://h" };

it("in production the scheduler does not start without WORKLOAD_SECRETS_KEY, and says so in one line", () => {
  // Before any connection is opened (the URLs lead nowhere): the process prints the line and exits 1.
  const run = spawnSync(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: schedulerDir,
    env: { PATH: process.env.PATH, ...base, NODE_ENV: "production" },
    encoding: "utf8",
    timeout: 30_000,
  });
  expect(run.status).toBe(1);
  // (A dependency may print its own warning while loading: the scheduler's is the one line that is ours.)
  const ours = run.stderr.split("\n").filter((line) => line.startsWith("[scheduler]"));
  expect(ours).toEqual(["[scheduler] invalid configuration: WORKLOAD_SECRETS_KEY: is required in production (32 random bytes in base64: openssl rand -base64 32)"]);
});

it("reads the key as 32 bytes; outside production it may be unset (rows without sealed env still deploy)", () => {
  const key = Buffer.alloc(32, 9).toString("base64");
  expect(loadSchedulerEnv({ ...base, NODE_ENV: "production", WORKLOAD_SECRETS_KEY: key }).WORKLOAD_SECRETS_KEY).toEqual(new Uint8Array(32).fill(9));
  expect(loadSchedulerEnv(base).WORKLOAD_SECRETS_KEY).toBeUndefined();
  expect(() => loadSchedulerEnv({ ...base, WORKLOAD_SECRETS_KEY: "not-a-key-but-a-secret" })).toThrow(/^WORKLOAD_SECRETS_KEY: must be 32 bytes in base64 .*the value is not shown$/);
});
