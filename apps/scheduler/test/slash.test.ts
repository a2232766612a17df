import { ChainIndexer, fetchDeviceStake, requiredStake } from "@gpumesh/chain";
import { bootstrapLocalnet, buildLocalnet, devSupplierKeypair, stakeDevices, startLocalnet, supplierChainIdentity, type LocalnetAccounts, type RunningLocalnet } from "@gpumesh/chain/localnet";
import { PrismaChainIndexStore } from "@gpumesh/chain/store";
import { deviceStakeWeightBps } from "@gpumesh/core";
import { createDb, seedSimulatedNetwork, type Db } from "@gpumesh/db";
import { createTestDatabase, testRedis, type TestDatabase } from "@gpumesh/devstack";
import { QueueEvents } from "bullmq";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SimulatedAgentChannel, type SimulatedVerification } from "../src/agents.ts";
import { createChainContext } from "../src/chain-context.ts";
import { loadSchedulerEnv } from "../src/env.ts";
import { challengeEvidence, slashForChallenge } from "../src/jobs/slash.ts";
import { startScheduler, type RunningScheduler } from "../src/scheduler.ts";
import { waitFor } from "./helpers.ts";

// Automatic slashing end to end: staked devices on a real localnet, simulated agents that really
// compute the GEMM (or cheat), the verify and settle queues on real Redis. A device that commits to a
// wrong product, or opens rows of another matrix, has its stake slashed once, by the amount SLASH_BPS
// says, with the hash of the challenge's evidence on-chain; the MESH supply falls by exactly that. A
// device that only answers implausibly (a timing failure) or honestly keeps its stake.

const SUPPLIERS = 3;
let localnet: RunningLocalnet;
let chain: LocalnetAccounts;
let database: TestDatabase;
let db: Db;
let scheduler: RunningScheduler;
let env: ReturnType<typeof loadSchedulerEnv>;
const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

beforeAll(async () => {
  await buildLocalnet();
  localnet = await startLocalnet();
  chain = await bootstrapLocalnet(localnet.connection);
  database = await createTestDatabase("slash");
  db = createDb(database.url);
  await seedSimulatedNetwork(db, { suppliers: SUPPLIERS, devices: 12, supplierIdentity: (index) => supplierChainIdentity(devSupplierKeypair(index).publicKey) });
  const keys = new Map(Array.from({ length: SUPPLIERS }, (_, i) => devSupplierKeypair(i)).map((key) => [key.publicKey.toBase58(), key]));
  const devices = await db.device.findMany({ where: { gpuCount: { gt: 0 }, gpuModelId: { not: null } }, select: { id: true, gpuModelId: true, gpuCount: true, supplier: { select: { account: { select: { walletAddress: true } } } } } });
  await stakeDevices(localnet.connection, chain, devices.map((d) => ({ authority: keys.get(d.supplier.account.walletAddress)!, deviceId: d.id, weightBps: deviceStakeWeightBps(d.gpuModelId, d.gpuCount) })));
  const redis = testRedis();
  env = loadSchedulerEnv({
    DATABASE_URL: database.url, REDIS_URL: redis.url, QUEUE_PREFIX: redis.prefix, LOG_LEVEL: "silent",
    SOLANA_RPC_URL: localnet.url, SETTLEMENT_AUTHORITY_KEYPAIR: "dev", REWARDS_AUTHORITY_KEYPAIR: "dev",
    VERIFY_MATRIX_SIZE: "64", VERIFY_SAMPLED_ROWS: "4", VERIFY_DEADLINE_S: "20", VERIFY_EVERY_S: "3600", SLASH_BPS: "2500",
  });
}, 900_000);

afterAll(async () => {
  await scheduler?.stop();
  await db?.$disconnect();
  await database?.drop();
  await localnet?.stop();
});

const supply = async () => BigInt((await localnet.connection.getTokenSupply(chain.meshMint)).value.amount);

describe("slashing on proven cheating", () => {
  it("slashes a wrong result and a wrong root once each (a quarter of the required stake, burned), never a timing failure or an honest device", async () => {
    const devices = await db.device.findMany({ where: { gpuCount: { gt: 0 }, gpuModelId: { not: null } }, orderBy: { name: "asc" }, take: 4 });
    const [honest, cheater, garbage, liar] = devices.map((d) => d.id) as [string, string, string, string];
    await db.device.updateMany({ where: { id: { notIn: devices.map((d) => d.id) } }, data: { status: "OFFLINE" } });
    await db.device.updateMany({ where: { id: { in: devices.map((d) => d.id) } }, data: { status: "ONLINE", lastHeartbeatAt: new Date(), verificationScoreBps: 9_000, nextChallengeAt: new Date() } });
    const behaviours = new Map<string, SimulatedVerification>([
      [cheater, { kind: "wrong-rows" }],
      [garbage, { kind: "garbage-commitment" }],
      [liar, { kind: "honest", elapsedMs: 3_600_000 }],
    ]);
    const agents = new SimulatedAgentChannel(undefined, { verification: (c) => behaviours.get(c.deviceId) ?? { kind: "honest" } });
    const stakeOf = async (deviceId: string) => (await fetchDeviceStake(localnet.connection, deviceId))!;
    const before = new Map(await Promise.all(devices.map(async (d) => [d.id, await stakeOf(d.id)] as const)));
    const supplyBefore = await supply();

    scheduler = await startScheduler(env, silent, { sweeps: false, agents });
    const events = new QueueEvents("verify", { connection: { url: env.REDIS_URL }, prefix: env.QUEUE_PREFIX });
    await events.waitUntilReady();
    try {
      await (await scheduler.queues.verify.add("sweep", {}, { jobId: "test-sweep/slash" })).waitUntilFinished(events);
      await waitFor("the four challenges closed", async () => (await db.verificationChallenge.count({ where: { status: { not: "PENDING" } } })) === 4, 30_000);
      const slashedOf = async (deviceId: string) => before.get(deviceId)!.amount - (await stakeOf(deviceId)).amount;
      const quarter = (deviceId: string) => before.get(deviceId)!.required / 4n;
      await waitFor("both cheaters slashed", async () => (await slashedOf(cheater)) > 0n && (await slashedOf(garbage)) > 0n, 30_000);

      expect(await slashedOf(cheater)).toBe(quarter(cheater));
      expect(await slashedOf(garbage)).toBe(quarter(garbage));
      expect(await slashedOf(honest)).toBe(0n);
      expect(await slashedOf(liar)).toBe(0n);
      expect(before.get(cheater)!.required).toBe(requiredStake(deviceStakeWeightBps(devices[1]!.gpuModelId, devices[1]!.gpuCount)));
      // Burned: the supply falls by exactly what was slashed.
      expect(await supply()).toBe(supplyBefore - quarter(cheater) - quarter(garbage));

      // The evidence's hash is on-chain with the slash; the indexer mirrors it, and the rewards epoch
      // now finds the stake below the required amount.
      await new ChainIndexer(localnet.connection, new PrismaChainIndexStore(db, chain.meshMint), { programId: chain.programId }).catchUp();
      const challenge = await db.verificationChallenge.findFirstOrThrow({ where: { deviceId: cheater } });
      const slash = await db.chainEvent.findFirstOrThrow({ where: { name: "DeviceStakeSlashed", data: { path: ["evidenceHash"], equals: Buffer.from(challengeEvidence(challenge).hash).toString("hex") } } });
      expect(slash.data).toMatchObject({ reason: "FailedProof", amount: quarter(cheater).toString() });
      expect(await db.deviceStake.findUniqueOrThrow({ where: { deviceId: cheater } })).toMatchObject({ slashedTotal: quarter(cheater), amount: before.get(cheater)!.amount - quarter(cheater) });

      // Once per challenge: running the slash again (a retried job) finds the slash record of this
      // evidence on-chain (the program would refuse a second slash with it) and sends nothing.
      const chainContext = createChainContext(env)!;
      const again = await slashForChallenge({ db, chain: chainContext, logger: silent, slashBps: 2_500 }, challenge.id);
      expect(again).toMatchObject({ state: "already-slashed", amount: quarter(cheater).toString(), slot: slash.slot.toString() });
      const timing = await db.verificationChallenge.findFirstOrThrow({ where: { deviceId: liar } });
      expect(await slashForChallenge({ db, chain: chainContext, logger: silent, slashBps: 2_500 }, timing.id)).toMatchObject({ state: "not-slashable" });
      expect(await supply()).toBe(supplyBefore - quarter(cheater) - quarter(garbage));
    } finally {
      await events.close();
    }
  });
});
