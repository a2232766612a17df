import { settlementSplit } from "@gpumesh/core";
import { createTestDatabase, testRedis, type TestDatabase } from "@gpumesh/devstack";
import { createDb, reserveDevices, seedSimulatedNetwork, type Db } from "@gpumesh/db";
import { associatedTokenAddress, ChainGateway, fetchLease, ix, pdas, sendInstructions, type ExpectedTransaction } from "@gpumesh/chain";
import { airdrop, bootstrapLocalnet, buildLocalnet, registerNewSupplier, startLocalnet, tokenBalance as readTokenBalance, warpClock, type LocalnetAccounts, type RunningLocalnet } from "@gpumesh/chain/localnet";
import { paymentRecorder } from "@gpumesh/chain/store";
import { Keypair, type PublicKey, Transaction, type TransactionInstruction } from "@solana/web3.js";
import type { Queue } from "bullmq";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GatewayChainSettlement } from "../src/chain.ts";
import { loadSchedulerEnv } from "../src/env.ts";
import { jobIds } from "../src/queues.ts";
import { startScheduler, type RunningScheduler } from "../src/scheduler.ts";
import { rpcRecorder, STANDARD_RPC_METHODS, waitFor } from "./helpers.ts";

// The settle and index jobs against a real chain: leases opened on programs/localnet through the
// gateway, settled and ended by the scheduler's BullMQ workers with the settlement authority's key,
// mirrored back into Postgres by the index job. Real Postgres, Redis and localnet.

const HOUR = 3_600_000;
const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

let localnet: RunningLocalnet;
let chain: LocalnetAccounts;
let gateway: ChainGateway;
let database: TestDatabase;
let db: Db;

const connection = () => localnet.connection;
const tokenBalance = (account: PublicKey) => readTokenBalance(connection(), account);
const meshSupply = async () => BigInt((await connection().getTokenSupply(chain.meshMint)).value.amount);
const ata = (owner: PublicKey) => associatedTokenAddress(chain.meshMint, owner);

beforeAll(async () => {
  await buildLocalnet();
  localnet = await startLocalnet();
  chain = await bootstrapLocalnet(localnet.connection);
  gateway = new ChainGateway(localnet.connection);
  database = await createTestDatabase("chainsettle");
  db = createDb(database.url);
  await seedSimulatedNetwork(db, { suppliers: 6, devices: 30 });
  await db.device.updateMany({ where: { gpuCount: { gt: 0 } }, data: { status: "ONLINE", lastHeartbeatAt: new Date(), verificationScoreBps: 9_000 } });
}, 900_000);

afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
  await localnet?.stop();
});


/**
 * A RUNNING MESH cluster of the demo renter with two allocations, whose lease was really opened on
 * chain: the server builds open_lease, the wallet signs it, the gateway verifies, submits and records it.
 */
async function leasedCluster(leaseId: bigint, durationHours: number, startedAt: Date, supplierAuthority: PublicKey) {
  const pricePerSecond = 1_000n;
  const maxSeconds = BigInt(durationHours * 3600);
  const renter = chain.demoRenter;
  const account = await db.account.upsert({ where: { walletAddress: renter.publicKey.toBase58() }, create: { walletAddress: renter.publicKey.toBase58() }, update: {} });
  const devices = await db.device.findMany({ where: { gpuCount: { gt: 0 }, status: "ONLINE", allocations: { none: {} } }, take: 2, orderBy: { id: "asc" } });
  const endsAt = new Date(startedAt.getTime() + durationHours * HOUR);
  const cluster = await db.cluster.create({
    data: {
      renterId: account.id, name: `chain-${leaseId}`, type: "CONTAINER", gpuModelIds: [devices[0]!.gpuModelId!], gpuCount: devices[0]!.gpuCount + devices[1]!.gpuCount,
      regions: [devices[0]!.region], supplierNetworks: ["GPUMESH"], durationHours, pricePerSecond, depositAmount: pricePerSecond * maxSeconds,
      paymentToken: "MESH", status: "RUNNING", startedAt, endsAt, leaseId,
    },
  });
  await reserveDevices(db, { clusterId: cluster.id, devices: devices.map((d) => ({ deviceId: d.id, gpuCount: d.gpuCount, pricePerGpuHour: d.pricePerGpuHour })), startsAt: startedAt, endsAt });
  await db.allocation.updateMany({ where: { clusterId: cluster.id }, data: { acknowledgedAt: startedAt } });

  const built: TransactionInstruction = ix.openLease({ renter: renter.publicKey, mint: chain.meshMint, supplierAuthority, renterToken: ata(renter.publicKey) }, { leaseId, pricePerSecond, maxSeconds });
  const { blockhash, lastValidBlockHeight } = await connection().getLatestBlockhash("confirmed");
  const expected: ExpectedTransaction = { instructions: [built], feePayer: renter.publicKey, recentBlockhash: blockhash, lastValidBlockHeight };
  const signed = new Transaction({ feePayer: renter.publicKey, blockhash, lastValidBlockHeight }).add(built);
  signed.sign(renter);
  await gateway.submitSigned(signed.serialize().toString("base64"), expected, paymentRecorder(db, { accountId: account.id, clusterId: cluster.id, token: "MESH", amount: pricePerSecond * maxSeconds }));
  return { ...cluster, pricePerSecond, maxSeconds, lease: pdas.lease(renter.publicKey, leaseId)[0] };
}

/** Runs one job on the scheduler's workers (again, if it ran before under that id) and returns what it returned. */
async function runJob(queue: Queue, name: string, data: Record<string, unknown>, jobId: string): Promise<unknown> {
  await queue.remove(jobId);
  await queue.add(name, data, { jobId, attempts: 1 });
  return waitFor(
    `job ${jobId}`,
    async () => {
      const job = await queue.getJob(jobId);
      const state = await job?.getState();
      if (state === "failed") throw new Error(`job ${jobId} failed: ${job!.failedReason}`);
      return state === "completed" ? { value: job!.returnvalue as unknown } : undefined;
    },
    60_000,
  ).then((r) => r.value);
}

describe("settlement on a real chain", () => {
  let scheduler: RunningScheduler;
  // The scheduler talks to the chain through a recording proxy: only standard Solana RPC methods allowed.
  let rpc: Awaited<ReturnType<typeof rpcRecorder>>;
  beforeAll(async () => {
    rpc = await rpcRecorder(localnet.url);
  });
  const env = () =>
    loadSchedulerEnv({
      DATABASE_URL: database.url,
      ...(() => {
        const redis = testRedis();
        return { REDIS_URL: redis.url, QUEUE_PREFIX: redis.prefix };
      })(),
      LOG_LEVEL: "silent",
      SOLANA_RPC_URL: rpc.url,
      SETTLEMENT_AUTHORITY_KEYPAIR: "dev",
      REWARDS_AUTHORITY_KEYPAIR: "dev",
      // The ledger splits with the chain's terms (localnet's config).
      FEE_BPS: String(chain.feeBps),
      BURN_BPS: String(chain.burnBps),
      DEVICE_OFFLINE_AFTER_S: "86400",
      INDEX_EVERY_S: "1",
    });

  afterAll(async () => {
    await scheduler?.stop();
    await rpc?.close();
  });

  it("settles on-chain from the settle job (supplier and treasury paid, MESH fee burned), counts a repeat as done, ends with a refund, and the index job mirrors it all", async () => {
    scheduler = await startScheduler(env(), silent, { sweeps: false });
    expect(scheduler.chain).toBeInstanceOf(GatewayChainSettlement);
    expect(scheduler.chainContext?.settlementAuthority.publicKey.toBase58()).toBe(chain.settlementAuthority.publicKey.toBase58());
    const { settle, index } = scheduler.queues;

    const now = Date.now();
    // Payout wallets that never held MESH: the settle step creates their token accounts.
    const supplierA = await registerNewSupplier(connection());
    const supplierB = await registerNewSupplier(connection());
    // A: 3 h lease, 2.5 h in (ended early below). B: 1 h lease whose chain time runs past its end.
    const a = await leasedCluster(42n, 3, new Date(now - 2.5 * HOUR), supplierA.authority.publicKey);
    const b = await leasedCluster(43n, 1, new Date(now - HOUR - 60_000), supplierB.authority.publicKey);
    await warpClock(localnet.url, 3_600 + 120);

    // B: one settle pays the whole lease (capped at max_seconds on-chain).
    const treasury = ata(chain.treasury.publicKey);
    let treasuryBefore = await tokenBalance(treasury);
    let supplyBefore = await meshSupply();
    const periodB = { clusterId: b.id, periodStart: b.startedAt!.toISOString() };
    await runJob(settle, "period", periodB, jobIds.settlePeriod(b.id, b.startedAt!));
    const splitB = settlementSplit(b.pricePerSecond, b.maxSeconds, BigInt(chain.feeBps), BigInt(chain.burnBps), true);
    expect(splitB.burn).toBeGreaterThan(0n);
    expect(await tokenBalance(ata(supplierB.payout.publicKey))).toBe(splitB.supplier);
    expect((await tokenBalance(treasury)) - treasuryBefore).toBe(splitB.treasury);
    expect(supplyBefore - (await meshSupply())).toBe(splitB.burn);
    expect(await tokenBalance(pdas.escrow(b.lease)[0])).toBe(0n);

    // The same job again (a retry after a crash): the program says NothingToSettle, the job is done and nothing moves.
    const historyB = (await connection().getSignaturesForAddress(b.lease, {}, "confirmed")).length;
    await runJob(settle, "period", periodB, jobIds.settlePeriod(b.id, b.startedAt!));
    expect(await tokenBalance(ata(supplierB.payout.publicKey))).toBe(splitB.supplier);
    expect((await connection().getSignaturesForAddress(b.lease, {}, "confirmed")).length).toBe(historyB);

    // A: the first hour's job pays the chain seconds elapsed since the lease opened.
    treasuryBefore = await tokenBalance(treasury);
    supplyBefore = await meshSupply();
    await runJob(settle, "period", { clusterId: a.id, periodStart: a.startedAt!.toISOString() }, jobIds.settlePeriod(a.id, a.startedAt!));
    const leaseA = (await fetchLease(connection(), chain.demoRenter.publicKey, 42n))!;
    expect(leaseA.settledSeconds).toBeGreaterThanOrEqual(3_600n);
    expect(leaseA.settledSeconds).toBeLessThan(a.maxSeconds);
    const splitA = settlementSplit(a.pricePerSecond, leaseA.settledSeconds, BigInt(chain.feeBps), BigInt(chain.burnBps), true);
    expect(await tokenBalance(ata(supplierA.payout.publicKey))).toBe(splitA.supplier);
    expect((await tokenBalance(treasury)) - treasuryBefore).toBe(splitA.treasury);
    expect(supplyBefore - (await meshSupply())).toBe(splitA.burn);
    expect(await tokenBalance(pdas.escrow(a.lease)[0])).toBe(a.depositAmount - splitA.gross);

    // The renter terminates A: the end job settles the rest and end_lease refunds the escrow's remainder.
    const renterToken = ata(chain.demoRenter.publicKey);
    const renterBefore = await tokenBalance(renterToken);
    const escrowLeft = await tokenBalance(pdas.escrow(a.lease)[0]);
    await runJob(settle, "end", { clusterId: a.id, reason: "terminated by the renter" }, jobIds.end(a.id, "request"));
    expect((await db.cluster.findUniqueOrThrow({ where: { id: a.id } })).status).toBe("ENDED");
    expect(await connection().getAccountInfo(a.lease)).toBeNull();
    expect(await connection().getAccountInfo(pdas.escrow(a.lease)[0])).toBeNull();
    const refund = (await tokenBalance(renterToken)) - renterBefore;
    expect(refund).toBeGreaterThan(0n);
    const paidToSupplierA = await tokenBalance(ata(supplierA.payout.publicKey));
    expect(paidToSupplierA).toBeGreaterThanOrEqual(splitA.supplier);
    // Ending again (a retried end job) finds the lease closed on-chain: done, nothing moves.
    await runJob(settle, "end", { clusterId: a.id, reason: "terminated by the renter" }, jobIds.end(a.id, "request"));
    expect(await tokenBalance(renterToken)).toBe(renterBefore + refund);

    // The index job mirrors the chain into chain_event and payments.
    await runJob(index, "pass", {}, "index-test-pass");
    const eventsA = await db.chainEvent.findMany({ where: { lease: a.lease.toBase58() }, orderBy: [{ slot: "asc" }, { eventIndex: "asc" }] });
    expect(eventsA[0]?.name).toBe("LeaseOpened");
    expect(eventsA.at(-1)).toMatchObject({ name: "LeaseEnded", refund });
    const settledA = eventsA.filter((e) => e.name === "LeaseSettled");
    expect(settledA[0]).toMatchObject({ gross: splitA.gross, burned: splitA.burn, treasury: splitA.treasury, supplierAmount: splitA.supplier, mint: chain.meshMint.toBase58() });
    const sum = (field: "supplierAmount" | "treasury" | "burned") => settledA.reduce((total, e) => total + e[field]!, 0n);
    expect(sum("supplierAmount")).toBe(paidToSupplierA);
    expect(sum("supplierAmount") + sum("treasury") + sum("burned") + refund).toBe(a.depositAmount);
    // What the escrow held at the end went to the seconds settled after the first hour's job, the rest back to the renter.
    expect(escrowLeft - refund).toBe(settledA.slice(1).reduce((total, e) => total + e.gross!, 0n));
    expect(await db.chainEvent.findMany({ where: { lease: b.lease.toBase58() }, select: { name: true, burned: true } })).toEqual([
      { name: "LeaseOpened", burned: null },
      { name: "LeaseSettled", burned: splitB.burn },
    ]);
    expect(await db.payment.findFirstOrThrow({ where: { clusterId: a.id, kind: "REFUND", txSignature: eventsA.at(-1)!.signature } })).toMatchObject({ amount: refund, token: "MESH", status: "CONFIRMED" });
    const cursor = await db.chainCursor.findUniqueOrThrow({ where: { programId: chain.programId.toBase58() } });
    expect(cursor.signature).toBe(eventsA.at(-1)!.signature);

    // With its sweeps on, the scheduler's own ticks keep indexing: a transaction made now shows up without any job being added.
    await scheduler.stop();
    scheduler = await startScheduler(env(), silent);
    const renter = Keypair.generate();
    await airdrop(connection(), renter.publicKey, 1);
    const registered = await sendInstructions(connection(), [ix.registerSupplier(renter.publicKey, renter.publicKey)], [renter]);
    await waitFor("the index tick to mirror a new transaction", () => db.chainEvent.findFirst({ where: { signature: registered.signature, name: "SupplierRegistered" } }), 30_000);
    // Everything the scheduler asked the chain is standard JSON-RPC: it would work against a validator.
    expect(rpc.methods.size).toBeGreaterThan(3);
    expect([...rpc.methods].filter((method) => !STANDARD_RPC_METHODS.has(method))).toEqual([]);
  });
});
