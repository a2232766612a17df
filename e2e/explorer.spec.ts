import { noSeriousA11yViolations } from "./a11y.ts";
import { GPUMESH_PROGRAM_ID, pdas } from "@gpumesh/chain";
import { Connection } from "@solana/web3.js";
import { expect, test, type APIRequestContext } from "@playwright/test";
import { E2E_LOCALNET_URL } from "./playwright.config.ts";

// The explorer home on `pnpm dev`'s network, without a wallet: the numbers shown are the public API's
// (from the same rollup snapshot), a new snapshot arrives over SSE without a reload, the deployable
// table follows its filters, the map's markers name their region's numbers, and the page is axe-clean
// and fits the screen on laptop and phone.

interface Breakdown { devices: number; gpus: number; onlineGpus: number; availableGpus: number; medianPricePerGpuHour: string | null }
interface Headline {
  takenAt: string | null;
  suppliers: number;
  devices: { total: number; online: number; hired: number };
  gpus: { total: number; verified: number; online: number; hired: number };
  utilisationBps: number;
  mesh: { emissionProgressBps: number };
  byModel: ({ gpuModelId: string; name: string } & Breakdown)[];
  byRegion: ({ region: string; name: string } & Breakdown)[];
}
interface Shape { gpuModelId: string; gpuCount: number; singleNode: number; anyNodes: number; freeGpus: number }

const n = (value: number) => value.toLocaleString("en-US");

async function headline(request: APIRequestContext): Promise<Headline> {
  const response = await request.get("/api/v1/network");
  expect(response.status()).toBe(200);
  return (await response.json()) as Headline;
}

/** The first rollup runs when the scheduler starts; wait for it rather than racing it. */
async function firstSnapshot(request: APIRequestContext): Promise<Headline> {
  await expect.poll(async () => (await headline(request)).takenAt, { timeout: 60_000 }).not.toBeNull();
  return headline(request);
}

// The home page pulls in the map and the charts: `pnpm dev` compiles it on the first visit.
test.describe.configure({ timeout: 180_000 });

test("the explorer shows the seeded network, the same numbers as the public API", async ({ page, request }) => {
  const first = await firstSnapshot(request);
  expect(first.devices.total).toBeGreaterThanOrEqual(300);
  expect(first.suppliers).toBeGreaterThanOrEqual(40);

  await page.goto("/");
  await expect(page.getByRole("heading", { name: "Network explorer" })).toBeVisible();
  // Snapshots move on every few seconds: compare the page with the API's answer for the snapshot shown.
  await expect(async () => {
    const shown = await page.getByTestId("taken-at").getAttribute("datetime");
    const summary = await headline(request);
    expect(summary.takenAt).toBe(shown);
    await expect(page.getByTestId("gpus-online")).toHaveText(n(summary.gpus.online), { timeout: 1 });
    await expect(page.getByTestId("gpus-verified")).toHaveText(n(summary.gpus.verified), { timeout: 1 });
    await expect(page.getByTestId("devices-online")).toHaveText(n(summary.devices.online), { timeout: 1 });
    await expect(page.getByTestId("gpus-hired")).toHaveText(n(summary.gpus.hired), { timeout: 1 });
    await expect(page.getByTestId("suppliers")).toHaveText(n(summary.suppliers), { timeout: 1 });
    await expect(page.getByTestId("utilisation")).toHaveText(`${(summary.utilisationBps / 100).toFixed(1)}%`, { timeout: 1 });
    await expect(page.getByTestId("emission-progress")).toHaveText(`${(summary.mesh.emissionProgressBps / 100).toFixed(1)}%`, { timeout: 1 });
    await expect(page.getByTestId("region-row")).toHaveCount(summary.byRegion.length, { timeout: 1 });
    const h100 = summary.byModel.find((model) => model.name === "H100 80GB")!;
    await expect(page.getByTestId("model-row").filter({ hasText: "H100 80GB" }).getByTestId("model-available")).toHaveText(n(h100.availableGpus), { timeout: 1 });
  }).toPass({ timeout: 60_000 });
  await expect(page.getByTestId("model-row")).toHaveCount(first.byModel.length);
});

test("a new snapshot arrives over server-sent events without a reload", async ({ page, request }) => {
  await firstSnapshot(request);
  await page.goto("/");
  const before = await page.getByTestId("taken-at").getAttribute("datetime");
  await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
  // pnpm dev takes a snapshot every 10 s.
  await expect(page.getByTestId("taken-at")).not.toHaveAttribute("datetime", before!, { timeout: 45_000 });
  expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
  await expect(page.getByText("· live")).toBeVisible();
});

test("the stream speaks SSE: the headline at once, named event, JSON data", async ({ request }) => {
  await firstSnapshot(request);
  const controller = new AbortController();
  const response = await fetch(`${test.info().project.use.baseURL}/api/v1/network/stream`, { signal: controller.signal });
  expect(response.headers.get("content-type")).toContain("text/event-stream");
  const reader = response.body!.getReader();
  let text = "";
  while (!text.includes("\n\n", text.indexOf("event: network"))) text += new TextDecoder().decode((await reader.read()).value);
  controller.abort();
  const data = JSON.parse(text.split("event: network\ndata: ")[1]!.split("\n\n")[0]!) as Headline;
  expect(data.devices.total).toBeGreaterThanOrEqual(300);
});

test("deployable now follows its filters and equals the capacity API", async ({ page, request }) => {
  await firstSnapshot(request);
  await page.goto("/");
  const table = page.getByTestId("capacity-table");
  await expect(table).toBeVisible();
  const check = async (query: string) => {
    await expect(async () => {
      const { shapes } = (await (await request.get(`/api/v1/capacity?${query}`)).json()) as { shapes: Shape[] };
      const h100 = (gpus: number) => shapes.find((s) => s.gpuModelId === "h100-80gb" && s.gpuCount === gpus);
      const row = page.locator('[data-testid="capacity-row"][data-model="h100-80gb"]');
      for (const gpus of [1, 8, 64]) {
        const shape = h100(gpus);
        await expect(row.getByTestId(`capacity-${gpus}`)).toHaveText(shape ? `${n(shape.singleNode)} / ${n(shape.anyNodes)}` : "0 / 0", { timeout: 1 });
      }
    }).toPass({ timeout: 30_000 });
  };
  await check("");
  await page.getByTestId("capacity-region").selectOption("us-east");
  await check("region=us-east");
  // A renter with an image: only devices that run images (in dev every simulated agent does).
  await page.getByTestId("capacity-runtime").selectOption("image");
  await check("region=us-east&runtime=image");
  const badRuntime = await request.get("/api/v1/capacity?runtime=gpu");
  expect(badRuntime.status()).toBe(422);
  expect(JSON.stringify(await badRuntime.json())).toContain("runtime");

  // Bad filters are 422s naming the field.
  const bad = await request.get("/api/v1/capacity?region=mars&gpus=3");
  expect(bad.status()).toBe(422);
  expect(JSON.stringify(await bad.json())).toMatch(/region|gpus/);
  const badHistory = await request.get("/api/v1/network/history?metric=nope");
  expect(badHistory.status()).toBe(422);
  expect(JSON.stringify(await badHistory.json())).toContain("metric");
});

test("the map names each region's numbers on focus, and the charts draw the API's history", async ({ page, request }) => {
  const summary = await firstSnapshot(request);
  await page.goto("/");
  const marker = page.locator('[data-testid="map-marker"][data-region="us-east"]');
  await marker.focus();
  const usEast = summary.byRegion.find((r) => r.region === "us-east")!;
  await expect(page.getByTestId("map-tip")).toContainText("US East");
  await expect(page.getByTestId("map-tip")).toContainText(`${n(usEast.gpus)} GPUs`);
  const history = (await (await request.get("/api/v1/network/history?metric=gpusOnline&range=24h")).json()) as { points: unknown[] };
  expect(history.points.length).toBeGreaterThan(0);
  await expect(page.getByRole("img", { name: "Online, 24h" })).toBeVisible();
  // Asks per GPU-hour of the model picked, from that model's history.
  const asks = (await (await request.get("/api/v1/models/a100-80gb/history?range=24h")).json()) as { points: { medianPricePerGpuHour: string | null }[] };
  expect(asks.points.some((p) => p.medianPricePerGpuHour !== null)).toBe(true);
  await page.getByTestId("price-history-model").selectOption("a100-80gb");
  await expect(page.getByRole("img", { name: "Asks per GPU-hour for A100 80GB, 24h" })).toBeVisible();
  // A line is drawn through at least two points (a flat line has no height, so "visible" cannot be asked of it).
  await expect(page.getByRole("img", { name: "Asks per GPU-hour for A100 80GB, 24h" }).locator("path.recharts-line-curve").first()).toHaveAttribute("d", /^M[\d.]+,[\d.]+[CL][\d.]+,[\d.]+/);
});

test("the explorer is axe-clean and fits the screen", async ({ page, request }, info) => {
  await firstSnapshot(request);
  await page.goto("/");
  await expect(page.getByTestId("gpus-online")).toBeVisible();
  await expect(page.getByRole("img", { name: "Online, 24h" })).toBeVisible();
  await noSeriousA11yViolations(page);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await page.screenshot({ path: info.outputPath(`${info.project.name}-explorer.png`), fullPage: true });
});

test("pnpm dev runs localnet with the gpumesh program initialized", async ({ request }) => {
  const health = (await (await request.get("/api/health")).json()) as Record<string, string>;
  // Public health says ok or not per dependency, and never names a URL.
  expect(health).toEqual({ status: "ok", database: "ok", redis: "ok", chain: "ok" });
  const connection = new Connection(E2E_LOCALNET_URL, "confirmed");
  const config = await connection.getAccountInfo(pdas.config()[0]);
  expect(config?.owner.toBase58()).toBe(GPUMESH_PROGRAM_ID.toBase58());
});
