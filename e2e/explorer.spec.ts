import { GPUMESH_PROGRAM_ID, pdas } from "@gpumesh/chain";
import { Connection } from "@solana/web3.js";
import { expect, test } from "@playwright/test";
import { E2E_LOCALNET_URL } from "./playwright.config.ts";

interface NetworkSummary {
  suppliers: number;
  devices: { total: number; online: number };
  gpus: { total: number; online: number };
  byModel: { name: string; onlineGpus: number; gpus: number }[];
  byRegion: { region: string }[];
}

test("the explorer shows the seeded network, the same numbers as the public API", async ({ page, request }) => {
  const response = await request.get("/api/v1/network");
  expect(response.ok()).toBe(true);
  const summary = (await response.json()) as NetworkSummary;
  expect(summary.devices.total).toBeGreaterThanOrEqual(300);
  expect(summary.suppliers).toBeGreaterThanOrEqual(40);

  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Network explorer" })).toBeVisible();
  await expect(page.getByTestId("gpus-online")).toHaveText(summary.gpus.online.toLocaleString("en-US"));
  await expect(page.getByTestId("devices-online")).toHaveText(summary.devices.online.toLocaleString("en-US"));
  await expect(page.getByTestId("suppliers")).toHaveText(String(summary.suppliers));
  await expect(page.getByTestId("model-row")).toHaveCount(summary.byModel.length);
  await expect(page.getByTestId("region-row")).toHaveCount(summary.byRegion.length);
  const h100 = page.getByTestId("model-row").filter({ hasText: "H100 80GB" });
  const h100Stats = summary.byModel.find((model) => model.name === "H100 80GB")!;
  await expect(h100).toContainText(h100Stats.onlineGpus.toLocaleString("en-US"));
});

test("pnpm dev runs localnet with the gpumesh program initialized", async ({ request }) => {
  const health = (await (await request.get("/api/health")).json()) as Record<string, string>;
  // Public health says ok or not per dependency, and never names a URL.
  expect(health).toEqual({ status: "ok", database: "ok", redis: "ok", chain: "ok" });
  const connection = new Connection(E2E_LOCALNET_URL, "confirmed");
  const config = await connection.getAccountInfo(pdas.config()[0]);
  expect(config?.owner.toBase58()).toBe(GPUMESH_PROGRAM_ID.toBase58());
});

test("the page fits the screen without sideways scrolling", async ({ page }) => {
  await page.goto("/");
  await expect(page.getByTestId("gpus-online")).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
});
