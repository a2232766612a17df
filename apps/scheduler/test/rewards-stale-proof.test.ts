import { ix, ProgramError, sendInstructions } from "@gpumesh/chain";
import { airdrop, bootstrapLocalnet, buildLocalnet, ensureTokenAccount, startLocalnet, tokenBalance, warpClock, type LocalnetAccounts, type RunningLocalnet } from "@gpumesh/chain/localnet";
import { createDb, rewardClaimFor, seedSimulatedNetwork, writeMirroredStakes, type Db, type RewardClaimProof } from "@gpumesh/db";
import { createTestDatabase, testRedis, type TestDatabase } from "@gpumesh/devstack";
import { Keypair } from "@solana/web3.js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createChainContext, readProgramConfig } from "../src/chain-context.ts";
import { loadSchedulerEnv } from "../src/env.ts";
import { runRewardEpoch, type RewardsDeps } from "../src/jobs/rewards.ts";

// "A proof fetched just before a new root still claims" (issue #12), end to end: the scheduler's own
// rewards job posts each hour's root on a real localnet, proofs come from `rewardClaimFor` (what
// GET /api/v1/rewards/{wallet}/proof and the claim button use), and the claims are real wallet
// transactions. The program keeps the previous root for one epoch after a post: an old proof claims
// after the next post, and is refused after the one after. (The program's own rule is also tested
// in Rust: programs/gpumesh/tests/rewards.rs, a_proof_fetched_just_before_a_post_still_works_for_one_epoch.)
let localnet: RunningLocalnet;
let chain: LocalnetAccounts;
let database: TestDatabase;
let db: Db;
let deps: RewardsDeps;
let warped = 0;
const HOUR = 3_600_000;
const early = Keypair.generate();
const late = Keypair.generate();

beforeAll(async () => {
  await buildLocalnet();
  localnet = await startLocalnet();
  // Hour 1 is complete.
  chain = await bootstrapLocalnet(localnet.connection, { emissionStart: Math.floor(Date.now() / 1000) - 3_600 - 60 });
  database = await createTestDatabase("rewards_stale_proof");
  db = createDb(database.url);
  await seedSimulatedNetwork(db, { suppliers: 4, devices: 16 });
  await db.device.updateMany({ data: { status: "ONLINE", lastHeartbeatAt: new Date(), verificationScoreBps: 9_000, createdAt: new Date(Date.now() - 5 * HOUR) } });
  await db.deviceOutage.deleteMany();
  // Every device staked its required MESH, as the indexer mirrors it (the stake itself is chain/test/stake-index.test.ts).
  await writeMirroredStakes(db);
  // Two suppliers with GPUs, paid to wallets this test holds.
  const suppliers = await db.$queryRaw<{ account_id: string }[]>`
    select s.account_id from supplier s where exists (select 1 from device d where d.supplier_id = s.id and d.gpu_count > 0) order by s.id limit 2`;
  expect(suppliers).toHaveLength(2);
  await db.account.update({ where: { id: suppliers[0]!.account_id }, data: { walletAddress: early.publicKey.toBase58() } });
  await db.account.update({ where: { id: suppliers[1]!.account_id }, data: { walletAddress: late.publicKey.toBase58() } });
  const redis = testRedis();
  const env = loadSchedulerEnv({ DATABASE_URL: database.url, REDIS_URL: redis.url, QUEUE_PREFIX: redis.prefix, LOG_LEVEL: "silent", SOLANA_RPC_URL: localnet.url, SETTLEMENT_AUTHORITY_KEYPAIR: "dev", REWARDS_AUTHORITY_KEYPAIR: "dev" });
  deps = { db, chain: createChainContext(env)!, logger: pino({ level: "silent" }), minVerificationScoreBps: 5_000, now: () => new Date(Date.now() + warped * 1000) };
}, 900_000);

afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
  await localnet?.stop();
});

async function nextHourPosted(epoch: number) {
  if (epoch > 1) {
    warped += 3_600;
    await warpClock(localnet.url, 3_600);
  }
  expect(await runRewardEpoch(deps, epoch)).toMatchObject({ epoch, status: "posted" });
  expect((await readProgramConfig(localnet.connection)).rewardEpoch).toBe(BigInt(epoch));
}

/** Sends claim_rewards with `proof` as the wallet; what the wallet received. */
async function claim(wallet: Keypair, proof: RewardClaimProof): Promise<bigint> {
  await airdrop(localnet.connection, wallet.publicKey, 1);
  const token = await ensureTokenAccount(localnet.connection, chain.admin, chain.meshMint, wallet.publicKey);
  const before = await tokenBalance(localnet.connection, token);
  const siblings = proof.proof.map((h) => Uint8Array.from(Buffer.from(h, "hex")));
  await sendInstructions(localnet.connection, [ix.claimRewards(wallet.publicKey, chain.meshMint, token, proof.cumulative, siblings)], [wallet]);
  return (await tokenBalance(localnet.connection, token)) - before;
}

describe("claims against the previous root", () => {
  it("a proof fetched just before a new root still claims; after a second newer root it is refused", async () => {
    await nextHourPosted(1);
    // Both wallets fetch their proofs for epoch 1 …
    const earlyProof1 = (await rewardClaimFor(db, early.publicKey.toBase58()))!;
    const lateProof1 = (await rewardClaimFor(db, late.publicKey.toBase58()))!;
    expect(earlyProof1).toMatchObject({ epoch: 1 });
    expect(earlyProof1.cumulative).toBeGreaterThan(0n);
    expect(lateProof1.cumulative).toBeGreaterThan(0n);

    // … then the next hour's root is posted before they send.
    await nextHourPosted(2);
    const lateProof2 = (await rewardClaimFor(db, late.publicKey.toBase58()))!;
    expect(lateProof2.epoch).toBe(2);
    expect(lateProof2.cumulative).toBeGreaterThan(lateProof1.cumulative);
    // The epoch-1 proof still pays its epoch-1 amount.
    expect(await claim(early, earlyProof1)).toBe(earlyProof1.cumulative);

    // One more post: epoch 1's root is gone, an epoch-1 proof is refused and pays nothing …
    await nextHourPosted(3);
    await expect(claim(late, lateProof1)).rejects.toSatisfy((error) => error instanceof ProgramError && error.errorName === "InvalidProof");
    // … while the epoch-2 proof (now the previous root) still claims, and the current one pays the rest.
    expect(await claim(late, lateProof2)).toBe(lateProof2.cumulative);
    const lateProof3 = (await rewardClaimFor(db, late.publicKey.toBase58()))!;
    expect(lateProof3.epoch).toBe(3);
    expect(await claim(late, lateProof3)).toBe(lateProof3.cumulative - lateProof2.cumulative);
  });
});
