import { noSeriousA11yViolations } from "./a11y.ts";
import { expect, test, type APIRequestContext, type Page } from "@playwright/test";

// The explorer's directory on `pnpm dev`'s network, without a wallet: filter the devices table (the
// URL keeps the filters), open a device and read its proof-of-work checks, open its supplier, and
// open the supplier's real register_supplier transaction, indexed from localnet. Bad ids are 4xx
// naming the field; unknown ones 404; a malformed signature is the 404 page, never a 500.

interface DeviceItem { id: string; name: string; status: string; gpuModelId: string | null; supplier: { id: string; name: string } }
interface DeviceList { items: DeviceItem[]; next_cursor: string | null; matches: { count: number; atLeast: boolean } }

async function fitsTheScreen(page: Page) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
}

async function devices(request: APIRequestContext, query: string): Promise<DeviceList> {
  const response = await request.get(`/api/v1/devices?${query}`);
  expect(response.status()).toBe(200);
  return (await response.json()) as DeviceList;
}

/** An online device whose agent has answered at least one proof-of-work check (the simulated fleet does within a minute or two). */
async function checkedDevice(request: APIRequestContext): Promise<DeviceItem> {
  let found: DeviceItem | undefined;
  await expect
    .poll(
      async () => {
        for (const device of (await devices(request, "status=online&verification=verified&limit=10")).items) {
          const evidence = (await (await request.get(`/api/v1/devices/${device.id}/evidence?limit=1`)).json()) as { items: { status: string }[] };
          if (evidence.items.some((check) => check.status !== "PENDING")) {
            found = device;
            return true;
          }
        }
        return false;
      },
      { timeout: 150_000, intervals: [5_000] },
    )
    .toBe(true);
  return found!;
}

test("filter the devices table, page it, open a device and see its checks", async ({ page, request }, info) => {
  test.setTimeout(300_000);
  const all = await devices(request, "limit=1");
  expect(all.matches.count).toBeGreaterThanOrEqual(300);

  await page.goto("/devices");
  await expect(page.getByRole("heading", { name: "Devices", exact: true })).toBeVisible();
  await expect(page.getByTestId("match-count")).toHaveText(`${all.matches.count.toLocaleString("en-US")}${all.matches.atLeast ? "+" : ""} devices`);
  await expect(page.getByTestId("device-row")).toHaveCount(25);
  await noSeriousA11yViolations(page);
  await fitsTheScreen(page);

  // Filters go into the URL (shareable) and narrow the table to exactly what the API says. Model and
  // supplier network never change, so the page and the API agree however the fleet's statuses move.
  await page.getByLabel("GPU model").selectOption("h100-80gb");
  await page.getByLabel("Supplier network").selectOption("render");
  await page.getByTestId("apply-filters").click();
  await expect(page).toHaveURL(/model=h100-80gb/);
  await expect(page).toHaveURL(/network=render/);
  const h100 = await devices(request, "model=h100-80gb&network=render");
  expect(h100.matches.count).toBeGreaterThan(0);
  expect(h100.matches.count).toBeLessThan(all.matches.count);
  await expect(page.getByTestId("match-count")).toHaveText(`${h100.matches.count} ${h100.matches.count === 1 ? "device" : "devices"}`);
  const rows = page.getByTestId("device-row");
  await expect(rows).toHaveCount(Math.min(25, h100.matches.count));
  for (const text of await rows.allTextContents()) expect(text).toMatch(/H100 80GB.*· render/);
  await noSeriousA11yViolations(page);

  // The next page follows the cursor with the same filters; nothing repeats.
  const sorted = await devices(request, "sort=price&limit=25");
  await page.goto("/devices?sort=price");
  const firstPage = await page.getByTestId("device-row").locator("td:first-child").allTextContents();
  expect(firstPage).toEqual(sorted.items.map((d) => d.name));
  await page.getByTestId("next-page").click();
  await expect(page).toHaveURL(/sort=price&cursor=/);
  const second = await devices(request, `sort=price&limit=25&cursor=${sorted.next_cursor}`);
  const secondIds = second.items.map((d) => d.id);
  expect(secondIds.some((id) => sorted.items.some((d) => d.id === id))).toBe(false);
  await expect(page.getByTestId("device-row").first().locator("a").first()).toHaveAttribute("href", `/devices/${secondIds[0]}`);

  // A bad filter value is named, not a crash.
  await page.goto("/devices?status=sleeping");
  await expect(page.getByTestId("filter-error")).toContainText("status");

  // A device that has been checked: its page lists each check with its evidence.
  const device = await checkedDevice(request);
  await page.goto(`/devices?q=${device.id}`);
  await expect(page.getByTestId("device-row")).toHaveCount(1);
  await page.getByRole("link", { name: device.name }).click();
  await expect(page.getByRole("heading", { name: device.name, level: 1 })).toBeVisible();
  await expect(page.getByTestId("spec")).toContainText("CPU");
  await expect(page.getByTestId("status-reason")).not.toBeEmpty();
  const evidence = page.getByTestId("evidence-row");
  await expect(evidence.first()).toBeVisible();
  await expect(evidence.first()).toContainText(/passed|failed|expired|pending/);
  await page.getByTestId("uptime-30d").click();
  await expect(page.getByTestId("uptime-days").locator("li")).toHaveCount(30);
  await noSeriousA11yViolations(page);
  await fitsTheScreen(page);
  await page.screenshot({ path: info.outputPath(`${info.project.name}-device.png`), fullPage: true });

  // Nothing private in the public detail.
  const detail = (await (await request.get(`/api/v1/devices/${device.id}`)).json()) as Record<string, unknown>;
  const json = JSON.stringify(detail);
  for (const secret of ["agentPublicKey", "tokenHash", "accountId", "clusterId", "allocationId", "endpoint"]) expect(json).not.toContain(secret);
});

test("open a supplier and its real on-chain registration transaction", async ({ page, request }, info) => {
  test.setTimeout(120_000);
  // A seeded supplier registered on localnet by `pnpm dev`; the indexer recorded its transaction.
  const list = await devices(request, "limit=100");
  let supplier: { id: string; registeredSignature: string | null; name: string } | undefined;
  await expect
    .poll(
      async () => {
        for (const id of [...new Set(list.items.map((d) => d.supplier.id))]) {
          const body = (await (await request.get(`/api/v1/suppliers/${id}`)).json()) as { supplier: { id: string; name: string; registeredSignature: string | null } };
          if (body.supplier.registeredSignature) {
            supplier = body.supplier;
            return true;
          }
        }
        return false;
      },
      { timeout: 90_000, intervals: [5_000] },
    )
    .toBe(true);

  await page.goto(`/suppliers/${supplier!.id}`);
  await expect(page.getByRole("heading", { name: supplier!.name, level: 1 })).toBeVisible();
  await expect(page.getByTestId("device-row").first()).toBeVisible();
  await noSeriousA11yViolations(page);
  await fitsTheScreen(page);

  await page.getByTestId("registration-tx").getByRole("link").click();
  await expect(page).toHaveURL(`/tx/${supplier!.registeredSignature}`);
  await expect(page.getByTestId("signature")).toHaveText(supplier!.registeredSignature!);
  // `pnpm dev` registers its seeded suppliers five to a transaction: this supplier's is one of them.
  const event = page.getByTestId("tx-event").filter({ hasText: "SupplierRegistered" }).filter({ has: page.getByTestId("tx-supplier").getByText(supplier!.name, { exact: true }) });
  await expect(event).toBeVisible();
  await expect(event.getByTestId("tx-supplier")).toHaveText(supplier!.name);
  await noSeriousA11yViolations(page);
  await fitsTheScreen(page);
  await page.screenshot({ path: info.outputPath(`${info.project.name}-tx.png`), fullPage: true });
  await event.getByTestId("tx-supplier").click();
  await expect(page).toHaveURL(`/suppliers/${supplier!.id}`);
});

test("unknown and malformed ids: 404 pages, and the API names the field", async ({ page, request }) => {
  // Three pages and eight API routes, each compiled by `pnpm dev` on its first request.
  test.setTimeout(240_000);
  const malformed = await page.goto("/tx/not-a-signature");
  expect(malformed?.status()).toBe(404);
  await expect(page.getByTestId("not-found")).toContainText("Transaction not found");
  await noSeriousA11yViolations(page);
  const unknown = await page.goto(`/tx/${"1".repeat(64)}`);
  expect(unknown?.status()).toBe(404);
  expect((await page.goto("/devices/00000000-0000-0000-0000-000000000000"))?.status()).toBe(404);
  await expect(page.getByTestId("not-found")).toContainText("Device not found");
  expect((await page.goto("/suppliers/not-a-supplier"))?.status()).toBe(404);

  const cases: [string, number, string | undefined][] = [
    ["/api/v1/devices?status=sleeping", 422, "status"],
    ["/api/v1/devices?model=h900", 422, "model"],
    ["/api/v1/devices?cursor=bogus", 422, "cursor"],
    ["/api/v1/devices?limit=500", 422, "limit"],
    ["/api/v1/devices/not-a-uuid", 422, "deviceId"],
    ["/api/v1/devices/not-a-uuid/evidence", 422, "deviceId"],
    ["/api/v1/suppliers/%20", 422, "supplierId"],
    ["/api/v1/transactions/0OIl", 422, "signature"],
    ["/api/v1/devices/00000000-0000-0000-0000-000000000000", 404, undefined],
    ["/api/v1/devices/00000000-0000-0000-0000-000000000000/evidence", 404, undefined],
    ["/api/v1/suppliers/00000000-0000-0000-0000-000000000000", 404, undefined],
    [`/api/v1/transactions/${"1".repeat(64)}`, 404, undefined],
  ];
  for (const [url, status, field] of cases) {
    const response = await request.get(url);
    expect(response.status(), url).toBe(status);
    const body = (await response.json()) as { error: { code: string; field?: string } };
    expect(body.error.code, url).toBe(status === 404 ? "NOT_FOUND" : "VALIDATION");
    expect(body.error.field, url).toBe(field);
  }
});
