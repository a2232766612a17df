import { ix, pdas, sendInstructions } from "@gpumesh/chain";
import { airdrop, bootstrapLocalnet, buildLocalnet, ensureTokenAccount, startLocalnet, tokenBalance as readTokenBalance, warpClock, type LocalnetAccounts, type RunningLocalnet } from "@gpumesh/chain/localnet";
import { cumulativeEmission, epochWindow, hourlyEmission } from "@gpumesh/core";
import { createDb, rewardClaimFor, seedSimulatedNetwork, writeMirroredStakes, type Db } from "@gpumesh/db";
import { createTestDatabase, testRedis, type TestDatabase } from "@gpumesh/devstack";
import { Keypair, type PublicKey } from "@solana/web3.js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readProgramConfig } from "../src/chain-context.ts";
import { loadSchedulerEnv } from "../src/env.ts";
import { runRewardEpoch, type RewardsDeps } from "../src/jobs/rewards.ts";
import { startScheduler, type RunningScheduler } from "../src/scheduler.ts";
import { rpcRecorder, STANDARD_RPC_METHODS, waitFor } from "./helpers.ts";

// The hourly rewards epoch end to end: a real localnet (emission, root, claim), real Postgres
// (uptime from the outage trigger, failed challenges), BullMQ on real Redis.
let localnet: RunningLocalnet;
let chain: LocalnetAccounts;
let database: TestDatabase;
let db: Db;
let scheduler: RunningScheduler;
let rpc: Awaited<ReturnType<typeof rpcRecorder>>;
/** Seconds the chain clock was warped ahead; the scheduler's clock follows it. */
let warped = 0;
const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
const claimant = Keypair.generate();
const HOUR = 3_600_000;

const tokenBalance = (account: PublicKey) => readTokenBalance(localnet.connection, account);

beforeAll(async () => {
  await buildLocalnet();
  localnet = await startLocalnet();
  // Emission started a little over two hours ago: hours 1 and 2 are complete.
  chain = await bootstrapLocalnet(localnet.connection, { emissionStart: Math.floor(Date.now() / 1000) - 2 * 3_600 - 60 });
  database = await createTestDatabase("rewards");
  db = createDb(database.url);
  await seedSimulatedNetwork(db, { suppliers: 6, devices: 40 });
  // Everyone online since well before the epochs, verified.
  await db.device.updateMany({ data: { status: "ONLINE", lastHeartbeatAt: new Date(), verificationScoreBps: 9_000, createdAt: new Date(Date.now() - 5 * HOUR) } });
  // The seed's offline devices got outages (from their last heartbeat, possibly hours ago) that the
  // update above just closed: forget them, this network has been up the whole time.
  await db.deviceOutage.deleteMany();
  // Every device staked its required MESH, as the indexer mirrors it (the stake itself is chain/test/stake-index.test.ts).
  await writeMirroredStakes(db);
  const redis = testRedis();
  rpc = await rpcRecorder(localnet.url);
  const env = loadSchedulerEnv({
    DATABASE_URL: database.url,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: redis.prefix,
    LOG_LEVEL: "silent",
    SOLANA_RPC_URL: rpc.url,
    SETTLEMENT_AUTHORITY_KEYPAIR: "dev",
    REWARDS_AUTHORITY_KEYPAIR: "dev",
  });
  scheduler = await startScheduler(env, silent, { sweeps: false, now: () => new Date(Date.now() + warped * 1000) });
}, 900_000);

afterAll(async () => {
  await scheduler?.stop();
  await rpc?.close();
  await db?.$disconnect();
  await database?.drop();
  await localnet?.stop();
});

/** A device with GPUs, other than `excludeIds`. */
async function deviceOf(where: { excludeIds: string[] }) {
  return db.device.findFirstOrThrow({ where: { id: { notIn: where.excludeIds }, gpuCount: { gt: 0 } }, orderBy: { id: "asc" } });
}

async function claim(cumulative: bigint, proofHex: string[]) {
  await airdrop(localnet.connection, claimant.publicKey, 1);
  const token = await ensureTokenAccount(localnet.connection, chain.admin, chain.meshMint, claimant.publicKey);
  const before = await tokenBalance(token);
  const proof = proofHex.map((h) => Uint8Array.from(Buffer.from(h, "hex")));
  await sendInstructions(localnet.connection, [ix.claimRewards(claimant.publicKey, chain.meshMint, token, cumulative, proof)], [claimant]);
  return (await tokenBalance(token)) - before;
}

describe("rewards epochs", () => {
  it("pays the last completed hour by uptime and verification, posts the root, and the supplier claims it", async () => {
    const window = epochWindow(chain.emissionStart, 2);
    // A device that was offline for 15 minutes of the hour (the trigger records the outage from its heartbeats).
    // Two devices alike (model and GPU count) so that only uptime tells their rewards apart.
    const [pair] = await db.$queryRaw<{ a: string; b: string }[]>`
      select min(id::text) as a, max(id::text) as b from device where gpu_count > 0 group by gpu_model_id, gpu_count having count(*) >= 2 order by 1 limit 1`;
    const flaky = await db.device.findUniqueOrThrow({ where: { id: pair!.a } });
    const steady = await db.device.findUniqueOrThrow({ where: { id: pair!.b } });
    // The steady device's supplier is paid to a wallet this test holds, so it can claim.
    const owner = await db.supplier.findUniqueOrThrow({ where: { id: steady.supplierId } });
    await db.account.update({ where: { id: owner.accountId }, data: { walletAddress: claimant.publicKey.toBase58() } });
    await db.device.update({ where: { id: flaky.id }, data: { status: "OFFLINE", lastHeartbeatAt: new Date(window.start.getTime() + 30 * 60_000) } });
    await db.device.update({ where: { id: flaky.id }, data: { status: "ONLINE", lastHeartbeatAt: new Date(window.start.getTime() + 45 * 60_000) } });
    await db.device.update({ where: { id: flaky.id }, data: { lastHeartbeatAt: new Date() } });
    // One failed a challenge during the hour, one scores under the floor, one has been offline for hours.
    const cheater = await deviceOf({ excludeIds: [flaky.id, steady.id] });
    await db.verificationChallenge.create({
      data: { deviceId: cheater.id, kind: "CPU_GEMM", seed: "ab".repeat(32), matrixSize: 128, status: "FAILED", issuedAt: new Date(window.start.getTime() + 10 * 60_000), deadlineAt: new Date(window.start.getTime() + 11 * 60_000), failureReason: "row 7 does not match" },
    });
    const weak = await deviceOf({ excludeIds: [flaky.id, steady.id, cheater.id] });
    await db.device.update({ where: { id: weak.id }, data: { verificationScoreBps: 3_000 } });
    const gone = await deviceOf({ excludeIds: [flaky.id, steady.id, cheater.id, weak.id] });
    await db.device.update({ where: { id: gone.id }, data: { status: "OFFLINE", lastHeartbeatAt: new Date(Date.now() - 4 * HOUR) } });

    await scheduler.queues.rewards.add("sweep", {});
    const epoch = await waitFor("epoch 2 posted", () => db.rewardEpoch.findFirst({ where: { epoch: 2, status: "POSTED" }, include: { contributions: true, leaves: true } }), 60_000);
    // Hour 1 was never computed (fresh database): its emission rolls into hour 2's pool.
    expect(await db.rewardEpoch.count()).toBe(1);
    expect(epoch.emission).toBe(hourlyEmission(2));
    expect(epoch.cumulativeTotal).toBe(cumulativeEmission(2));
    expect(epoch.contributions.reduce((sum, c) => sum + c.amount, 0n)).toBe(cumulativeEmission(2));
    expect(epoch.leaves.reduce((sum, l) => sum + l.cumulative, 0n)).toBe(cumulativeEmission(2));

    const share = (id: string) => epoch.contributions.find((c) => c.deviceId === id);
    expect(share(flaky.id)?.uptimeBps).toBe(7_500);
    expect(share(steady.id)?.uptimeBps).toBe(10_000);
    const ratio = Number(share(flaky.id)!.amount * 10_000n / share(steady.id)!.amount);
    expect(ratio).toBeGreaterThanOrEqual(7_499);
    expect(ratio).toBeLessThanOrEqual(7_501);
    for (const excluded of [cheater, weak, gone]) expect(share(excluded.id)).toBeUndefined();

    // On-chain: everything due was minted, and the posted root is the stored one.
    const config = await readProgramConfig(localnet.connection);
    expect(config.rewardEpoch).toBe(2n);
    expect(config.rewardTotalCumulative).toBe(cumulativeEmission(2));
    expect(config.emissionMinted).toBeGreaterThanOrEqual(cumulativeEmission(2));
    expect(epoch.postedTxSignature).toMatch(/^[1-9A-HJ-NP-Za-km-z]{64,88}$/);

    // The proof is built on demand from the stored leaves (none is stored).
    const leaf = (await rewardClaimFor(db, claimant.publicKey.toBase58()))!;
    expect(leaf).toMatchObject({ epoch: 2, root: epoch.merkleRoot });
    expect(leaf.cumulative).toBe(epoch.leaves.find((l) => l.claimant === claimant.publicKey.toBase58())?.cumulative);
    expect(leaf.cumulative).toBeGreaterThan(0n);
    expect(await claim(leaf.cumulative, leaf.proof)).toBe(leaf.cumulative);
    // The rewards job used standard JSON-RPC only (it would run against a validator unchanged).
    expect([...rpc.methods].filter((method) => !STANDARD_RPC_METHODS.has(method))).toEqual([]);
  });

  it("computes the next hour on top (cumulative amounts), never twice, and pays only the difference", async () => {
    const deps: RewardsDeps = { db, chain: scheduler.chainContext!, logger: silent, minVerificationScoreBps: 5_000, now: () => new Date(Date.now() + warped * 1000) };
    // Running a posted epoch again changes nothing.
    expect(await runRewardEpoch(deps, 2)).toMatchObject({ epoch: 2, status: "already-posted" });
    const previous = await db.rewardLeaf.findUniqueOrThrow({ where: { epoch_claimant: { epoch: 2, claimant: claimant.publicKey.toBase58() } } });

    warped += 3_600;
    await warpClock(localnet.url, 3_600);
    // Two schedulers racing for the same hour: one tree, one root.
    const runs = await Promise.all([runRewardEpoch(deps, 3), runRewardEpoch(deps, 3)]);
    // Either the second saw the first's root on-chain, or both sent the very same transaction (same
    // key, instructions and blockhash), which landed once: one signature either way.
    expect(runs.some((r) => r.status === "posted")).toBe(true);
    expect(runs.every((r) => r.status === "posted" || r.status === "already-posted")).toBe(true);
    expect(new Set(runs.filter((r) => r.status === "posted").map((r) => r.signature)).size).toBe(1);
    const epoch = await db.rewardEpoch.findUniqueOrThrow({ where: { epoch: 3 }, include: { leaves: true } });
    expect(epoch.status).toBe("POSTED");
    expect(epoch.cumulativeTotal).toBe(cumulativeEmission(3));
    expect((await readProgramConfig(localnet.connection)).rewardEpoch).toBe(3n);

    // Epoch 3 stores leaves only for the claimants it paid; the proof comes from the whole tree.
    expect(epoch.leaves.length).toBe(await db.rewardContribution.groupBy({ by: ["deviceId"], where: { epoch: 3, amount: { gt: 0 } } }).then(async (rows) => new Set((await db.device.findMany({ where: { id: { in: rows.map((r) => r.deviceId) } }, select: { supplierId: true } })).map((d) => d.supplierId)).size));
    const leaf = (await rewardClaimFor(db, claimant.publicKey.toBase58()))!;
    expect(leaf).toMatchObject({ epoch: 3, root: epoch.merkleRoot });
    expect(leaf.cumulative).toBeGreaterThan(previous.cumulative);
    expect(await claim(leaf.cumulative, leaf.proof)).toBe(leaf.cumulative - previous.cumulative);
    // The vault paid exactly what was claimed.
    expect(await tokenBalance(pdas.rewardsVault()[0])).toBe((await readProgramConfig(localnet.connection)).emissionMinted - leaf.cumulative);
  });
});
