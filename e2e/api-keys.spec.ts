import { noSeriousA11yViolations } from "./a11y.ts";
import { expect, test } from "@playwright/test";
import { Keypair } from "@solana/web3.js";
import { E2E_LOCALNET_URL } from "./playwright.config.ts";
import { installTestWallet } from "./wallet/index.ts";

// The API reference (/docs/api, public, rendered from the OpenAPI document) and API keys in Settings
// (signed in with the test wallet): create one, see it once, use it, revoke it, and it stops working.
// Both pages on laptop and phone, axe-clean.

test.describe.configure({ timeout: 240_000 });

test("the API reference lists every operation of the OpenAPI document, with auth, errors and a curl example", async ({ page, request }) => {
  const document = (await (await request.get("/api/v1/openapi.json")).json()) as { paths: Record<string, Record<string, { operationId: string; summary: string }>> };
  const operations = Object.values(document.paths).flatMap((methods) => Object.values(methods));
  await page.goto("/docs/api");
  await expect(page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "API", exact: true })).toHaveAttribute("href", "/docs/api");
  await expect(page.getByRole("heading", { name: "API reference", level: 1 })).toBeVisible();
  await expect(page.getByTestId("api-operation")).toHaveCount(operations.length);
  const epochs = page.locator("#op-listEpochs");
  await expect(epochs).toContainText("/api/v1/epochs");
  await expect(epochs).toContainText("Public: no authentication");
  await expect(epochs).toContainText("422 VALIDATION");
  await expect(epochs).toContainText("429 RATE_LIMITED");
  await expect(epochs.locator("pre")).toContainText("curl '");
  const clusters = page.locator("#op-listClusters");
  await expect(clusters).toContainText("API key");
  await expect(clusters.locator("pre")).toContainText("Authorization: Bearer");
  // Nothing is loaded from another origin.
  const foreign: string[] = [];
  page.on("request", (r) => {
    if (!r.url().startsWith(new URL(page.url()).origin)) foreign.push(r.url());
  });
  await page.reload();
  expect(foreign).toEqual([]);
  await noSeriousA11yViolations(page);
});

test("API keys: created and shown once in Settings, used as a bearer, revoked and refused", async ({ page, request }) => {
  const key = Keypair.generate();
  await installTestWallet(page, key.secretKey, { rpcUrl: E2E_LOCALNET_URL });
  await page.goto("/settings");
  await expect(page).toHaveURL(/\/sign-in\?next=%2Fsettings/, { timeout: 60_000 });
  await page.getByRole("button", { name: /GPUMesh Test Wallet/ }).click();
  await expect(page).toHaveURL(/\/settings$/, { timeout: 90_000 });
  await expect(page.getByTestId("no-api-keys")).toBeVisible();
  await noSeriousA11yViolations(page);

  await page.getByLabel("Name").fill("e2e script");
  await page.getByTestId("create-api-key").click();
  const secret = (await page.getByTestId("new-api-key-value").textContent())!;
  expect(secret).toMatch(/^gmk_[A-Za-z0-9_-]{43}$/);
  const row = page.getByTestId("api-key-row").filter({ hasText: "e2e script" });
  await expect(row).toContainText(`${secret.slice(0, 12)}…`);
  await expect(row).toContainText("never");
  await noSeriousA11yViolations(page);

  // The key works as its account, on a keyed route, with no cookie.
  const headers = { authorization: `Bearer ${secret}`, "x-forwarded-for": "198.51.100.77" };
  const listed = await request.get("/api/v1/clusters", { headers });
  expect(listed.status(), await listed.text()).toBe(200);
  expect(await listed.json()).toEqual({ items: [], next_cursor: null });
  // …but not on a session-only one: a key cannot list or mint keys.
  expect((await request.get("/api/v1/api-keys", { headers })).status()).toBe(403);

  // A reload no longer shows the secret; last used is set.
  await page.reload();
  await expect(page.getByTestId("new-api-key")).toHaveCount(0);
  await expect(page.getByText(secret)).toHaveCount(0);
  await expect(row).not.toContainText("never");

  await row.getByTestId("revoke-api-key").click();
  await row.getByTestId("confirm-revoke").click();
  // The first DELETE compiles its route under `next dev`: seconds on a busy machine.
  await expect(row).toContainText("revoked", { timeout: 120_000 });
  const refused = await request.get("/api/v1/clusters", { headers });
  expect(refused.status()).toBe(401);
  expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("INVALID_API_KEY");
});
