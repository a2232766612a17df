import path from "node:path";
import { noSeriousA11yViolations } from "./a11y.ts";
import { region } from "@gpumesh/core";
import { expect, test, type Page, type TestInfo } from "@playwright/test";
import { Connection, Keypair, type PublicKey } from "@solana/web3.js";
import { E2E_LOCALNET_URL } from "./playwright.config.ts";
import { fundRenter, installTestWallet } from "./wallet/index.ts";

// The main job of GPUMesh, in a real browser with a keypair-backed Wallet Standard wallet: sign in,
// configure 8 × H100 in one region, quote, pay, watch it run, extend, terminate, see the refund. The
// renter's on-chain USDC moves by exactly the receipts, and deposit + extension − refund equals what
// the ledger settled to the base unit.

test.describe.configure({ mode: "serial" });

const USDC = 1_000_000n;

async function usdc(account: PublicKey): Promise<bigint> {
  const connection = new Connection(E2E_LOCALNET_URL, "confirmed");
  return BigInt((await connection.getTokenAccountBalance(account, "confirmed")).value.amount);
}

/** A screenshot of each step, kept with the test's artifacts; GPUMESH_README_SCREENSHOTS=1 also refreshes the README's (laptop). */
async function shot(page: Page, info: TestInfo, name: string) {
  await page.screenshot({ path: info.outputPath(`${info.project.name}-${name}.png`), fullPage: true });
  if (process.env.GPUMESH_README_SCREENSHOTS === "1" && info.project.name === "laptop") await page.screenshot({ path: path.join(import.meta.dirname, "..", "docs", "screenshots", `${name}.png`) });
}

test("rent 8 × H100 from the browser: sign in, quote, pay, run, extend, terminate, refund to the base unit", async ({ page, request }, info) => {
  test.setTimeout(600_000);
  const errors: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(error.message));
  page.on("response", (response) => {
    if (response.status() >= 400 && response.request().resourceType() !== "fetch") errors.push(`${response.status()} ${response.url()}`);
  });

  const renter = Keypair.generate();
  const { usdcAccount } = await fundRenter(E2E_LOCALNET_URL, renter, { sol: 2, usdc: 5_000n * USDC });
  await installTestWallet(page, renter.secretKey, { rpcUrl: E2E_LOCALNET_URL });
  const start = await usdc(usdcAccount);

  // Signed-in pages send you to sign in first, and back afterwards.
  await page.goto("/deploy");
  await expect(page).toHaveURL(/^http:\/\/127\.0\.0\.1:\d+\/sign-in\?next=%2Fdeploy/, { timeout: 60_000 });
  await expect(page.getByRole("button", { name: /GPUMesh Test Wallet/ })).toBeVisible();
  await noSeriousA11yViolations(page);
  await shot(page, info, "1-sign-in");
  await page.getByRole("button", { name: /GPUMesh Test Wallet/ }).click();
  await expect(page).toHaveURL(/\/deploy$/, { timeout: 90_000 });
  await expect(page.getByTestId("signed-in-wallet")).toHaveAttribute("title", renter.publicKey.toBase58());

  // Configure: H100 (the default), 8 GPUs, the region with the most free H100s, 2 hours, USDC.
  const { markets } = (await (await request.get("/api/v1/availability")).json()) as { markets: { gpuModelId: string; region: string; freeGpus: number }[] };
  const best = markets.filter((m) => m.gpuModelId === "h100-80gb").sort((a, b) => b.freeGpus - a.freeGpus)[0]!;
  expect(best.freeGpus).toBeGreaterThanOrEqual(8);
  await page.getByLabel("Name").fill("e2e-h100");
  await expect(page.getByRole("checkbox", { name: /H100 80GB/ })).toBeChecked();
  await page.getByTestId("region-options").getByRole("checkbox", { name: new RegExp(`^${region(best.region)!.name} `) }).check();
  await page.getByRole("spinbutton", { name: /^GPUs/ }).fill("8");
  await expect(page.getByTestId("form-status")).toHaveText("Ready for a quote.");
  await noSeriousA11yViolations(page);
  await page.getByTestId("get-quote").click();
  const quote = page.getByTestId("quote");
  await expect(quote).toBeVisible({ timeout: 20_000 });
  await expect(page.getByTestId("hyperscaler")).toContainText("you save");
  await expect(page.getByTestId("hold")).toContainText("Devices held for");
  await shot(page, info, "2-quote");
  await noSeriousA11yViolations(page);

  // Pay: the server builds open_lease, the wallet signs, the page confirms and opens the cluster.
  await page.getByTestId("pay").click();
  await expect(page).toHaveURL(/\/clusters\/[0-9a-f-]{36}$/, { timeout: 90_000 });
  const clusterId = page.url().split("/").at(-1)!;
  await expect(page.getByTestId("cluster-status")).toHaveText("running", { timeout: 30_000 });
  await expect(page.getByTestId("node-row").first()).toBeVisible();
  await expect(page.getByTestId("receipt-deposit")).toBeVisible();
  await shot(page, info, "3-running");
  await noSeriousA11yViolations(page);
  const view = async () => (await (await page.request.get(new URL(`/api/v1/clusters/${clusterId}`, page.url()).toString())).json()) as { status: string; pricePerSecond: string; gpuCount: number; receipts: { kind: string; amount: string }[]; settled: string; endsAt: string; usage: { amount: string }[] };
  const paid = await view();
  expect(paid.gpuCount).toBe(8);
  const deposit = BigInt(paid.receipts.find((r) => r.kind === "DEPOSIT")!.amount);
  expect(await usdc(usdcAccount)).toBe(start - deposit);

  // Extend by one hour at the same price.
  await page.getByTestId("extend-hours").fill("1");
  await page.getByTestId("extend").click();
  await expect(page.getByTestId("extend-status")).toContainText("Extended", { timeout: 250_000 });
  const extended = await view();
  const extension = BigInt(extended.receipts.find((r) => r.kind === "EXTENSION")!.amount);
  expect(extension).toBe(BigInt(paid.pricePerSecond) * 3_600n);
  expect(Date.parse(extended.endsAt) - Date.parse(paid.endsAt)).toBe(3_600_000);
  expect(await usdc(usdcAccount)).toBe(start - deposit - extension);

  // Terminate: served time is paid, the rest comes back on-chain.
  await page.getByTestId("terminate").click();
  await page.getByTestId("confirm-terminate").click();
  await expect(page.getByTestId("ending").or(page.getByTestId("ended"))).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId("receipt-refund")).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId("cluster-status")).toHaveText("ended", { timeout: 30_000 });
  await shot(page, info, "4-ended");
  const ended = await view();
  const refund = BigInt(ended.receipts.find((r) => r.kind === "REFUND")!.amount);
  expect(refund).toBeGreaterThan(0n);
  expect(await usdc(usdcAccount)).toBe(start - deposit - extension + refund);
  // What left the wallet is exactly what the ledger billed for the time served.
  expect(deposit + extension - refund).toBe(BigInt(ended.settled));
  // The served time, hour by hour: a chart, and the exact figures beneath it.
  expect(ended.usage.length).toBeGreaterThan(0);
  await expect(page.getByTestId("usage-chart")).toBeVisible();
  await expect(page.getByTestId("usage-chart").locator(".recharts-bar-rectangle").first()).toBeAttached();
  await expect(page.getByTestId("usage-table").locator("tbody tr")).toHaveCount(ended.usage.length);

  await page.goto("/clusters");
  await expect(page.getByTestId("cluster-row").filter({ hasText: "e2e-h100" })).toContainText("ended");
  await noSeriousA11yViolations(page);
  expect(errors).toEqual([]);
});


test("a container workload: the command runs as typed, shell syntax says so, and only devices that run images are counted", async ({ page, request }) => {
  test.setTimeout(240_000);
  const renter = Keypair.generate();
  await fundRenter(E2E_LOCALNET_URL, renter, { sol: 1, usdc: 10n * USDC });
  await installTestWallet(page, renter.secretKey, { rpcUrl: E2E_LOCALNET_URL });
  await page.goto("/deploy");
  await page.getByRole("button", { name: /GPUMesh Test Wallet/ }).click();
  await expect(page).toHaveURL(/\/deploy$/, { timeout: 90_000 });

  await page.getByRole("radio", { name: /^Containers/ }).check();
  await expect(page.getByTestId("image-availability")).toHaveCount(0);
  await page.getByTestId("workload-image").fill("ghcr.io/acme/train:2");
  await expect(page.getByTestId("image-availability")).toBeVisible();
  // The H100 line counts the free GPUs on devices that run images, as the API says.
  const { markets } = (await (await request.get("/api/v1/availability")).json()) as { markets: { gpuModelId: string; region: string; segments: { runsImages: boolean; freeGpus: number; connectivityTier: string; securityTier: string; network: string }[] }[] };
  const h100 = markets.filter((m) => m.gpuModelId === "h100-80gb").map((m) => ({ ...m, imageGpus: m.segments.filter((s) => s.runsImages).reduce((sum, s) => sum + s.freeGpus, 0) }));
  const imageGpus = h100.reduce((sum, m) => sum + m.imageGpus, 0);
  expect(imageGpus).toBeGreaterThan(0);
  await expect(page.getByTestId("model-options").locator("label", { hasText: "H100 80GB" })).toContainText(`${imageGpus} free`);

  const best = h100.sort((a, b) => b.imageGpus - a.imageGpus)[0]!;
  await page.getByTestId("region-options").getByRole("checkbox", { name: new RegExp(`^${region(best.region)!.name} `) }).check();
  expect(best.imageGpus).toBeGreaterThanOrEqual(8);
  await page.getByRole("spinbutton", { name: /^GPUs/ }).fill("8");

  // Every other option says what it would leave free, counted the way the matcher filters.
  const inBest = best.segments.filter((s) => s.runsImages);
  const hint = (gpus: number) => (gpus === 0 ? "none free with your other choices" : `${gpus} free with your other choices`);
  const sum = (segments: typeof inBest) => segments.reduce((total, s) => total + s.freeGpus, 0);
  await expect(page.getByTestId("tier-options").locator("label", { hasText: "Ultra-high" })).toContainText(hint(sum(inBest.filter((s) => s.connectivityTier === "ULTRA_HIGH"))));
  await expect(page.getByTestId("security-options").locator("label", { hasText: "Compliance-grade" })).toContainText(hint(sum(inBest.filter((s) => s.securityTier === "COMPLIANCE"))));
  await expect(page.getByTestId("network-options").locator("label", { hasText: "Render" })).toContainText(hint(sum(inBest.filter((s) => s.network === "RENDER"))));
  // Leaving out GPUMesh's own suppliers changes what the region offers.
  await page.getByTestId("network-options").getByRole("checkbox", { name: /^GPUMesh/ }).uncheck();
  const others = sum(inBest.filter((s) => s.network !== "GPUMESH"));
  await expect(page.getByTestId("region-options").locator("label", { hasText: region(best.region)!.name })).toContainText(others ? `${others} matching GPUs free` : "no matching GPU free");
  await page.getByTestId("network-options").getByRole("checkbox", { name: /^GPUMesh/ }).check();

  const command = page.getByTestId("workload-command");
  const preview = page.getByTestId("command-preview");
  await command.fill('torchrun --nproc-per-node 8 "my dir/train.py"');
  await expect(preview).toHaveText('Runs directly, no shell: "torchrun" "--nproc-per-node" "8" "my dir/train.py"');
  await command.fill("pip install -r req.txt && python train.py");
  await expect(preview).toHaveText("Runs with sh -c (it uses shell syntax), so the image needs /bin/sh.");
  await command.fill("python -c 'print(1)");
  await expect(preview).toHaveText("Command: a single quote is not closed.");
  await expect(page.getByTestId("form-status")).toHaveText("Command: a single quote is not closed.");
  await expect(page.getByTestId("get-quote")).toBeDisabled();
  await noSeriousA11yViolations(page);

  // Quoted: the server keeps the arguments exactly as previewed.
  await command.fill('torchrun --nproc-per-node 8 "my dir/train.py"');
  const quoted = page.waitForResponse((response) => response.url().endsWith("/api/v1/quotes") && response.request().method() === "POST");
  await page.getByTestId("get-quote").click();
  const response = await quoted;
  expect(response.status()).toBe(201);
  const body = (await response.json()) as { workload?: { image: string; command: string[] | null } };
  expect(body.workload).toMatchObject({ image: "ghcr.io/acme/train:2", command: ["torchrun", "--nproc-per-node", "8", "my dir/train.py"] });
  await expect(page.getByTestId("quote")).toBeVisible();
});

test("a bare-metal machine: Kubernetes is listed but not offered, the SSH key is required, and the running cluster shows the command to log in", async ({ page, request }, info) => {
  test.setTimeout(300_000);
  const renter = Keypair.generate();
  await fundRenter(E2E_LOCALNET_URL, renter, { sol: 1, usdc: 1_000n * USDC });
  await installTestWallet(page, renter.secretKey, { rpcUrl: E2E_LOCALNET_URL });
  await page.goto("/deploy");
  await page.getByRole("button", { name: /GPUMesh Test Wallet/ }).click();
  await expect(page).toHaveURL(/\/deploy$/, { timeout: 90_000 });

  // No agent assembles Kubernetes yet: it says so and cannot be chosen.
  const kubernetes = page.getByRole("radio", { name: /^Kubernetes/ });
  await expect(kubernetes).toBeDisabled();
  await expect(page.locator("label", { has: kubernetes })).toContainText("Not offered yet");

  await page.getByRole("radio", { name: /^Bare metal/ }).check();
  await expect(page.getByTestId("workload-fields")).toHaveCount(0);
  // Models with nothing free are listed on request only (most of the catalogue, most of the time).
  const models = page.getByTestId("model-options").locator("label");
  await expect(models.filter({ hasText: "none free right now" })).toHaveCount(0);
  await page.getByTestId("toggle-none-free").click();
  await expect(models.filter({ hasText: "none free right now" }).first()).toBeVisible();
  await expect(models.filter({ hasText: "none free right now" }).first().getByRole("checkbox")).toBeDisabled();
  await page.getByTestId("toggle-none-free").click();
  await expect(models.filter({ hasText: "none free right now" })).toHaveCount(0);
  const { markets } = (await (await request.get("/api/v1/availability")).json()) as { markets: { gpuModelId: string; region: string; segments: { runsImages: boolean; freeGpus: number }[] }[] };
  const best = markets
    .filter((m) => m.gpuModelId === "h100-80gb")
    .map((m) => ({ ...m, imageGpus: m.segments.filter((s) => s.runsImages).reduce((sum, s) => sum + s.freeGpus, 0) }))
    .sort((a, b) => b.imageGpus - a.imageGpus)[0]!;
  expect(best.imageGpus).toBeGreaterThanOrEqual(8);
  await page.getByTestId("region-options").getByRole("checkbox", { name: new RegExp(`^${region(best.region)!.name} `) }).check();
  await page.getByRole("spinbutton", { name: /^GPUs/ }).fill("8");
  await expect(page.getByTestId("form-status")).toHaveText("Paste your SSH public key: it is how you log in to a bare-metal node.");
  await expect(page.getByTestId("get-quote")).toBeDisabled();

  // A private key pasted by mistake is refused by the server, naming the field.
  const key = page.getByTestId("machine-ssh-key");
  await key.fill("-----BEGIN OPENSSH PRIVATE KEY-----");
  await page.getByTestId("get-quote").click();
  await expect(page.getByTestId("quote-error")).toContainText("OpenSSH public key");
  await key.fill("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq4 e2e@laptop");
  await expect(page.getByTestId("image-availability")).toContainText("a machine runs as one");
  await noSeriousA11yViolations(page);
  await page.getByTestId("get-quote").click();
  await expect(page.getByTestId("quote")).toBeVisible({ timeout: 20_000 });
  await page.getByTestId("pay").click();
  await expect(page).toHaveURL(/\/clusters\/[0-9a-f-]{36}$/, { timeout: 90_000 });
  await expect(page.getByTestId("cluster-status")).toHaveText("running", { timeout: 30_000 });
  await expect(page.getByTestId("workload")).toContainText("the suppliers' machine image (SSH)");
  // Every node reports where its SSH server answers, shown as the command to paste (the dev
  // network's simulated agents report a reserved .invalid name; a real agent its host and port).
  const commands = page.getByTestId("ssh-command");
  await expect(commands.first()).toBeVisible({ timeout: 30_000 });
  for (const text of await commands.allTextContents()) expect(text).toMatch(/^ssh (-p \d+ )?root@[\w.-]+$/);
  await shot(page, info, "10-bare-metal");
  await noSeriousA11yViolations(page);

  // Give the GPUs back for the tests after this one.
  await page.getByTestId("terminate").click();
  await page.getByTestId("confirm-terminate").click();
  await expect(page.getByTestId("cluster-status")).toHaveText("ended", { timeout: 90_000 });
});
