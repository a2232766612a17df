import { LedgerAccounts } from "@gpumesh/core";
import { createTestDatabase, type TestDatabase } from "@gpumesh/devstack";
import { checkExtension, createDb, ledgerBalance, recordEndRequest, seedCatalogue, type Db } from "@gpumesh/db";
import { associatedTokenAddress, ChainGateway, fetchLease, ix, pdas, sendInstructions, type ExpectedTransaction, type TransactionRecorder } from "@gpumesh/chain";
import { bootstrapLocalnet, buildLocalnet, registerNewSupplier, startLocalnet, tokenBalance as readTokenBalance, warpClock, type LocalnetAccounts, type RunningLocalnet } from "@gpumesh/chain/localnet";
import { extensionRecorder, paymentRecorder } from "@gpumesh/chain/store";
import { jobIds, jobs } from "@gpumesh/queue";
import { type Keypair, type PublicKey, Transaction, type TransactionInstruction } from "@solana/web3.js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readProgramConfig } from "../src/chain-context.ts";
import { advanceDeploy, handleAgentResponse } from "../src/jobs/deploy.ts";
import { chainIndexPass } from "../src/jobs/index-chain.ts";
import { reconcileLease } from "../src/jobs/reconcile.ts";
import { endCluster, expireLease, NotYetDueError, settlePeriod } from "../src/jobs/settle.ts";
import { chainSettleDeps, ScriptedAgents, scriptedDeployDeps } from "./chain-jobs.ts";

// A lease extension end to end on a real chain (programs/localnet) and real Postgres: the renter's
// wallet signs extend_lease, the gateway checks, submits and records it (extensionRecorder); a second
// extension is sent from the wallet alone and booked by the chain indexer. The lease keeps running past
// its first end (the expiry job of that end re-schedules itself), ends at the last end, and the chain
// and the ledger agree to the base unit. Job functions are driven directly with one clock for the
// scheduler and the chain (localnet's clock is warped by the same amount), as in money.test.ts.

const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });
const MESH = "MESH" as const;
const PRICE = 400n;

let localnet: RunningLocalnet;
let chain: LocalnetAccounts;
let gateway: ChainGateway;
let database: TestDatabase;
let db: Db;
let offset = 0;
const now = () => new Date(Date.now() + offset * 1000);
async function advance(seconds: number) {
  offset += seconds;
  await warpClock(localnet.url, seconds);
}
const connection = () => localnet.connection;
const balance = async (account: PublicKey) => ((await connection().getAccountInfo(account, "confirmed")) ? readTokenBalance(connection(), account) : 0n);
const ata = (owner: PublicKey) => associatedTokenAddress(chain.meshMint, owner);
const unix = (date: Date) => BigInt(Math.floor(date.getTime() / 1000));

let renterAccountId: string;
let supplier: { id: string; deviceId: string; authority: Keypair; payout: Keypair };

beforeAll(async () => {
  await buildLocalnet();
  localnet = await startLocalnet();
  chain = await bootstrapLocalnet(localnet.connection);
  gateway = new ChainGateway(localnet.connection);
  database = await createTestDatabase("extension");
  db = createDb(database.url);
  await seedCatalogue(db);
  renterAccountId = (await db.account.create({ data: { walletAddress: chain.demoRenter.publicKey.toBase58() } })).id;
  const keys = await registerNewSupplier(connection());
  const account = await db.account.create({ data: { walletAddress: keys.authority.publicKey.toBase58() } });
  const row = await db.supplier.create({ data: { accountId: account.id, name: "extension" } });
  const device = await db.device.create({
    data: {
      supplierId: row.id, name: "node", gpuModelId: "h100-80gb", gpuCount: 4, vramGb: 80, cpuModel: "EPYC 9654", cpuCores: 96, ramGb: 1024, diskGb: 8192,
      region: "eu-west", country: "DE", city: "Frankfurt", bandwidthUpMbps: 25_000, bandwidthDownMbps: 25_000, pricePerGpuHour: 2_000_000n,
      status: "ONLINE", lastHeartbeatAt: new Date(), verificationScoreBps: 9_500,
    },
  });
  supplier = { id: row.id, deviceId: device.id, ...keys };
}, 1_800_000);

afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
  await localnet?.stop();
});


/** The renter's wallet signs what the server built; the gateway checks it against that, submits, confirms and records it. */
async function walletSigned<R>(built: TransactionInstruction, recorder: TransactionRecorder<R>) {
  const renter = chain.demoRenter;
  const { blockhash, lastValidBlockHeight } = await connection().getLatestBlockhash("confirmed");
  const expected: ExpectedTransaction = { instructions: [built], feePayer: renter.publicKey, recentBlockhash: blockhash, lastValidBlockHeight };
  const signed = new Transaction({ feePayer: renter.publicKey, blockhash, lastValidBlockHeight }).add(built);
  signed.sign(renter);
  return gateway.submitSigned(signed.serialize().toString("base64"), expected, recorder);
}

/**
 * A 1-hour MESH cluster whose lease the renter's wallet opened (recorded by the gateway), deployed on
 * the one device, acknowledged, running, and its lease activated on-chain.
 */
async function runningCluster(name: string) {
  const agents = new ScriptedAgents();
  const deploy = scriptedDeployDeps(db, agents, silent, now);
  const settle = chainSettleDeps(db, gateway, chain, agents, silent, now);
  const renter = chain.demoRenter;
  const renterToken = ata(renter.publicKey);
  const leaseId = BigInt(Date.now());
  const deposit = PRICE * 3_600n;
  const cluster = await db.cluster.create({
    data: {
      renterId: renterAccountId, name, type: "RAY", gpuModelIds: ["h100-80gb"], gpuCount: 4, regions: ["eu-west"], supplierNetworks: ["GPUMESH"],
      durationHours: 1, pricePerSecond: PRICE, depositAmount: deposit, paymentToken: MESH, status: "PAID", leaseId,
    },
  });
  await walletSigned(ix.openLease({ renter: renter.publicKey, mint: chain.meshMint, renterToken }, { leaseId, pricePerSecond: PRICE, maxSeconds: 3_600n }),
    paymentRecorder(db, { accountId: renterAccountId, clusterId: cluster.id, token: MESH, amount: deposit, rates: { feeBps: chain.feeBps, burnBps: chain.burnBps } }));
  expect(await advanceDeploy(deploy, cluster.id)).toMatchObject({ state: "waiting-acks", pending: 1 });
  await advance(5);
  const assignment = agents.assigned[0]!;
  expect(await handleAgentResponse(deploy, { allocationId: assignment.allocationId, clusterId: cluster.id, deviceId: assignment.deviceId, accepted: true, at: now().toISOString() })).toMatchObject({ state: "running" });
  await settle.chain.syncLease(cluster.id);
  const running = await db.cluster.findUniqueOrThrow({ where: { id: cluster.id } });
  expect((await fetchLease(connection(), renter.publicKey, leaseId))!).toMatchObject({ status: "active", endTs: unix(running.endsAt!) });
  const extendLease = (seconds: bigint) => ix.extendLease({ lease: pdas.lease(renter.publicKey, leaseId)[0], renter: renter.publicKey, mint: chain.meshMint, renterToken }, seconds);
  return { cluster: running, leaseId, deposit, settle, extendLease };
}

const indexPass = () => chainIndexPass(db, { connection: connection(), programId: gateway.programId, config: () => readProgramConfig(connection()) });

describe("lease extension on a real chain", () => {
  it("extended twice (through the gateway, then from the wallet alone), runs past its first end, ends at the last: chain = ledger to the base unit", async () => {
    const renter = chain.demoRenter;
    const renterToken = ata(renter.publicKey);
    const renterBefore = await balance(renterToken);
    const payoutBefore = await balance(ata(supplier.payout.publicKey));
    const { cluster: running, leaseId, settle, extendLease } = await runningCluster("extended");
    const cluster = running;
    const firstEnd = running.endsAt!;

    // 40 minutes in, the renter extends by 30 minutes: quoted, signed by the wallet, recorded by the gateway.
    await advance(2_400);
    const quote = await checkExtension(db, cluster.id, 1_800, now());
    expect(quote).toMatchObject({ ok: true, amount: PRICE * 1_800n, endsAt: firstEnd, newEndsAt: new Date(firstEnd.getTime() + 1_800_000) });
    const extended = await walletSigned(extendLease(1_800n),
      extensionRecorder(db, { clusterId: cluster.id, accountId: renterAccountId, addSeconds: 1_800 }));
    const secondEnd = new Date(firstEnd.getTime() + 1_800_000);
    expect(extended.record).toMatchObject({ created: true, extended: true, endsAt: secondEnd, payment: { kind: "EXTENSION", amount: PRICE * 1_800n } });
    // The producer's follow-up: the new end's expiry (its own id; the first end's job stays, and will not end the lease).
    expect(jobs.expiry(cluster.id, secondEnd).jobId).not.toBe(jobIds.expiry(cluster.id, firstEnd));
    let onChain = (await fetchLease(connection(), renter.publicKey, leaseId))!;
    expect(onChain).toMatchObject({ endTs: unix(secondEnd), maxSeconds: 5_400n, deposited: PRICE * 5_400n });
    expect((await db.allocation.findFirstOrThrow({ where: { clusterId: cluster.id, status: "ACTIVE" } })).endsAt).toEqual(secondEnd);
    // Replaying the recorder records nothing more.
    expect(await db.payment.count({ where: { clusterId: cluster.id, kind: "EXTENSION" } })).toBe(1);

    // The first hour is settled; then the first end passes: its expiry job re-schedules itself, the lease runs on.
    await advance(1_200);
    await settlePeriod(settle, cluster.id, running.startedAt!);
    await advance(60);
    expect(await expireLease(settle, cluster.id, firstEnd)).toEqual({ state: "moved", endsAt: secondEnd });
    expect((await db.cluster.findUniqueOrThrow({ where: { id: cluster.id } })).status).toBe("RUNNING");
    // The new end's own job, fired a little early, is retried rather than ending anything.
    await expect(expireLease(settle, cluster.id, secondEnd)).rejects.toBeInstanceOf(NotYetDueError);

    // The renter extends again from the wallet alone (no server in the loop): the chain indexer books it.
    await sendInstructions(connection(), [extendLease(600n)], [renter]);
    const index = indexPass();
    await index();
    const thirdEnd = new Date(secondEnd.getTime() + 600_000);
    const afterIndex = await db.cluster.findUniqueOrThrow({ where: { id: cluster.id } });
    expect([afterIndex.endsAt, afterIndex.depositAmount]).toEqual([thirdEnd, PRICE * 6_000n]);
    expect(await db.payment.count({ where: { clusterId: cluster.id, kind: "EXTENSION" } })).toBe(2);
    await index(); // the cursor moved: nothing booked twice
    expect(await db.payment.count({ where: { clusterId: cluster.id, kind: "EXTENSION" } })).toBe(2);
    onChain = (await fetchLease(connection(), renter.publicKey, leaseId))!;
    expect(onChain).toMatchObject({ endTs: unix(thirdEnd), deposited: PRICE * 6_000n });

    // Past the second end: re-scheduled again. Past the third: the lease ends there, on-chain too.
    await advance(1_800);
    expect(await expireLease(settle, cluster.id, secondEnd)).toEqual({ state: "moved", endsAt: thirdEnd });
    await advance(600);
    const ended = await expireLease(settle, cluster.id, thirdEnd);
    expect(ended.state).toBe("ended");
    const final = await db.cluster.findUniqueOrThrow({ where: { id: cluster.id } });
    expect(final.status).toBe("ENDED");
    expect(final.endedAt).toEqual(new Date(Number(unix(thirdEnd)) * 1000));
    onChain = (await fetchLease(connection(), renter.publicKey, leaseId))!;
    expect(onChain.status).toBe("closed");
    expect(onChain.endTs).toBe(unix(thirdEnd));

    // To the base unit: 6 000 s were served and paid, which is the whole escrow (3 600 s + 1 800 s + 600 s
    // bought); the supplier got what the ledger credited; the escrow is empty in both.
    const served = unix(thirdEnd) - onChain.startTs;
    expect(served).toBe(6_000n);
    expect(onChain.totalGross).toBe(PRICE * served);
    expect(onChain.totalGross + onChain.refunded).toBe(final.depositAmount);
    expect(await ledgerBalance(db, LedgerAccounts.escrow(cluster.id, MESH))).toBe(0n);
    // Ended exactly at its paid end: nothing to refund (no refund journal), and the chain agrees.
    const refund = (await db.journal.findUnique({ where: { reference: `refund:${cluster.id}` }, select: { entries: { where: { amount: { gt: 0n } } } } }))?.entries[0]?.amount ?? 0n;
    expect(refund).toBe(0n);
    expect(onChain.refunded).toBe(refund);
    expect(await balance(renterToken)).toBe(renterBefore - final.depositAmount + refund);
    expect((await balance(ata(supplier.payout.publicKey))) - payoutBefore).toBe(await ledgerBalance(db, LedgerAccounts.supplierEarnings(supplier.id, MESH)));
    expect(await reconcileLease({ db, chain: { connection: connection(), programId: gateway.programId } as never, logger: silent }, cluster.id)).toEqual({ ok: true, mismatches: [] });
  }, 300_000);

  it("a top-up sent from the wallet after the renter asked to end: booked into escrow without moving the end, refunded by end_lease, chain = ledger", async () => {
    const renter = chain.demoRenter;
    const renterToken = ata(renter.publicKey);
    const renterBefore = await balance(renterToken);
    const { cluster, leaseId, deposit, settle, extendLease } = await runningCluster("ending");
    const endsAt = cluster.endsAt!;

    // 10 minutes in, the renter asks to end; the end job has not run yet when their wallet extends the lease.
    await advance(600);
    await recordEndRequest(db, cluster.id, now());
    expect(await checkExtension(db, cluster.id, 1_200, now())).toEqual({ ok: false, refusal: { code: "ending" } });
    await sendInstructions(connection(), [extendLease(1_200n)], [renter]);
    await indexPass()();
    const booked = await db.cluster.findUniqueOrThrow({ where: { id: cluster.id } });
    expect([booked.endsAt, booked.depositAmount]).toEqual([endsAt, deposit + PRICE * 1_200n]);
    expect(await db.payment.count({ where: { clusterId: cluster.id, kind: "EXTENSION" } })).toBe(1);

    // The end: at the request, on-chain too; the top-up comes back with the refund, to the base unit.
    await advance(5);
    const ended = await endCluster(settle, cluster.id, "terminated by the renter");
    const onChain = (await fetchLease(connection(), renter.publicKey, leaseId))!;
    expect(onChain.status).toBe("closed");
    expect(onChain.refunded).toBe(ended!.refund);
    expect(onChain.totalGross + onChain.refunded).toBe(deposit + PRICE * 1_200n);
    expect(ended!.refund).toBeGreaterThan(PRICE * 1_200n);
    expect(await ledgerBalance(db, LedgerAccounts.escrow(cluster.id, MESH))).toBe(0n);
    expect(await balance(renterToken)).toBe(renterBefore - onChain.totalGross);
    expect(await reconcileLease({ db, chain: { connection: connection(), programId: gateway.programId } as never, logger: silent }, cluster.id)).toEqual({ ok: true, mismatches: [] });
  }, 300_000);
});
