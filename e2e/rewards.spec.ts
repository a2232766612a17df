import { noSeriousA11yViolations } from "./a11y.ts";
import { associatedTokenAddress } from "@gpumesh/chain";
import { airdrop, devSupplierKeypair, localnetAccounts } from "@gpumesh/chain/localnet";
import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import { Connection, Keypair, type PublicKey } from "@solana/web3.js";
import { E2E_LOCALNET_URL } from "./playwright.config.ts";
import { installTestWallet } from "./wallet/index.ts";

// Rewards in a real browser against `pnpm dev`: emission started 58 minutes before the chain was
// bootstrapped, so the first hourly epoch ends a couple of minutes after the seeded devices' agents
// connect; the scheduler computes it from their real uptime and verification, posts its root on
// localnet, and a seeded supplier (its deterministic dev key in the test wallet) signs in, reads
// the breakdown, claims everything in one transaction and sees its MESH balance rise by exactly
// what was owed. A second claim is refused.

const SEEDED_SUPPLIERS = 48;

interface WalletRewards {
  claimable: string;
  posted: { epoch: number; cumulative: string } | null;
  epochs: { items: { epoch: number; pool: string; totalWeight: string; devices: { weight: string; amount: string; reason: string }[] }[] };
}

async function signIn(page: Page, key: Keypair) {
  await installTestWallet(page, key.secretKey, { rpcUrl: E2E_LOCALNET_URL });
  // The first visit compiles the page under `next dev` (minutes on a busy machine).
  await page.goto("/rewards", { timeout: 420_000 });
  await expect(page).toHaveURL(/\/sign-in\?next=%2Frewards/, { timeout: 240_000 });
  await page.getByRole("button", { name: /GPUMesh Test Wallet/ }).click();
  await expect(page).toHaveURL(/\/rewards$/, { timeout: 240_000 });
}

async function rewardsOf(request: APIRequestContext, wallet: PublicKey): Promise<WalletRewards> {
  const response = await request.get(`/api/v1/rewards/${wallet.toBase58()}`, { timeout: 300_000 });
  expect(response.status(), await response.text()).toBe(200);
  return (await response.json()) as WalletRewards;
}

/**
 * A seeded supplier with something to claim, once the first epoch is posted (the other project may
 * have claimed one already): one request per poll until an epoch is posted, then the suppliers in
 * order (most earned in the first epoch, so this stops after a few).
 */
async function supplierWithRewards(request: APIRequestContext): Promise<{ key: Keypair; rewards: WalletRewards }> {
  await expect
    .poll(
      async () => {
        const response = await request.get("/api/v1/epochs?limit=1", { timeout: 300_000 });
        if (!response.ok()) return "unavailable";
        return ((await response.json()) as { items: { status: string }[] }).items[0]?.status ?? "none";
      },
      { timeout: 420_000, intervals: [5_000], message: "the first reward epoch is posted" },
    )
    .toBe("POSTED");
  for (let index = 0; index < SEEDED_SUPPLIERS; index++) {
    const key = devSupplierKeypair(index);
    const rewards = await rewardsOf(request, key.publicKey);
    if (BigInt(rewards.claimable) > 0n) return { key, rewards };
  }
  throw new Error("no seeded supplier has anything to claim after the first epoch");
}

async function meshBalance(connection: Connection, owner: PublicKey): Promise<bigint> {
  const account = associatedTokenAddress(localnetAccounts().meshMint, owner);
  const info = await connection.getTokenAccountBalance(account, "confirmed").catch(() => null);
  return info ? BigInt(info.value.amount) : 0n;
}

test("a wallet with no rewards yet sees the empty state, the emission schedule and the simulator", async ({ page }) => {
  test.setTimeout(600_000);
  await signIn(page, Keypair.generate());
  await expect(page.getByTestId("no-rewards")).toBeVisible();
  await expect(page.getByTestId("claim-all")).toBeDisabled();
  await expect(page.getByTestId("nothing-to-claim")).toBeVisible();
  await expect(page.getByTestId("emission")).toBeVisible();
  // The simulator recomputes in the browser; a bad setting is named, not plotted.
  const summary = await page.getByTestId("sim-summary").textContent();
  // Typed before hydration (a slow `next dev`), a value is reset by React: type again until it takes.
  await expect(async () => {
    await page.getByTestId("sim-demandM").fill("2000");
    await expect(page.getByTestId("sim-summary")).not.toHaveText(summary!, { timeout: 2_000 });
  }).toPass({ timeout: 120_000 });
  await page.getByTestId("sim-feeBps").fill("20000");
  await expect(page.getByTestId("sim-invalid")).toBeVisible();
  await noSeriousA11yViolations(page);

  // The public API: a bad wallet is 422 naming it; no posted reward is 404; claiming nothing is 409 with its reason.
  const bad = await page.request.get("/api/v1/rewards/not-a-wallet");
  expect(bad.status()).toBe(422);
  expect(((await bad.json()) as { error: { field: string } }).error.field).toBe("wallet");
  expect((await page.request.get(`/api/v1/rewards/${Keypair.generate().publicKey.toBase58()}/proof`)).status()).toBe(404);
  const origin = new URL(page.url()).origin;
  const nothing = await page.request.post("/api/v1/rewards/claim/transaction", { headers: { origin } });
  expect(nothing.status()).toBe(409);
  expect(((await nothing.json()) as { error: { code: string } }).error.code).toBe("NOTHING_TO_CLAIM");
});

test("a seeded supplier reads its per-device breakdown and claims everything in one transaction; a second claim is refused", async ({ page }, info) => {
  test.setTimeout(900_000);
  const connection = new Connection(E2E_LOCALNET_URL, "confirmed");
  const { key, rewards } = await supplierWithRewards(page.request);
  const owed = BigInt(rewards.claimable);
  // Fees, and rent for the claim record and (first claim) the MESH token account the claim creates.
  await airdrop(connection, key.publicKey, 2);
  const before = await meshBalance(connection, key.publicKey);

  // The proof the claim will use is public, and its cumulative is what the tree owes this wallet.
  const proof = (await (await page.request.get(`/api/v1/rewards/${key.publicKey.toBase58()}/proof`)).json()) as { epoch: number; cumulative: string; proof: string[] };
  expect(proof.cumulative).toBe(rewards.posted!.cumulative);

  // Σ of the wallet's per-device rewards over its epochs is what it earned, and each is the formula's result.
  // A device not counted in an hour (listed with its reason) earned nothing in it.
  for (const epoch of rewards.epochs.items) {
    for (const device of epoch.devices) {
      if (device.reason === "EARNED") expect(BigInt(device.amount) - (BigInt(epoch.pool) * BigInt(device.weight)) / BigInt(epoch.totalWeight)).toBeLessThanOrEqual(1n);
      else expect([device.weight, device.amount]).toEqual(["0", "0"]);
    }
  }
  expect(rewards.epochs.items.reduce((sum, e) => sum + e.devices.reduce((s, d) => s + BigInt(d.amount), 0n), 0n)).toBe(BigInt(proof.cumulative));

  await signIn(page, key);
  await expect(page.getByTestId("claimable")).toHaveAttribute("data-units", owed.toString());
  await expect(page.getByTestId("reward-epoch").first()).toBeVisible();
  await expect(page.getByTestId("reward-device").first()).toBeVisible();
  await expect(page.getByTestId("device-amount").first()).toContainText("=");
  await expect(page.getByTestId("emission")).toContainText("Minted on-chain");
  await noSeriousA11yViolations(page);
  await page.screenshot({ path: info.outputPath(`${info.project.name}-rewards.png`), fullPage: true });

  await page.getByTestId("claim-all").click();
  await expect(page.getByTestId("claim-result")).toContainText("Claimed", { timeout: 240_000 });
  const signature = (await page.locator("[data-testid=claim-result] code").textContent())!.trim();
  expect(signature.length).toBeGreaterThan(40);
  // Exactly what was owed, read from localnet.
  expect((await meshBalance(connection, key.publicKey)) - before).toBe(owed);

  // Nothing left: the button is disabled, the server refuses a second claim with its reason, the history shows the claim.
  await page.reload();
  await expect(page.getByTestId("claim-all")).toBeDisabled();
  await expect(page.getByTestId("claimable")).toHaveAttribute("data-units", "0");
  await expect(page.getByTestId("claim-row").filter({ hasText: signature })).toBeVisible();
  const origin = new URL(page.url()).origin;
  const again = await page.request.post("/api/v1/rewards/claim/transaction", { headers: { origin } });
  expect(again.status()).toBe(409);
  expect(((await again.json()) as { error: { code: string } }).error.code).toBe("NOTHING_TO_CLAIM");
  expect(await meshBalance(connection, key.publicKey)).toBe(before + owed);
  await noSeriousA11yViolations(page);
  await page.screenshot({ path: info.outputPath(`${info.project.name}-rewards-claimed.png`), fullPage: true });
});
