import os from "node:os";
import path from "node:path";
import { defineConfig, devices } from "@playwright/test";

// Browser tests run the product exactly as a newcomer does: `pnpm dev` on a fresh data directory
// (its own ports, so a developer's running `pnpm dev` is untouched), then Debian's Chromium.
const webPort = Number(process.env.E2E_WEB_PORT ?? 3107);
const dataDir = path.join(os.tmpdir(), `gpumesh-e2e-${webPort}`);
/** The scheduler's queue dashboard under `pnpm dev` (e2e/queues.spec.ts logs in with this token). */
export const E2E_ADMIN_PORT = Number(process.env.E2E_ADMIN_PORT ?? 3117);
export const E2E_ADMIN_TOKEN = "e2e-dashboard-token-0123456789";
/** `pnpm dev`'s localnet in the browser tests (the public health endpoint does not name it). */
export const E2E_GATEWAY_PORT = Number(process.env.E2E_GATEWAY_PORT ?? 3207);
export const E2E_GATEWAY_URL = `http://127.0.0.1:${E2E_GATEWAY_PORT}`;
export const E2E_LOCALNET_PORT = Number(process.env.E2E_LOCALNET_PORT ?? 8909);
export const E2E_LOCALNET_URL = `http://127.0.0.1:${E2E_LOCALNET_PORT}`;
const chromium = {
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
};

export default defineConfig({
  testDir: ".",
  testMatch: "**/*.spec.ts",
  timeout: 60_000,
  // UI updates that wait on a server call: the first call of a route compiles it under `next dev`,
  // seconds on a busy two-core machine, so the 5 s default fails on load rather than on behaviour.
  expect: { timeout: 15_000 },
  retries: 0,
  workers: 1,
  reporter: process.env.PLAYWRIGHT_JSON_OUTPUT_NAME ? [["list"], ["json"]] : [["list"]],
  outputDir: path.join(os.tmpdir(), "gpumesh-e2e-results"),
  use: { baseURL: `http://127.0.0.1:${webPort}`, launchOptions: chromium, trace: "off" },
  projects: [
    { name: "laptop", use: { ...devices["Desktop Chrome"], viewport: { width: 1366, height: 850 }, launchOptions: chromium } },
    { name: "phone", use: { ...devices["Pixel 7"], launchOptions: chromium } },
  ],
  webServer: {
    command: "pnpm dev --reset",
    cwd: "..",
    url: `http://127.0.0.1:${webPort}/api/health`,
    timeout: 240_000,
    reuseExistingServer: false,
    // E2E_SERVER_LOG=1 shows the stack's own logs (a 500's reference is looked up there).
    stdout: process.env.E2E_SERVER_LOG ? "pipe" : "ignore",
    stderr: "pipe",
    gracefulShutdown: { signal: "SIGINT", timeout: 20_000 },
    env: {
      WEB_PORT: String(webPort),
      GPUMESH_PG_PORT: process.env.E2E_PG_PORT ?? "54339",
      GPUMESH_REDIS_PORT: process.env.E2E_REDIS_PORT ?? "63809",
      GPUMESH_LOCALNET_PORT: String(E2E_LOCALNET_PORT),
      GPUMESH_DATA_DIR: dataDir,
      GPUMESH_ADMIN_PORT: String(E2E_ADMIN_PORT),
      GPUMESH_GATEWAY_PORT: String(E2E_GATEWAY_PORT),
      ADMIN_TOKEN: E2E_ADMIN_TOKEN,
      // The specs count GPUs and rent whole markets: background demand would race them.
      // e2e/demand.spec.ts runs one simulated renter itself.
      GPUMESH_SIMULATED_RENTERS: "0",
      NEXT_TELEMETRY_DISABLED: "1",
    },
  },
});
