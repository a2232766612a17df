import { LedgerAccounts } from "@gpumesh/core";
import { createTestDatabase, type TestDatabase } from "@gpumesh/devstack";
import { createDb, ledgerBalance, seedCatalogue, settleClusterPeriod, type Db } from "@gpumesh/db";
import { associatedTokenAddress, ChainGateway, fetchAllocations, fetchLease, ix, pdas, sendInstructions, type ExpectedTransaction } from "@gpumesh/chain";
import { bootstrapLocalnet, buildLocalnet, registerNewSupplier, startLocalnet, tokenBalance as readTokenBalance, warpClock, type LocalnetAccounts, type RunningLocalnet } from "@gpumesh/chain/localnet";
import { paymentRecorder } from "@gpumesh/chain/store";
import { type Keypair, type PublicKey, Transaction } from "@solana/web3.js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { advanceDeploy, handleAgentResponse, handleNodeLost, type DeployDeps } from "../src/jobs/deploy.ts";
import { reconcileLease } from "../src/jobs/reconcile.ts";
import { endCluster, settlePeriod } from "../src/jobs/settle.ts";
import { chainSettleDeps, ScriptedAgents, scriptedDeployDeps } from "./chain-jobs.ts";

// Money v2 end to end on a real chain: the ledger (real Postgres) and the program (programs/localnet)
// must agree to the base unit per supplier, on the refund and on the burn, through a cluster that
// spans two suppliers, loses a node that a third supplier replaces, and is terminated early. The job
// functions the BullMQ workers run are driven directly, with one clock for the scheduler and the chain
// (localnet's clock is warped by the same amount), so an hour of lease takes no hour of test.

const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
const MESH = "MESH" as const;

let localnet: RunningLocalnet;
let chain: LocalnetAccounts;
let gateway: ChainGateway;
let database: TestDatabase;
let db: Db;
/** Seconds the chain (and the test clock) run ahead of the wall clock. */
let offset = 0;
const now = () => new Date(Date.now() + offset * 1000);
async function advance(seconds: number) {
  offset += seconds;
  await warpClock(localnet.url, seconds);
}

const connection = () => localnet.connection;
/** A token account's balance; 0 for one that does not exist yet (never paid). */
const balance = async (account: PublicKey) => ((await connection().getAccountInfo(account, "confirmed")) ? readTokenBalance(connection(), account) : 0n);
const ata = (owner: PublicKey) => associatedTokenAddress(chain.meshMint, owner);
const meshSupply = async () => BigInt((await connection().getTokenSupply(chain.meshMint)).value.amount);

interface Supplier {
  id: string;
  deviceId: string;
  authority: Keypair;
  payout: Keypair;
}

const suppliers: Supplier[] = [];
let renterAccountId: string;

beforeAll(async () => {
  await buildLocalnet();
  localnet = await startLocalnet();
  chain = await bootstrapLocalnet(localnet.connection);
  gateway = new ChainGateway(localnet.connection);
  database = await createTestDatabase("money");
  db = createDb(database.url);
  await seedCatalogue(db);
  renterAccountId = (await db.account.create({ data: { walletAddress: chain.demoRenter.publicKey.toBase58() } })).id;
  // Three suppliers registered on-chain, one 4-GPU H100 node each; the third is the dearest, so the
  // first deployment takes the other two and the third only comes in as the replacement.
  for (const [i, price] of [2_000_000n, 2_100_000n, 2_900_000n].entries()) {
    const keys = await registerNewSupplier(connection());
    const account = await db.account.create({ data: { walletAddress: keys.authority.publicKey.toBase58() } });
    const supplier = await db.supplier.create({ data: { accountId: account.id, name: `money-${i}` } });
    const device = await db.device.create({
      data: {
        supplierId: supplier.id, name: `node-${i}`, gpuModelId: "h100-80gb", gpuCount: 4, vramGb: 80, cpuModel: "EPYC 9654", cpuCores: 96, ramGb: 1024, diskGb: 8192,
        region: "eu-west", country: "DE", city: "Frankfurt", bandwidthUpMbps: 25_000, bandwidthDownMbps: 25_000, pricePerGpuHour: price,
        status: "ONLINE", lastHeartbeatAt: new Date(), verificationScoreBps: 9_500,
      },
    });
    suppliers.push({ id: supplier.id, deviceId: device.id, authority: keys.authority, payout: keys.payout });
  }
}, 1_800_000);

afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
  await localnet?.stop();
});

const deployDeps = (agents: ScriptedAgents) => scriptedDeployDeps(db, agents, silent, now);
const settleDeps = (agents: ScriptedAgents) => chainSettleDeps(db, gateway, chain, agents, silent, now);

let nextLeaseId = BigInt(Date.now());

/** A PAID MESH cluster of 8 H100s whose lease the renter really opened: server-built open_lease, wallet-signed, verified and recorded. */
async function paidCluster(options: { pricePerSecond?: bigint; durationHours?: number; openWith?: { pricePerSecond: bigint } } = {}) {
  const pricePerSecond = options.pricePerSecond ?? 800n;
  const durationHours = options.durationHours ?? 3;
  const maxSeconds = BigInt(durationHours * 3600);
  const leaseId = nextLeaseId++;
  const cluster = await db.cluster.create({
    data: {
      renterId: renterAccountId, name: `money-${leaseId}`, type: "RAY", gpuModelIds: ["h100-80gb"], gpuCount: 8, regions: ["eu-west"], supplierNetworks: ["GPUMESH"],
      durationHours, pricePerSecond, depositAmount: pricePerSecond * maxSeconds, paymentToken: MESH, status: "PAID", leaseId,
    },
  });
  const renter = chain.demoRenter;
  const terms = { leaseId, pricePerSecond: options.openWith?.pricePerSecond ?? pricePerSecond, maxSeconds };
  const built = ix.openLease({ renter: renter.publicKey, mint: chain.meshMint, renterToken: ata(renter.publicKey) }, terms);
  if (options.openWith) {
    // Opened outside the server (the renter's own transaction, other terms): the gateway never saw it.
    await sendInstructions(connection(), [built], [renter]);
    await db.cluster.update({ where: { id: cluster.id }, data: { leasePda: pdas.lease(renter.publicKey, leaseId)[0].toBase58() } });
  } else {
    const { blockhash, lastValidBlockHeight } = await connection().getLatestBlockhash("confirmed");
    const expected: ExpectedTransaction = { instructions: [built], feePayer: renter.publicKey, recentBlockhash: blockhash, lastValidBlockHeight };
    const signed = new Transaction({ feePayer: renter.publicKey, blockhash, lastValidBlockHeight }).add(built);
    signed.sign(renter);
    await gateway.submitSigned(signed.serialize().toString("base64"), expected, paymentRecorder(db, { accountId: renterAccountId, clusterId: cluster.id, token: MESH, amount: cluster.depositAmount, rates: { feeBps: chain.feeBps, burnBps: chain.burnBps } }));
  }
  return { ...cluster, lease: pdas.lease(renter.publicKey, leaseId)[0] };
}

async function ack(deps: DeployDeps, agents: ScriptedAgents, allocationId: string) {
  const assignment = agents.assigned.find((a) => a.allocationId === allocationId)!;
  return handleAgentResponse(deps, { allocationId, clusterId: assignment.clusterId, deviceId: assignment.deviceId, accepted: true, at: now().toISOString() });
}

const unix = (date: Date) => BigInt(Math.floor(date.getTime() / 1000));

describe("money v2 on a real chain", () => {
  it("a cluster over two suppliers, a node lost and replaced by a third, terminated early: per supplier, the refund and the burn agree to the base unit", async () => {
    const agents = new ScriptedAgents();
    const deploy = deployDeps(agents);
    const settle = settleDeps(agents);
    const treasuryBefore = await balance(ata(chain.treasury.publicKey));
    const supplyBefore = await meshSupply();
    const renterBefore = await balance(ata(chain.demoRenter.publicKey));
    const cluster = await paidCluster();
    expect(await balance(ata(chain.demoRenter.publicKey))).toBe(renterBefore - cluster.depositAmount);
    expect((await fetchLease(connection(), chain.demoRenter.publicKey, cluster.leaseId!))!.status).toBe("pending");

    // Deploy: two nodes (suppliers 0 and 1) reserved and assigned; the lease stays Pending until both serve.
    expect(await advanceDeploy(deploy, cluster.id)).toMatchObject({ state: "waiting-acks", pending: 2 });
    expect(agents.assigned.map((a) => a.deviceId).sort()).toEqual([suppliers[0]!.deviceId, suppliers[1]!.deviceId].sort());
    await advance(7);
    await settle.chain.syncLease(cluster.id); // nothing to do yet: still deploying
    expect((await fetchLease(connection(), chain.demoRenter.publicKey, cluster.leaseId!))!.status).toBe("pending");
    for (const a of agents.assigned) await ack(deploy, agents, a.allocationId);
    const running = await db.cluster.findUniqueOrThrow({ where: { id: cluster.id } });
    expect(running.status).toBe("RUNNING");

    // The lease activates at the real start (not at payment) with one allocation per node, 400/s each.
    await settle.chain.syncLease(cluster.id);
    let lease = (await fetchLease(connection(), chain.demoRenter.publicKey, cluster.leaseId!))!;
    expect(lease).toMatchObject({ status: "active", startTs: unix(running.startedAt!), openRate: 800n, allocationCount: 2 });
    expect(lease.startTs).toBeGreaterThan(lease.openedAt);

    // One hour: the ledger settles it, the chain pays the same period.
    await advance(3_600);
    await settlePeriod(settle, cluster.id, new Date(Number(lease.startTs) * 1000));

    // 20 minutes later supplier 0's node goes offline; supplier 2's node replaces it 45 s later.
    await advance(1_200);
    const lost = (await db.allocation.findFirstOrThrow({ where: { clusterId: cluster.id, deviceId: suppliers[0]!.deviceId } })).id;
    expect(await handleNodeLost(deploy, cluster.id, lost, "missed its heartbeats")).toMatchObject({ state: "waiting-acks", pending: 1 });
    const replacement = agents.assigned.find((a) => a.deviceId === suppliers[2]!.deviceId)!;
    await advance(45);
    expect(await ack(deploy, agents, replacement.allocationId)).toMatchObject({ state: "running" });
    await settle.chain.syncLease(cluster.id);
    const onChain = await fetchAllocations(connection(), lease.address, 3);
    expect(onChain.map((a) => [a.index, a.supplier.toBase58(), a.ratePerSecond])).toEqual([
      [0, expect.any(String), 400n],
      [1, expect.any(String), 400n],
      [2, suppliers[2]!.authority.publicKey.toBase58(), 400n],
    ]);
    // The lost node's allocation ends where the ledger stopped billing it (whole seconds, ~1 200 s after the first hour).
    const lostRow = await db.allocation.findUniqueOrThrow({ where: { id: lost } });
    const lostUntil = onChain.find((a) => a.supplier.equals(suppliers[0]!.authority.publicKey))!.untilTs;
    expect(lostUntil).toBe(unix(lostRow.billedUntil!));
    expect(lostUntil - lease.startTs).toBeGreaterThanOrEqual(4_800n);

    // The renter terminates 1 000 s later; a retry an hour after that ends at the same instant.
    await advance(1_000);
    const terminateAt = now();
    await db.cluster.update({ where: { id: cluster.id }, data: { endRequestedAt: terminateAt } });
    const ended = await endCluster(settle, cluster.id, "terminated by the renter");
    expect(ended).not.toBeNull();
    await advance(3_600);
    expect(await endCluster(settle, cluster.id, "retry")).toBeNull();
    expect((await db.cluster.findUniqueOrThrow({ where: { id: cluster.id } })).endedAt).toEqual(new Date(Number(unix(terminateAt)) * 1000));

    lease = (await fetchLease(connection(), chain.demoRenter.publicKey, cluster.leaseId!))!;
    expect(lease.status).toBe("closed");
    expect(lease.endTs).toBe(unix(terminateAt));
    expect(await connection().getAccountInfo(pdas.escrow(lease.address)[0])).toBeNull();

    // Per supplier: on-chain payouts = the ledger's credits, to the base unit.
    for (const s of suppliers) {
      const credited = await ledgerBalance(db, LedgerAccounts.supplierEarnings(s.id, MESH));
      expect(credited).toBeGreaterThan(0n);
      expect(await balance(ata(s.payout.publicKey))).toBe(credited);
    }
    // Served seconds, exactly: supplier 1 the whole lease, supplier 0 until it was lost, supplier 2 from its ack.
    const served = lease.endTs - lease.startTs;
    const grossByIndex = new Map(onChain.map((a) => [a.index, a]));
    const after = await fetchAllocations(connection(), lease.address, 3);
    expect(after.map((a) => a.totalGross)).toEqual([
      400n * (grossByIndex.get(0)!.untilTs === 0x7fff_ffff_ffff_ffffn ? served : grossByIndex.get(0)!.untilTs - lease.startTs),
      400n * (grossByIndex.get(1)!.untilTs === 0x7fff_ffff_ffff_ffffn ? served : grossByIndex.get(1)!.untilTs - lease.startTs),
      400n * (lease.endTs - grossByIndex.get(2)!.fromTs),
    ]);
    // The refund: on-chain = the ledger's; the renter got it; fee and burn agree too.
    const refund = (await db.journal.findUniqueOrThrow({ where: { reference: `refund:${cluster.id}` }, select: { entries: { where: { amount: { gt: 0n } } } } })).entries[0]!.amount;
    expect(lease.refunded).toBe(refund);
    expect(await balance(ata(chain.demoRenter.publicKey))).toBe(renterBefore - cluster.depositAmount + refund);
    expect(supplyBefore - (await meshSupply())).toBe(await ledgerBalance(db, LedgerAccounts.burned(MESH)));
    expect(lease.totalBurned).toBeGreaterThan(0n);
    expect((await balance(ata(chain.treasury.publicKey))) - treasuryBefore).toBe(await ledgerBalance(db, LedgerAccounts.treasury(MESH)));
    expect(lease.totalGross + lease.refunded).toBe(cluster.depositAmount);

    // Settling after the refund pays nothing more, in the ledger or on-chain.
    const late = { start: new Date(Number(lease.endTs) * 1000), end: new Date(Number(lease.endTs) * 1000 + 3_600_000) };
    expect((await settleClusterPeriod(db, cluster.id, late, settle.config)).split.gross).toBe(0n);
    expect(await settle.chain.syncLease(cluster.id)).toMatchObject({ signatures: [], finished: true });

    // Reconciliation agrees.
    expect(await reconcileLease({ db, chain: { connection: connection(), programId: gateway.programId } as never, logger: silent }, cluster.id)).toEqual({ ok: true, mismatches: [] });
  }, 300_000);

  it("a deployment that fails after payment: 100 % back on-chain, no supplier paid, no fee", async () => {
    const agents = new ScriptedAgents();
    const settle = settleDeps(agents);
    // No node can be had: every device is offline.
    await db.device.updateMany({ data: { status: "OFFLINE" } });
    try {
      const renterBefore = await balance(ata(chain.demoRenter.publicKey));
      const payouts = await Promise.all(suppliers.map((s) => balance(ata(s.payout.publicKey))));
      const cluster = await paidCluster();
      expect(await advanceDeploy(deployDeps(agents), cluster.id)).toMatchObject({ state: "refunded" });
      await settle.chain.syncLease(cluster.id);
      const lease = (await fetchLease(connection(), chain.demoRenter.publicKey, cluster.leaseId!))!;
      expect(lease).toMatchObject({ status: "cancelled", totalGross: 0n, refunded: cluster.depositAmount });
      expect(await balance(ata(chain.demoRenter.publicKey))).toBe(renterBefore);
      expect(await Promise.all(suppliers.map((s) => balance(ata(s.payout.publicKey))))).toEqual(payouts);
      expect((await db.cluster.findUniqueOrThrow({ where: { id: cluster.id } })).chainClosedAt).not.toBeNull();
    } finally {
      await db.device.updateMany({ data: { status: "ONLINE", lastHeartbeatAt: new Date() } });
    }
  }, 120_000);

  it("a lease opened outside the server with other terms is never activated or served, and is refunded in full", async () => {
    const agents = new ScriptedAgents();
    const settle = settleDeps(agents);
    const renterBefore = await balance(ata(chain.demoRenter.publicKey));
    // The cluster was quoted at 800/s; the renter's own transaction opened its lease at 1/s. The
    // gateway never confirmed a payment for it, so the cluster stays unpaid.
    const cluster = await paidCluster({ openWith: { pricePerSecond: 1n } });
    await db.cluster.update({ where: { id: cluster.id }, data: { status: "REQUESTED" } });
    expect(await advanceDeploy(deployDeps(agents), cluster.id)).toEqual({ state: "waiting-payment" });
    expect(agents.assigned).toEqual([]);
    // The sweep expires the unpaid quote; the lease sync then cancels the lease.
    await db.$transaction(async (tx) => {
      const { transitionClusterInTx } = await import("@gpumesh/db");
      await transitionClusterInTx(tx, cluster.id, "FAILED", "payment not received", { expectedFrom: "REQUESTED", at: now() });
    });
    const outcome = await settle.chain.syncLease(cluster.id);
    expect(outcome.finished).toBe(true);
    const lease = (await fetchLease(connection(), chain.demoRenter.publicKey, cluster.leaseId!))!;
    expect(lease).toMatchObject({ status: "cancelled", startTs: 0n, totalGross: 0n, allocationCount: 0 });
    expect(await balance(ata(chain.demoRenter.publicKey))).toBe(renterBefore);

  }, 120_000);
});
