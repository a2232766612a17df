import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { Keypair } from "@solana/web3.js";
import { E2E_LOCALNET_URL } from "./playwright.config.ts";
import { apiClient, json, signIn } from "./api/session.ts";

// `pnpm dev`'s simulated renters (scripts/dev-renters.ts), run as the real process against the real
// stack: they sign in with their own dev wallets, pay with signed transactions, extend and terminate
// through the public API, and the money they spend is what their receipts say. (The browser tests'
// `pnpm dev` runs with GPUMESH_SIMULATED_RENTERS=0 so background demand does not race the other specs.)

test.skip(({ isMobile }) => isMobile, "no browser involved: runs once, in the laptop project");
test.describe.configure({ mode: "serial", timeout: 300_000 });

const root = path.resolve(import.meta.dirname, "..");

function renters(baseURL: string, args: string[]) {
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/dev-renters.ts", "--web", baseURL, "--rpc", E2E_LOCALNET_URL, ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, exited, output: () => output };
}

interface OnceReport {
  wallet: string;
  clusterId: string;
  status: string;
  receipts: { kind: string; amount: string; signature: string }[];
  usdcBefore: string;
  usdcAfter: string;
}

test("a simulated renter rents, extends and terminates with signed transactions, and pays exactly its receipts", async ({ baseURL }) => {
  const run = renters(baseURL!, ["--once", "--first", "900"]);
  expect(await run.exited, run.output()).toBe(0);
  const report = JSON.parse(run.output().trim().split("\n").pop()!) as OnceReport;
  expect(report.status).toBe("ENDED");
  const kinds = report.receipts.map((r) => r.kind).sort();
  expect(kinds).toEqual(["DEPOSIT", "EXTENSION", "REFUND"]);
  const amount = (kind: string) => BigInt(report.receipts.find((r) => r.kind === kind)!.amount);
  // What left the wallet: the deposit and the extra hour, less what came back for the unserved time.
  expect(BigInt(report.usdcBefore) - BigInt(report.usdcAfter)).toBe(amount("DEPOSIT") + amount("EXTENSION") - amount("REFUND"));
  expect(amount("REFUND")).toBeGreaterThan(0n);
});

test("the live generator rents on its own and stops cleanly on SIGTERM", async ({ baseURL, playwright }) => {
  const run = renters(baseURL!, ["--renters", "1", "--first", "901", "--pace", "2"]);
  try {
    await expect.poll(run.output, { timeout: 180_000, intervals: [1_000] }).toMatch(/renter 901: rented \d+ GPUs? for \d h: cluster [0-9a-f-]{36}/);
  } finally {
    run.child.kill("SIGTERM");
  }
  // It stops within its grace period; a stopped renter's clusters keep running (they are paid for).
  expect(await Promise.race([run.exited, new Promise((resolve) => setTimeout(() => resolve("still running"), 10_000))])).toBe(0);
  // Clean up after it as that wallet would (its dev key is published), so later specs see a quiet network.
  const keypair = Keypair.fromSeed(createHash("sha256").update("gpumesh-dev-renter:901").digest());
  const api = await apiClient(playwright, baseURL!);
  await signIn(api, keypair);
  for (const [, clusterId] of run.output().matchAll(/cluster ([0-9a-f-]{36})/g)) {
    const cluster = await json<{ status: string }>(await api.get(`/api/v1/clusters/${clusterId}`));
    if (!["ENDED", "FAILED", "REFUNDED", "ENDING"].includes(cluster.status)) {
      await expect.poll(async () => (await json<{ status: string }>(await api.get(`/api/v1/clusters/${clusterId}`))).status, { timeout: 120_000 }).toMatch(/RUNNING|DEGRADED/);
      expect((await api.post(`/api/v1/clusters/${clusterId}/terminate`)).status()).toBe(200);
    }
  }
  await api.dispose();
});
