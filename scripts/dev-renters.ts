// `pnpm dev`'s demand: simulated renters that rent, extend and terminate through the public API with
// real signed transactions, so the explorer's numbers move on a dev network. Each renter has a
// deterministic dev wallet (published keys: dev only), funded from localnet's dev USDC authority.
//
//   node --import tsx scripts/dev-renters.ts --web http://127.0.0.1:3000 --rpc http://127.0.0.1:8899 --renters 4
//   … --once   one renter rents one GPU, extends it an hour, terminates it, prints what happened as JSON
import { createHash } from "node:crypto";
import { parseArgs } from "node:util";
import { associatedTokenAddress } from "@gpumesh/chain";
import { airdrop, fundTokens, localnetAccounts, tokenBalance } from "@gpumesh/chain/localnet";
import { SeededRandom } from "@gpumesh/core";
import { Connection, Keypair, LAMPORTS_PER_SOL } from "@solana/web3.js";
import { ApiClient, ApiRefusal } from "./demand/client.ts";
import type { Market } from "./demand/policy.ts";
import { RUNNING_STATES, SimulatedRenter, TERMINAL, waitForCluster } from "./demand/renter.ts";

const { values } = parseArgs({
  options: {
    web: { type: "string", default: "http://127.0.0.1:3000" },
    rpc: { type: "string", default: "http://127.0.0.1:8899" },
    renters: { type: "string", default: "4" },
    /** The first dev renter wallet's index (a second generator, or a test, uses others). */
    first: { type: "string", default: "0" },
    /** Mean seconds between one renter's looks at the market. */
    pace: { type: "string", default: "40" },
    once: { type: "boolean", default: false },
  },
});
const count = Number(values.renters);
const first = Number(values.first);
const paceS = Number(values.pace);
for (const [name, value] of [["renters", count], ["first", first], ["pace", paceS]] as const) {
  if (!Number.isInteger(value) || value < 0 || (name === "pace" && value < 1)) throw new Error(`--${name} must be a whole number${name === "pace" ? " ≥ 1" : ""}`);
}

/** Dev renter wallet `index`: a published, deterministic key (never use on a real network). */
function devRenterKeypair(index: number): Keypair {
  return Keypair.fromSeed(createHash("sha256").update(`gpumesh-dev-renter:${index}`).digest());
}

const connection = new Connection(values.rpc, "confirmed");
const accounts = localnetAccounts();
const USDC = 1_000_000n;

/** Tops the wallet up to 5,000 dev USDC (and SOL for fees and rent) when it runs low. */
async function fund(keypair: Keypair): Promise<void> {
  if ((await connection.getBalance(keypair.publicKey)) < LAMPORTS_PER_SOL) await airdrop(connection, keypair.publicKey, 5);
  const account = associatedTokenAddress(accounts.usdcMint, keypair.publicKey);
  const balance = await tokenBalance(connection, account).catch(() => 0n);
  if (balance < 500n * USDC) await fundTokens(connection, accounts, accounts.usdcMint, keypair.publicKey, 5_000n * USDC - balance);
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
  });

const describe = (error: unknown) => (error instanceof ApiRefusal ? `${error.code}${error.field ? ` (${error.field})` : ""}: ${error.message}` : error instanceof Error ? error.message : String(error));

async function once(): Promise<void> {
  const keypair = devRenterKeypair(first);
  await fund(keypair);
  const api = new ApiClient(values.web, keypair);
  await api.signIn();
  const renter = new SimulatedRenter(api, new SeededRandom(first), () => undefined);
  const before = await tokenBalance(connection, associatedTokenAddress(accounts.usdcMint, keypair.publicKey));
  const { markets } = await api.get<{ markets: Market[] }>("/api/v1/availability");
  const attempts = markets
    .filter((m) => m.pricePerGpuHour !== null && m.freeGpus > 0)
    .sort((a, b) => Number(BigInt(a.pricePerGpuHour!) - BigInt(b.pricePerGpuHour!)))
    .slice(0, 8)
    .map((m) => ({ gpuModelIds: [m.gpuModelId], regions: [m.region] }));
  const paid = await renter.rent({ gpuCount: 1, durationHours: 1, attempts });
  if (!paid) throw new Error("no market could serve one GPU");
  await waitForCluster(renter, paid.clusterId, (view) => RUNNING_STATES.has(view.status), 180_000);
  await renter.extend(paid.clusterId, 1);
  await renter.terminate(paid.clusterId);
  const ended = await waitForCluster(renter, paid.clusterId, (view) => TERMINAL.has(view.status) && view.receipts.some((r) => r.kind === "REFUND"), 240_000);
  const after = await tokenBalance(connection, associatedTokenAddress(accounts.usdcMint, keypair.publicKey));
  console.log(JSON.stringify({ wallet: keypair.publicKey.toBase58(), clusterId: paid.clusterId, status: ended.status, receipts: ended.receipts, usdcBefore: before.toString(), usdcAfter: after.toString() }));
}

async function live(): Promise<void> {
  const stop = new AbortController();
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => stop.abort());
  await Promise.all(
    Array.from({ length: count }, async (_, offset) => {
      const index = first + offset;
      const keypair = devRenterKeypair(index);
      const random = new SeededRandom(0x5eed + index);
      const say = (line: string) => console.log(`renter ${index}: ${line}`);
      const renter = new SimulatedRenter(new ApiClient(values.web, keypair), random, say);
      // Staggered, so the renters do not all arrive in the same second.
      await sleep(random.int(2, 15) * 1_000, stop.signal);
      let ready = false;
      while (!stop.signal.aborted) {
        try {
          if (!ready) {
            await fund(keypair);
            await renter.api.signIn();
            ready = true;
            say(`signed in as ${renter.api.address}`);
          }
          await renter.step();
          await sleep(random.int(Math.ceil(paceS / 2), Math.ceil((paceS * 3) / 2)) * 1_000, stop.signal);
        } catch (error) {
          // The network said no (or is still starting): say why in one line, and try again later.
          say(`${describe(error)}; trying again in 30 s`);
          await sleep(30_000, stop.signal);
        }
      }
    }),
  );
}

if (values.once) await once();
else {
  console.log(`${count} simulated renters on ${values.web} (dev wallets ${first}…${first + count - 1})`);
  await live();
}
