import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";

// The agent as it ships (npm package, container image): one bundled file plus package.json and the
// default workload, run by plain Node from a directory with no node_modules, no tsx, no monorepo.
const run = promisify(execFile);
const agentDir = path.resolve(import.meta.dirname, "..");
let packageDir: string;

beforeAll(async () => {
  await run(process.execPath, ["--import", "tsx", "scripts/bundle.ts"], { cwd: agentDir });
  packageDir = await fs.mkdtemp(path.join(os.tmpdir(), "gpumesh-agent-package-"));
  await fs.mkdir(path.join(packageDir, "dist"));
  await fs.copyFile(path.join(agentDir, "dist/gpumesh-agent.mjs"), path.join(packageDir, "dist/gpumesh-agent.mjs"));
  await fs.copyFile(path.join(agentDir, "package.json"), path.join(packageDir, "package.json"));
  await fs.cp(path.join(agentDir, "workload"), path.join(packageDir, "workload"), { recursive: true });
}, 120_000);

afterAll(async () => {
  if (packageDir) await fs.rm(packageDir, { recursive: true, force: true });
});

const agent = (args: string[]) =>
  run(process.execPath, [path.join(packageDir, "dist/gpumesh-agent.mjs"), ...args], { cwd: packageDir, env: { ...process.env, GPUMESH_AGENT_HOME: path.join(packageDir, "home"), NO_COLOR: "1", NODE_PATH: "" } });

it("runs on plain Node without the monorepo: version, detect, and doctor naming an unreachable gateway", async () => {
  const { version } = JSON.parse(await fs.readFile(path.join(agentDir, "package.json"), "utf8")) as { version: string };
  expect((await agent(["--version"])).stdout.trim()).toBe(version);
  const detected = JSON.parse((await agent(["detect", "--json"])).stdout) as { cpuCores: number; ramGb: number; diskGb: number };
  expect(detected.cpuCores).toBeGreaterThan(0);
  expect(detected.ramGb).toBeGreaterThan(0);
  const doctor = await agent(["doctor", "--gateway", "http://127.0.0.1:9"]).catch((error: { code: number; stdout: string }) => error);
  expect("code" in doctor ? doctor.code : 0).toBe(1);
  expect(doctor.stdout).toMatch(/gateway http:\/\/127\.0\.0\.1:9 unreachable/);
  expect(doctor.stdout).toMatch(/not joined yet/);
}, 60_000);
