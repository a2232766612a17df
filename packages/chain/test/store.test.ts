import { randomBytes } from "node:crypto";
import { createDb, type Db } from "@gpumesh/db";
import { createTestDatabase, type TestDatabase } from "@gpumesh/devstack";
import { Keypair } from "@solana/web3.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LandedTransaction } from "../src/gateway.ts";
import { paymentRecorder } from "../src/store.ts";

// The gateway's deposit recorder against Postgres alone (no chain): the landed transaction is
// written by hand, as the gateway hands it over after confirmation.

let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  database = await createTestDatabase("chain_store");
  db = createDb(database.url);
});

afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
});

async function quote(deposit: bigint) {
  const renter = Keypair.generate().publicKey;
  const account = await db.account.create({ data: { walletAddress: renter.toBase58() } });
  const cluster = await db.cluster.create({
    data: {
      renterId: account.id, name: "store test", type: "CONTAINER", gpuModelIds: ["h100-80gb"], gpuCount: 1, regions: ["eu-west"], supplierNetworks: ["GPUMESH"],
      durationHours: 1, pricePerSecond: deposit / 3_600n, depositAmount: deposit, leaseId: BigInt(`0x${randomBytes(7).toString("hex")}`),
    },
  });
  const lease = Keypair.generate().publicKey;
  const landed: LandedTransaction = {
    signature: randomBytes(48).toString("hex").slice(0, 88),
    slot: 42,
    logs: [],
    events: [
      {
        name: "LeaseOpened",
        data: { lease, leaseId: cluster.leaseId!, renter, mint: Keypair.generate().publicKey, pricePerSecond: deposit / 3_600n, maxSeconds: 3_600n, openedAt: 0n, activationDeadline: 0n, deposited: deposit },
      },
    ],
  };
  const recorder = paymentRecorder(db, { accountId: account.id, clusterId: cluster.id, token: "USDC", amount: deposit, rates: { feeBps: 250, burnBps: 5_000 } });
  return { account, cluster, lease, landed, recorder };
}

describe("paymentRecorder", () => {
  it("records the deposit for the order's cluster once, and names the cluster's lease", async () => {
    const { cluster, lease, landed, recorder } = await quote(7_200n);
    const first = await recorder.record(landed);
    expect(first.created).toBe(true);
    expect(first.record).toMatchObject({ clusterId: cluster.id, kind: "DEPOSIT", amount: 7_200n, txSignature: landed.signature, status: "CONFIRMED" });
    const again = await recorder.record(landed);
    expect(again).toMatchObject({ created: false, record: { id: first.record.id, clusterId: cluster.id } });
    expect(await db.cluster.findUniqueOrThrow({ where: { id: cluster.id } })).toMatchObject({ leasePda: lease.toBase58(), feeBps: 250, burnBps: 5_000 });
  });

  it("links a deposit the indexer booked first, before the cluster named its lease, to the order's cluster", async () => {
    const { account, cluster, landed, recorder } = await quote(3_600n);
    // What the indexer writes for a LeaseOpened whose lease address no cluster carries yet.
    const indexed = await db.payment.create({
      data: { accountId: account.id, clusterId: null, kind: "DEPOSIT", token: "USDC", amount: 3_600n, txSignature: landed.signature, eventIndex: 0, status: "CONFIRMED", slot: 42n, confirmedAt: new Date() },
    });
    const result = await recorder.record(landed);
    expect(result.created).toBe(false);
    expect(result.record).toMatchObject({ id: indexed.id, clusterId: cluster.id });
    expect(await db.payment.count({ where: { txSignature: landed.signature } })).toBe(1);
  });

  it("never takes over another wallet's payment of the same signature", async () => {
    const { landed, recorder } = await quote(3_600n);
    const stranger = await db.account.create({ data: { walletAddress: Keypair.generate().publicKey.toBase58() } });
    await db.payment.create({
      data: { accountId: stranger.id, clusterId: null, kind: "DEPOSIT", token: "USDC", amount: 3_600n, txSignature: landed.signature, eventIndex: 0, status: "CONFIRMED" },
    });
    const result = await recorder.record(landed);
    expect(result.record).toMatchObject({ accountId: stranger.id, clusterId: null });
  });
});
