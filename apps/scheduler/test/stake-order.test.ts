import { randomUUID } from "node:crypto";
import { fetchDeviceStake, ix, requiredStake, sendInstructions, sendRawAndConfirm } from "@gpumesh/chain";
import { airdrop, bootstrapLocalnet, buildLocalnet, fundTokens, startLocalnet, tokenBalance, type LocalnetAccounts, type RunningLocalnet } from "@gpumesh/chain/localnet";
import { createDb, seedCatalogue, type Db } from "@gpumesh/db";
import { createTestDatabase, testRedis, type TestDatabase } from "@gpumesh/devstack";
import { createRequester, type Requester, type StakeOrderAnswer } from "@gpumesh/queue";
import { Keypair, Transaction, type PublicKey } from "@solana/web3.js";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSchedulerEnv } from "../src/env.ts";
import { startScheduler, type RunningScheduler } from "../src/scheduler.ts";

// The stake order end to end: the web's request goes through BullMQ (real Redis) to the scheduler,
// which checks the device against Postgres, sizes the stake from the catalogue and co-signs
// stake_device as the settlement authority on a real localnet; the wallet (a keypair here) signs and
// sends it. The co-signature binds the whole message: a wallet that changes the amount or the weight
// voids it, and the chain refuses the transaction.

const MESH = 1_000_000n;
let localnet: RunningLocalnet;
let chain: LocalnetAccounts;
let database: TestDatabase;
let db: Db;
let scheduler: RunningScheduler;
let requester: Requester;
const supplier = Keypair.generate();
let supplierToken: PublicKey;
let deviceId: string;
let cpuDeviceId: string;
let otherDeviceId: string;
const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? "silent" });

async function deviceOf(wallet: string, gpuModelId: string | null, gpuCount: number): Promise<string> {
  const account = await db.account.upsert({ where: { walletAddress: wallet }, create: { walletAddress: wallet }, update: {} });
  const owner = await db.supplier.upsert({ where: { accountId: account.id }, create: { accountId: account.id, name: `supplier ${wallet.slice(0, 4)}` }, update: {} });
  const device = await db.device.create({
    data: {
      supplierId: owner.id, name: `stake-${randomUUID().slice(0, 8)}`, gpuModelId, gpuCount, vramGb: 80, cpuModel: "EPYC", cpuCores: 32, ramGb: 256, diskGb: 2048,
      region: "eu-west", country: "DE", city: "Berlin", bandwidthUpMbps: 1_000, bandwidthDownMbps: 1_000, pricePerGpuHour: 2_000_000n,
    },
  });
  return device.id;
}

const ok = (answer: StakeOrderAnswer) => {
  if (!answer.ok) throw new Error(`refused: ${answer.code} ${answer.message}`);
  return answer;
};

/** The wallet signs what the scheduler built (`tamper` first, as a malicious wallet would) and sends it. */
async function signAndSend(order: { transaction: string; lastValidBlockHeight: number }, tamper?: (tx: Transaction) => void) {
  const tx = Transaction.from(Buffer.from(order.transaction, "base64"));
  tamper?.(tx);
  tx.partialSign(supplier);
  return sendRawAndConfirm(localnet.connection, tx.serialize({ requireAllSignatures: false, verifySignatures: false }), order.lastValidBlockHeight);
}

beforeAll(async () => {
  await buildLocalnet();
  localnet = await startLocalnet();
  chain = await bootstrapLocalnet(localnet.connection);
  database = await createTestDatabase("stake_order");
  db = createDb(database.url);
  await seedCatalogue(db);
  await airdrop(localnet.connection, supplier.publicKey, 10);
  supplierToken = await fundTokens(localnet.connection, chain, chain.meshMint, supplier.publicKey, 20_000n * MESH);
  deviceId = await deviceOf(supplier.publicKey.toBase58(), "h100-80gb", 8);
  cpuDeviceId = await deviceOf(supplier.publicKey.toBase58(), null, 0);
  otherDeviceId = await deviceOf(Keypair.generate().publicKey.toBase58(), "h100-80gb", 1);
  const redis = testRedis();
  const env = loadSchedulerEnv({
    DATABASE_URL: database.url, REDIS_URL: redis.url, QUEUE_PREFIX: redis.prefix, LOG_LEVEL: "silent",
    SOLANA_RPC_URL: localnet.url, SETTLEMENT_AUTHORITY_KEYPAIR: "dev", REWARDS_AUTHORITY_KEYPAIR: "dev",
  });
  scheduler = await startScheduler(env, silent, { sweeps: false });
  requester = createRequester(redis.url, { prefix: redis.prefix, timeoutMs: 30_000 });
}, 900_000);

afterAll(async () => {
  await requester?.close();
  await scheduler?.stop();
  await db?.$disconnect();
  await database?.drop();
  await localnet?.stop();
});

describe("stake order", () => {
  it("refuses another wallet's device as if it did not exist, and a device without a catalogued GPU", async () => {
    expect(await requester.stakeOrder({ deviceId: otherDeviceId, wallet: supplier.publicKey.toBase58() })).toEqual({ ok: false, code: "NOT_FOUND", message: "device not found" });
    expect(await requester.stakeOrder({ deviceId: randomUUID(), wallet: supplier.publicKey.toBase58() })).toMatchObject({ ok: false, code: "NOT_FOUND" });
    expect(await requester.stakeOrder({ deviceId: cpuDeviceId, wallet: supplier.publicKey.toBase58() })).toMatchObject({ ok: false, code: "CONFLICT" });
  });

  it("a wallet that changes the amount or the weight voids the settlement authority's signature: the chain refuses it", async () => {
    const order = ok(await requester.stakeOrder({ deviceId, wallet: supplier.publicKey.toBase58() }));
    const before = await tokenBalance(localnet.connection, supplierToken);
    // The amount is the last 8 bytes of the instruction data: the wallet asks to stake 1 base unit instead.
    const lower = (tx: Transaction) => {
      const data = Buffer.from(tx.instructions[0]!.data);
      data.writeBigUInt64LE(1n, data.length - 8);
      tx.instructions[0]!.data = data;
    };
    await expect(signAndSend(order, lower)).rejects.toThrow(/signature/i);
    expect(await tokenBalance(localnet.connection, supplierToken)).toBe(before);
    expect(await fetchDeviceStake(localnet.connection, deviceId)).toBeNull();
  });

  it("co-signs stake_device for the catalogue weight (8 × H100 = 80,000 bps, 8,000 MESH); the wallet signs and the stake lands", async () => {
    const order = ok(await requester.stakeOrder({ deviceId, wallet: supplier.publicKey.toBase58() }));
    expect(order).toMatchObject({ weightBps: 80_000, amount: (8_000n * MESH).toString(), required: (8_000n * MESH).toString(), settlementAuthority: chain.settlementAuthority.publicKey.toBase58() });
    const tx = Transaction.from(Buffer.from(order.transaction, "base64"));
    expect(tx.feePayer?.toBase58()).toBe(supplier.publicKey.toBase58());
    // Signed by the settlement authority only; the wallet's signature is still to come.
    expect(tx.signatures.map((s) => [s.publicKey.toBase58(), s.signature !== null])).toEqual([
      [supplier.publicKey.toBase58(), false],
      [chain.settlementAuthority.publicKey.toBase58(), true],
    ]);
    const before = await tokenBalance(localnet.connection, supplierToken);
    await signAndSend(order);
    expect(await tokenBalance(localnet.connection, supplierToken)).toBe(before - 8_000n * MESH);
    expect(await fetchDeviceStake(localnet.connection, deviceId)).toMatchObject({ amount: 8_000n * MESH, required: requiredStake(80_000), weightBps: 80_000 });
    expect(await requester.stakeOrder({ deviceId, wallet: supplier.publicKey.toBase58() })).toMatchObject({ ok: false, code: "CONFLICT", message: "this device is already fully staked" });
  });

  it("after a slash, the order tops the stake up to exactly the required amount; while unstaking it refuses", async () => {
    await sendInstructions(localnet.connection, [ix.slashStake(chain.settlementAuthority.publicKey, chain.meshMint, { deviceId, amount: 300n * MESH, reason: "FailedProof", evidenceHash: new Uint8Array(32).fill(3) })], [chain.settlementAuthority]);
    const order = ok(await requester.stakeOrder({ deviceId, wallet: supplier.publicKey.toBase58() }));
    expect(order.amount).toBe((300n * MESH).toString());
    await signAndSend(order);
    expect((await fetchDeviceStake(localnet.connection, deviceId))?.amount).toBe(8_000n * MESH);

    await sendInstructions(localnet.connection, [ix.requestUnstake(supplier.publicKey, deviceId)], [supplier]);
    expect(await requester.stakeOrder({ deviceId, wallet: supplier.publicKey.toBase58() })).toMatchObject({ ok: false, code: "CONFLICT", message: expect.stringMatching(/unstaking/) });
  });
});
