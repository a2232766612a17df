import { expect, test } from "@playwright/test";
import { E2E_ADMIN_PORT, E2E_ADMIN_TOKEN } from "./playwright.config.ts";

// The scheduler's queue dashboard (Bull Board) as an operator sees it under `pnpm dev`.
const dashboard = `http://127.0.0.1:${E2E_ADMIN_PORT}/`;
const QUEUES = ["health", "deploy", "settle", "verify", "index", "rewards"];

test("the queue dashboard asks for the password and shows nothing without it", async ({ playwright }) => {
  const anonymous = await playwright.request.newContext();
  const response = await anonymous.get(dashboard);
  expect(response.status()).toBe(401);
  expect(response.headers()["www-authenticate"]).toMatch(/^Basic realm="GPUMesh queues"/);
  expect(await response.text()).not.toMatch(/deploy|settle|rewards/);
  const wrong = await playwright.request.newContext({ httpCredentials: { username: "ops", password: "not-the-token-not-the-token" } });
  expect((await wrong.get(`${dashboard}api/queues`)).status()).toBe(401);
  await Promise.all([anonymous.dispose(), wrong.dispose()]);
});

test("the queue dashboard lists every scheduler queue in the browser", async ({ browser }) => {
  const context = await browser.newContext({ httpCredentials: { username: "ops", password: E2E_ADMIN_TOKEN } });
  const page = await context.newPage();
  // The page runs under a strict CSP: a blocked script or style would show up here.
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(error.message));
  // Nothing is fetched from anywhere else (no fonts or scripts from third parties).
  const foreign: string[] = [];
  page.on("request", (request) => {
    if (!request.url().startsWith(dashboard) && !request.url().startsWith("data:")) foreign.push(request.url());
  });
  await page.goto(dashboard);
  await expect(page).toHaveTitle(/GPUMesh queues/);
  for (const queue of QUEUES) await expect(page.getByRole("link", { name: new RegExp(`^${queue}\\b`, "i") }).first()).toBeVisible();
  expect(problems).toEqual([]);
  expect(foreign).toEqual([]);
  await context.close();
});
