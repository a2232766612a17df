import { LedgerAccounts, settlementSplit } from "@gpumesh/core";
import { createTestDatabase, testRedis, type TestDatabase } from "@gpumesh/devstack";
import { createDb, ledgerBalance, reserveDevices, seedSimulatedNetwork, type Db } from "@gpumesh/db";
import { associatedTokenAddress, ChainGateway, fetchLease, ix, pdas, sendInstructions, type ExpectedTransaction } from "@gpumesh/chain";
import { airdrop, bootstrapLocalnet, buildLocalnet, registerNewSupplier, startLocalnet, tokenBalance as readTokenBalance, warpClock, type LocalnetAccounts, type RunningLocalnet } from "@gpumesh/chain/localnet";
import { paymentRecorder } from "@gpumesh/chain/store";
import { Keypair, type PublicKey, Transaction, type TransactionInstruction } from "@solana/web3.js";
import type { Queue } from "bullmq";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GatewayChainSettlement } from "../src/chain.ts";
import { loadSchedulerEnv } from "../src/env.ts";
import { jobIds } from "@gpumesh/queue";
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


/** Seconds the chain and the scheduler's clock run ahead of the wall clock (both moved together). */
let offset = 0;
const now = () => new Date(Date.now() + offset * 1000);
async function advance(seconds: number) {
  offset += seconds;
  await warpClock(localnet.url, seconds);
}

/** A supplier registered on-chain whose Postgres wallet is its on-chain authority, with one 4-GPU node. */
async function onChainSupplier(i: number) {
  const keys = await registerNewSupplier(connection());
  const account = await db.account.create({ data: { walletAddress: keys.authority.publicKey.toBase58() } });
  const supplier = await db.supplier.create({ data: { accountId: account.id, name: `chain-${i}` } });
  const device = await db.device.create({
    data: {
      supplierId: supplier.id, name: `chain-node-${i}`, gpuModelId: "h100-80gb", gpuCount: 4, vramGb: 80, cpuModel: "EPYC", cpuCores: 64, ramGb: 512, diskGb: 4096,
      region: "ap-south", country: "IN", city: "Mumbai", bandwidthUpMbps: 10_000, bandwidthDownMbps: 10_000, pricePerGpuHour: 2_000_000n, status: "ONLINE",
      lastHeartbeatAt: new Date(), verificationScoreBps: 9_000,
    },
  });
  return { ...keys, supplierId: supplier.id, device };
}

/**
 * A MESH cluster of the demo renter on two suppliers' nodes, RUNNING from now, whose lease was really
 * opened on chain: the server builds open_lease, the wallet signs it, the gateway verifies, submits and
 * records it.
 */
async function leasedCluster(leaseId: bigint, durationHours: number, nodes: Awaited<ReturnType<typeof onChainSupplier>>[]) {
  const pricePerSecond = 1_000n;
  const maxSeconds = BigInt(durationHours * 3600);
  const renter = chain.demoRenter;
  const account = await db.account.upsert({ where: { walletAddress: renter.publicKey.toBase58() }, create: { walletAddress: renter.publicKey.toBase58() }, update: {} });
  const cluster = await db.cluster.create({
    data: {
      renterId: account.id, name: `chain-${leaseId}`, type: "CONTAINER", gpuModelIds: ["h100-80gb"], gpuCount: 8, regions: ["ap-south"], supplierNetworks: ["GPUMESH"], durationHours,
      pricePerSecond, depositAmount: pricePerSecond * maxSeconds, paymentToken: "MESH", status: "PAID", leaseId,
    },
  });
  const built: TransactionInstruction = ix.openLease({ renter: renter.publicKey, mint: chain.meshMint, renterToken: ata(renter.publicKey) }, { leaseId, pricePerSecond, maxSeconds });
  const { blockhash, lastValidBlockHeight } = await connection().getLatestBlockhash("confirmed");
  const expected: ExpectedTransaction = { instructions: [built], feePayer: renter.publicKey, recentBlockhash: blockhash, lastValidBlockHeight };
  const signed = new Transaction({ feePayer: renter.publicKey, blockhash, lastValidBlockHeight }).add(built);
  signed.sign(renter);
  await gateway.submitSigned(signed.serialize().toString("base64"), expected, paymentRecorder(db, { accountId: account.id, clusterId: cluster.id, token: "MESH", amount: pricePerSecond * maxSeconds, rates: { feeBps: chain.feeBps, burnBps: chain.burnBps } }));
  // Deployed (as the deploy job leaves it): both nodes acknowledged, RUNNING from now.
  await advance(2);
  const startedAt = now();
  const endsAt = new Date(startedAt.getTime() + durationHours * HOUR);
  await db.cluster.update({ where: { id: cluster.id }, data: { status: "RUNNING", startedAt, endsAt } });
  await reserveDevices(db, { clusterId: cluster.id, devices: nodes.map((n) => ({ deviceId: n.device.id, gpuCount: 4, pricePerGpuHour: n.device.pricePerGpuHour })), startsAt: startedAt, endsAt });
  await db.allocation.updateMany({ where: { clusterId: cluster.id }, data: { acknowledgedAt: startedAt } });
  return { ...cluster, startedAt, endsAt, lease: pdas.lease(renter.publicKey, leaseId)[0] };
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
      VANISH_GRACE_S: "172800",
      INDEX_EVERY_S: "1",
    });

  afterAll(async () => {
    await scheduler?.stop();
    await rpc?.close();
  });

  it("the settle queue's workers keep the lease in line on-chain (activation, allocations, settles, the end), the ledger agrees per supplier, and the index job mirrors it all", async () => {
    scheduler = await startScheduler(env(), silent, { sweeps: false, now });
    expect(scheduler.chain).toBeInstanceOf(GatewayChainSettlement);
    expect(scheduler.chainContext?.settlementAuthority.publicKey.toBase58()).toBe(chain.settlementAuthority.publicKey.toBase58());
    const { settle, index } = scheduler.queues;

    // Payout wallets that never held MESH: the settle step creates their token accounts.
    const nodes = [await onChainSupplier(1), await onChainSupplier(2)];
    const a = await leasedCluster(42n, 3, nodes);
    const renterToken = ata(chain.demoRenter.publicKey);
    const renterAfterPaying = await tokenBalance(renterToken);
    const treasury = ata(chain.treasury.publicKey);
    const treasuryBefore = await tokenBalance(treasury);
    const supplyBefore = await meshSupply();

    // The deploy job's lease-sync: activation at the start and one allocation per node.
    await runJob(settle, "lease-sync", { clusterId: a.id }, jobIds.leaseSync(a.id, now()));
    let lease = (await fetchLease(connection(), chain.demoRenter.publicKey, 42n))!;
    expect(lease).toMatchObject({ status: "active", startTs: BigInt(Math.floor(a.startedAt.getTime() / 1000)), allocationCount: 2, openRate: 1_000n });

    // An hour later the period job settles the hour in the ledger and on-chain, for the same period.
    await advance(3_600 + 30);
    const period = { clusterId: a.id, periodStart: new Date(Math.floor(a.startedAt.getTime() / 1000) * 1000).toISOString() };
    await runJob(settle, "period", period, jobIds.settlePeriod(a.id, new Date(period.periodStart)));
    const hour = settlementSplit(500n, 3_600n, BigInt(chain.feeBps), BigInt(chain.burnBps), true);
    for (const node of nodes) {
      expect(await tokenBalance(ata(node.payout.publicKey))).toBe(hour.supplier);
      expect(await ledgerBalance(db, LedgerAccounts.supplierEarnings(node.supplierId, "MESH"))).toBe(hour.supplier);
    }
    expect((await tokenBalance(treasury)) - treasuryBefore).toBe(2n * hour.treasury);
    expect(supplyBefore - (await meshSupply())).toBe(2n * hour.burn);
    // The same job again (a retry after a crash): nothing moves.
    const history = (await connection().getSignaturesForAddress(a.lease, {}, "confirmed")).length;
    await runJob(settle, "period", period, jobIds.settlePeriod(a.id, new Date(period.periodStart)));
    expect((await connection().getSignaturesForAddress(a.lease, {}, "confirmed")).length).toBe(history);

    // The renter terminates 10 minutes later: the end job settles the rest and ends the lease at that instant.
    await advance(600);
    await db.cluster.update({ where: { id: a.id }, data: { endRequestedAt: now() } });
    await runJob(settle, "end", { clusterId: a.id, reason: "terminated by the renter" }, jobIds.end(a.id, "request"));
    expect((await db.cluster.findUniqueOrThrow({ where: { id: a.id } })).status).toBe("ENDED");
    lease = (await fetchLease(connection(), chain.demoRenter.publicKey, 42n))!;
    expect(lease.status).toBe("closed");
    expect(await connection().getAccountInfo(pdas.escrow(a.lease)[0])).toBeNull();
    const refund = (await tokenBalance(renterToken)) - renterAfterPaying;
    expect(refund).toBe(lease.refunded);
    expect(refund).toBeGreaterThan(0n);
    for (const node of nodes) expect(await tokenBalance(ata(node.payout.publicKey))).toBe(await ledgerBalance(db, LedgerAccounts.supplierEarnings(node.supplierId, "MESH")));
    // Ending again (a retried end job) finds the lease closed: done, nothing moves.
    await runJob(settle, "end", { clusterId: a.id, reason: "terminated by the renter" }, jobIds.end(a.id, "request"));
    expect(await tokenBalance(renterToken)).toBe(renterAfterPaying + refund);

    // The index job mirrors the chain into chain_event and payments (the refund linked to the cluster by its lease PDA).
    await runJob(index, "pass", {}, "index-test-pass");
    const events = await db.chainEvent.findMany({ where: { lease: a.lease.toBase58() }, orderBy: { seq: "asc" } });
    expect(events[0]?.name).toBe("LeaseOpened");
    expect(events.at(-1)).toMatchObject({ name: "LeaseEnded", refund });
    const settled = events.filter((e) => e.name === "AllocationSettled");
    const sum = (field: "supplierAmount" | "treasury" | "burned") => settled.reduce((total, e) => total + e[field]!, 0n);
    expect(sum("supplierAmount") + sum("treasury") + sum("burned") + refund).toBe(a.depositAmount);
    expect(await db.payment.findFirstOrThrow({ where: { clusterId: a.id, kind: "REFUND" } })).toMatchObject({ amount: refund, token: "MESH", status: "CONFIRMED", txSignature: events.at(-1)!.signature });
    const cursor = await db.chainCursor.findUniqueOrThrow({ where: { programId: chain.programId.toBase58() } });
    expect(cursor.signature).toBe(events.at(-1)!.signature);

    // The reconcile job finds the chain and the ledger in agreement.
    await runJob(settle, "reconcile", { clusterId: a.id }, jobIds.reconcile(a.id));
    expect(await db.leaseReconciliation.findUniqueOrThrow({ where: { clusterId: a.id } })).toMatchObject({ ok: true, mismatches: [] });

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
