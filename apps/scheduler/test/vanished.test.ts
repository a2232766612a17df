import { ChainIndexer, fetchDeviceStake, fetchSlashRecord } from "@gpumesh/chain";
import { bootstrapLocalnet, buildLocalnet, devSupplierKeypair, stakeDevices, startLocalnet, supplierChainIdentity, type LocalnetAccounts, type RunningLocalnet } from "@gpumesh/chain/localnet";
import { PrismaChainIndexStore } from "@gpumesh/chain/store";
import { deviceStakeWeightBps } from "@gpumesh/core";
import { createDb, seedSimulatedNetwork, type Db } from "@gpumesh/db";
import { createTestDatabase, testRedis, type TestDatabase } from "@gpumesh/devstack";
import { jobIds } from "@gpumesh/queue";
import { QueueEvents } from "bullmq";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RecordingChainSettlement } from "../src/chain.ts";
import { createChainContext } from "../src/chain-context.ts";
import { loadSchedulerEnv } from "../src/env.ts";
import { outageEvidence, slashForOutage } from "../src/jobs/slash.ts";
import { startScheduler, type RunningScheduler } from "../src/scheduler.ts";
import { runningCluster, waitFor } from "./helpers.ts";

// Slashing a device that vanished mid-lease (issue #11), end to end: staked devices on a real
// localnet, RUNNING leases in real Postgres, the health sweep on real Redis. A device serving a lease
// that stays offline longer than VANISH_GRACE_S (from its last heartbeat) is slashed once, reason
// VanishedMidLease, with the hash of its outage on-chain; one back within the grace period is not; an
// unstaked one has nothing to slash; a retry, a re-run sweep or two schedulers racing never slash twice.

const SUPPLIERS = 3;
const GRACE_S = 900;
const MINUTE = 60_000;
let localnet: RunningLocalnet;
let chain: LocalnetAccounts;
let database: TestDatabase;
let db: Db;
let scheduler: RunningScheduler;
let env: ReturnType<typeof loadSchedulerEnv>;
/** The scheduler's clock: real time plus `skewMs` (the outages themselves start at real heartbeats). */
let skewMs = 0;
const now = () => new Date(Date.now() + skewMs);
const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
/** Devices serving a lease each: vanishes, returns in time, is not staked, races. */
let vanisher: string, returner: string, unstaked: string, racer: string;

beforeAll(async () => {
  await buildLocalnet();
  localnet = await startLocalnet();
  chain = await bootstrapLocalnet(localnet.connection);
  database = await createTestDatabase("vanished");
  db = createDb(database.url);
  await seedSimulatedNetwork(db, { suppliers: SUPPLIERS, devices: 12, supplierIdentity: (index) => supplierChainIdentity(devSupplierKeypair(index).publicKey) });
  await db.device.updateMany({ where: { status: "ONLINE" }, data: { lastHeartbeatAt: new Date() } });
  const leased: string[] = [];
  for (let i = 0; i < 4; i++) {
    const cluster = await runningCluster(db, { startedAt: new Date(Date.now() - 60 * MINUTE), durationHours: 4 });
    leased.push((await db.allocation.findFirstOrThrow({ where: { clusterId: cluster.id } })).deviceId);
  }
  [vanisher, returner, unstaked, racer] = leased as [string, string, string, string];
  // Every GPU device stakes, but `unstaked`.
  const keys = new Map(Array.from({ length: SUPPLIERS }, (_, i) => devSupplierKeypair(i)).map((key) => [key.publicKey.toBase58(), key]));
  const devices = await db.device.findMany({ where: { gpuCount: { gt: 0 }, gpuModelId: { not: null }, id: { not: unstaked } }, select: { id: true, gpuModelId: true, gpuCount: true, supplier: { select: { account: { select: { walletAddress: true } } } } } });
  await stakeDevices(localnet.connection, chain, devices.map((d) => ({ authority: keys.get(d.supplier.account.walletAddress)!, deviceId: d.id, weightBps: deviceStakeWeightBps(d.gpuModelId, d.gpuCount) })));
  const redis = testRedis();
  env = loadSchedulerEnv({
    DATABASE_URL: database.url, REDIS_URL: redis.url, QUEUE_PREFIX: redis.prefix, LOG_LEVEL: "silent", AGENT_CHANNEL: "none",
    SOLANA_RPC_URL: localnet.url, SETTLEMENT_AUTHORITY_KEYPAIR: "dev", REWARDS_AUTHORITY_KEYPAIR: "dev",
    DEVICE_OFFLINE_AFTER_S: "600", VANISH_GRACE_S: String(GRACE_S), VANISH_SLASH_BPS: "2500",
  });
  // Lease syncs are recorded, not sent: these leases exist only in Postgres (the slash is what goes on-chain).
  scheduler = await startScheduler(env, silent, { sweeps: false, chain: new RecordingChainSettlement(db), now });
}, 900_000);

afterAll(async () => {
  await scheduler?.stop();
  await db?.$disconnect();
  await database?.drop();
  await localnet?.stop();
});

const supply = async () => BigInt((await localnet.connection.getTokenSupply(chain.meshMint)).value.amount);
const stakeOf = async (deviceId: string) => fetchDeviceStake(localnet.connection, deviceId);
const outageOf = (deviceId: string) => db.deviceOutage.findFirstOrThrow({ where: { deviceId }, orderBy: { id: "desc" } });
/** A device whose agent went silent `minutesAgo` (the health sweep marks it offline from then). */
const silentSince = (deviceId: string, minutesAgo: number) => db.device.update({ where: { id: deviceId }, data: { lastHeartbeatAt: new Date(Date.now() - minutesAgo * MINUTE) } });

let sweeps = 0;
/** One health sweep, as the repeating job runs it; resolves with its return value. */
async function healthSweep(): Promise<Record<string, number>> {
  const events = new QueueEvents("health", { connection: { url: env.REDIS_URL }, prefix: env.QUEUE_PREFIX });
  try {
    await events.waitUntilReady();
    const job = await scheduler.queues.health.add("sweep", {}, { jobId: `test-sweep/${++sweeps}` });
    return (await job.waitUntilFinished(events)) as Record<string, number>;
  } finally {
    await events.close();
  }
}

async function slashJobResult(outageId: bigint) {
  const events = new QueueEvents("settle", { connection: { url: env.REDIS_URL }, prefix: env.QUEUE_PREFIX });
  try {
    await events.waitUntilReady();
    const job = await waitFor("the slash job", () => scheduler.queues.settle.getJob(jobIds.slashVanished(outageId.toString())), 10_000);
    return (await job.waitUntilFinished(events)) as Record<string, string>;
  } finally {
    await events.close();
  }
}

describe("slashing a device that vanished mid-lease", () => {
  it("slashes a device gone beyond the grace period once (VanishedMidLease, a quarter of its required stake, burned), and not one back within it", async () => {
    const before = (await stakeOf(vanisher))!;
    const returnerBefore = (await stakeOf(returner))!;
    const supplyBefore = await supply();
    await silentSince(vanisher, 20); // 20 min > the 15-min grace
    await silentSince(returner, 11); // offline (> 10 min), not past the grace yet

    const first = await healthSweep();
    expect(first).toMatchObject({ offline: 2, lostNodes: 2, vanished: 1 });
    const outage = await outageOf(vanisher);
    const allocation = await db.allocation.findFirstOrThrow({ where: { deviceId: vanisher } });
    expect(outage).toMatchObject({ allocationId: allocation.id, endedAt: null });
    expect(outage.vanishDecidedAt).not.toBeNull();
    expect(await slashJobResult(outage.id)).toMatchObject({ state: "slashed", amount: (before.required / 4n).toString() });
    expect((await stakeOf(vanisher))!.amount).toBe(before.amount - before.required / 4n);
    expect(await supply()).toBe(supplyBefore - before.required / 4n);

    // On-chain: the slash record of the outage's evidence, and the event the indexer mirrors.
    const evidence = outageEvidence({ ...outage, allocationId: allocation.id });
    expect(await fetchSlashRecord(localnet.connection, vanisher, evidence.hash)).toMatchObject({ reason: "VanishedMidLease", amount: before.required / 4n });
    await new ChainIndexer(localnet.connection, new PrismaChainIndexStore(db, chain.meshMint), { programId: chain.programId }).catchUp();
    const event = await db.chainEvent.findFirstOrThrow({ where: { name: "DeviceStakeSlashed" } });
    expect(event.data).toMatchObject({ reason: "VanishedMidLease", evidenceHash: Buffer.from(evidence.hash).toString("hex"), amount: (before.required / 4n).toString() });
    expect(JSON.parse(evidence.text)).toEqual({ outageId: outage.id.toString(), deviceId: vanisher, startedAt: outage.startedAt.toISOString(), allocationId: allocation.id });

    // The returner comes back 11 minutes after it went silent; once its grace has passed, the sweep
    // decides it and slashes nothing.
    const returned = await outageOf(returner);
    expect(returned.allocationId).not.toBeNull();
    expect(returned.vanishDecidedAt).toBeNull();
    await db.device.update({ where: { id: returner }, data: { status: "ONLINE", lastHeartbeatAt: new Date() } });
    skewMs = 10 * MINUTE;
    expect(await healthSweep()).toEqual({ offline: 0 });
    const decided = await outageOf(returner);
    expect(decided.endedAt).not.toBeNull();
    expect(decided.vanishDecidedAt).not.toBeNull();
    expect(await scheduler.queues.settle.getJob(jobIds.slashVanished(returned.id.toString()))).toBeUndefined();
    expect((await stakeOf(returner))!.amount).toBe(returnerBefore.amount);
    expect(await supply()).toBe(supplyBefore - before.required / 4n);
  });

  it("never slashes twice: a retried job, a sweep that re-reads the outage, two schedulers at once", async () => {
    const outage = await outageOf(vanisher);
    const slashed = (await stakeOf(vanisher))!.amount;
    const supplyBefore = await supply();
    const chainContext = createChainContext(env)!;
    const deps = { db, chain: chainContext, logger: silent, slashBps: 2_500, graceS: GRACE_S, now };
    // The job run again (its first answer lost): the slash record says it is done.
    expect(await slashForOutage(deps, outage.id.toString())).toMatchObject({ state: "already-slashed", amount: ((await stakeOf(vanisher))!.required / 4n).toString() });
    // A crash between enqueueing and deciding, after the completed job aged out of Redis: the next
    // sweep reads the outage again and runs the job again, which finds the slash done.
    await (await scheduler.queues.settle.getJob(jobIds.slashVanished(outage.id.toString())))!.remove();
    await db.deviceOutage.update({ where: { id: outage.id }, data: { vanishDecidedAt: null } });
    expect(await healthSweep()).toMatchObject({ vanished: 1 });
    expect(await slashJobResult(outage.id)).toMatchObject({ state: "already-slashed" });
    expect((await stakeOf(vanisher))!.amount).toBe(slashed);
    expect(await supply()).toBe(supplyBefore);

    // Two schedulers slash the same fresh outage at the same moment: one lands, the program refuses
    // the other (same evidence), which then reports it done.
    const racerBefore = (await stakeOf(racer))!;
    await db.device.update({ where: { id: racer }, data: { status: "OFFLINE", lastHeartbeatAt: new Date(Date.now() - 30 * MINUTE) } });
    const raced = await outageOf(racer);
    expect(raced.allocationId).not.toBeNull();
    const outcomes = await Promise.all([slashForOutage(deps, raced.id.toString()), slashForOutage(deps, raced.id.toString())]);
    // Built in the same slot, both transactions can be byte-identical (same blockhash and signer): that
    // is one transaction, which both report. Otherwise the program refuses the second, which reports
    // the slash done. Either way the stake and the supply below moved once.
    const states = outcomes.map((o) => o.state).sort();
    if (states[0] === "slashed") expect(new Set(outcomes.map((o) => (o as { signature: string }).signature)).size).toBe(1);
    else expect(states).toEqual(["already-slashed", "slashed"]);
    expect((await stakeOf(racer))!.amount).toBe(racerBefore.amount - racerBefore.required / 4n);
    expect(await supply()).toBe(supplyBefore - racerBefore.required / 4n);
  });

  it("an unstaked device has nothing to slash; a device serving no lease is not looked at", async () => {
    expect(await stakeOf(unstaked)).toBeNull();
    await silentSince(unstaked, 20);
    const idle = await db.device.findFirstOrThrow({ where: { status: "ONLINE", allocations: { none: {} }, gpuCount: { gt: 0 } } });
    await silentSince(idle.id, 20);
    const supplyBefore = await supply();
    // The racer's outage (slashed above, straight from two "schedulers") is due too: its job finds it done.
    expect(await healthSweep()).toMatchObject({ offline: 2, vanished: 2 });
    expect(await slashJobResult((await outageOf(unstaked)).id)).toEqual({ state: "no-stake" });
    expect(await slashJobResult((await outageOf(racer)).id)).toMatchObject({ state: "already-slashed" });
    expect(await outageOf(idle.id)).toMatchObject({ allocationId: null, vanishDecidedAt: null });
    expect(await supply()).toBe(supplyBefore);
  });
  it("a mass outage is not slashed: with many devices silent around the same moment, the cause is the network or GPUMesh", async () => {
    const cluster = await runningCluster(db, { startedAt: new Date(Date.now() - 60 * MINUTE), durationHours: 4 });
    const serving = (await db.allocation.findFirstOrThrow({ where: { clusterId: cluster.id } })).deviceId;
    const before = (await stakeOf(serving))!;
    const supplyBefore = await supply();
    const silentAt = new Date(now().getTime() - 20 * MINUTE);
    await db.device.update({ where: { id: serving }, data: { lastHeartbeatAt: silentAt } });
    // Nine other devices went silent within a minute of it (VANISH_MASS_OUTAGE is 10 with this one).
    const others = await db.device.findMany({ where: { id: { not: serving } }, take: 9, select: { id: true } });
    expect(others).toHaveLength(9);
    await db.deviceOutage.createMany({ data: others.map((d, i) => ({ deviceId: d.id, startedAt: new Date(silentAt.getTime() + (i - 4) * 10_000), endedAt: new Date(silentAt.getTime() + 2 * MINUTE) })) });
    const result = await healthSweep();
    expect(result).toMatchObject({ offline: 1 });
    expect(result.vanished).toBeUndefined();
    const outage = await outageOf(serving);
    expect(outage.allocationId).not.toBeNull();
    expect(outage.vanishDecidedAt).not.toBeNull();
    expect(await scheduler.queues.settle.getJob(jobIds.slashVanished(outage.id.toString()))).toBeUndefined();
    expect((await stakeOf(serving))!.amount).toBe(before.amount);
    expect(await supply()).toBe(supplyBefore);
  });
});
