import { randomUUID } from "node:crypto";
import { createDb, type Db } from "@gpumesh/db";
import { createTestDatabase, type TestDatabase } from "@gpumesh/devstack";
import { Keypair, type PublicKey } from "@solana/web3.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChainIndexer, ix, pdas, requiredStake, sendInstructions, UNSTAKE_COOLDOWN_SECONDS } from "../src/index.ts";
import { airdrop, bootstrapLocalnet, buildLocalnet, fundTokens, startLocalnet, warpClock, type LocalnetAccounts, type RunningLocalnet } from "../src/localnet.ts";
import { PrismaChainIndexStore } from "../src/store.ts";

// The indexer mirrors a device's stake into `device_stake` against a real localnet and Postgres:
// stake, slash, top-up, unstake, withdraw and a fresh stake, each read back as the row the rewards
// epoch joins on; re-indexing the whole history from scratch leaves every row exactly as it was.

const MESH = 1_000_000n;
const H100 = 10_000;

let localnet: RunningLocalnet;
let chain: LocalnetAccounts;
let database: TestDatabase;
let db: Db;
let indexer: ChainIndexer;
const supplier = Keypair.generate();
let supplierToken: PublicKey;
const deviceId = randomUUID();

const connection = () => localnet.connection;
const accounts = () => ({ authority: supplier.publicKey, settlementAuthority: chain.settlementAuthority.publicKey, meshMint: chain.meshMint, authorityToken: supplierToken });
const stake = (amount: bigint) => sendInstructions(connection(), [ix.stakeDevice(accounts(), { deviceId, weightBps: H100, amount })], [supplier, chain.settlementAuthority]);
const row = () => db.deviceStake.findUnique({ where: { deviceId } });

beforeAll(async () => {
  await buildLocalnet();
  localnet = await startLocalnet();
  chain = await bootstrapLocalnet(localnet.connection);
  database = await createTestDatabase("stake_index");
  db = createDb(database.url);
  indexer = new ChainIndexer(connection(), new PrismaChainIndexStore(db, chain.meshMint), { programId: chain.programId });
  await airdrop(connection(), supplier.publicKey, 10);
  supplierToken = await fundTokens(connection(), chain, chain.meshMint, supplier.publicKey, 5_000n * MESH);
}, 900_000);

afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
  await localnet?.stop();
});

describe("device stake mirror", () => {
  it("a stake appears as STAKED with the required amount, the staker and the stake's address", async () => {
    const { signature } = await stake(requiredStake(H100));
    await indexer.catchUp();
    expect(await row()).toMatchObject({
      stakeAddress: pdas.deviceStake(deviceId)[0].toBase58(), staker: supplier.publicKey.toBase58(), weightBps: H100,
      amount: 1_000n * MESH, required: 1_000n * MESH, status: "STAKED", unstakeRequestedAt: null, withdrawableAt: null, slashedTotal: 0n, lastSignature: signature,
    });
  });

  it("a slash lowers the amount below the required (the device stops earning); a top-up brings it back", async () => {
    const evidence = new Uint8Array(32).fill(7);
    await sendInstructions(connection(), [ix.slashStake(chain.settlementAuthority.publicKey, chain.meshMint, { deviceId, amount: 250n * MESH, reason: "FailedProof", evidenceHash: evidence })], [chain.settlementAuthority]);
    await indexer.catchUp();
    expect(await row()).toMatchObject({ amount: 750n * MESH, required: 1_000n * MESH, slashedTotal: 250n * MESH, status: "STAKED" });
    const slashed = await db.chainEvent.findFirstOrThrow({ where: { name: "DeviceStakeSlashed" } });
    expect(slashed.data).toMatchObject({ reason: "FailedProof", evidenceHash: "07".repeat(32), remaining: (750n * MESH).toString() });

    await stake(250n * MESH);
    await indexer.catchUp();
    expect(await row()).toMatchObject({ amount: 1_000n * MESH, slashedTotal: 250n * MESH, status: "STAKED" });
  });

  it("an unstake request marks it UNSTAKING with the end of the cooldown; the withdrawal marks it WITHDRAWN at zero", async () => {
    await sendInstructions(connection(), [ix.requestUnstake(supplier.publicKey, deviceId)], [supplier]);
    await indexer.catchUp();
    const unstaking = await row();
    expect(unstaking).toMatchObject({ status: "UNSTAKING", amount: 1_000n * MESH });
    expect(unstaking!.withdrawableAt!.getTime() - unstaking!.unstakeRequestedAt!.getTime()).toBe(Number(UNSTAKE_COOLDOWN_SECONDS) * 1000);

    await warpClock(localnet.url, Number(UNSTAKE_COOLDOWN_SECONDS) + 1);
    await sendInstructions(connection(), [ix.withdrawStake({ authority: supplier.publicKey, meshMint: chain.meshMint, authorityToken: supplierToken }, deviceId)], [supplier]);
    await indexer.catchUp();
    expect(await row()).toMatchObject({ status: "WITHDRAWN", amount: 0n, slashedTotal: 250n * MESH });
  });

  it("staking again after the withdrawal starts a fresh stake (nothing unstaking, nothing slashed)", async () => {
    await stake(requiredStake(H100));
    await indexer.catchUp();
    expect(await row()).toMatchObject({ status: "STAKED", amount: 1_000n * MESH, slashedTotal: 0n, unstakeRequestedAt: null, withdrawableAt: null });
  });

  it("re-indexing the whole history from scratch changes nothing", async () => {
    const before = await db.deviceStake.findMany();
    await db.chainCursor.deleteMany();
    expect(await indexer.catchUp()).toBeGreaterThan(6);
    expect(await db.deviceStake.findMany()).toEqual(before);
  });
});
