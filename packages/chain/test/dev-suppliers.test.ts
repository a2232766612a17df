import { existsSync } from "node:fs";
import { deviceStakeWeightBps } from "@gpumesh/core";
import { createDb, epochContributionInputs, seedSimulatedNetwork, type Db } from "@gpumesh/db";
import { createTestDatabase, type TestDatabase } from "@gpumesh/devstack";
import { getAssociatedTokenAddressSync } from "@solana/spl-token";
import { Keypair, PublicKey } from "@solana/web3.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChainIndexer, decodeAccount, fetchAllocations, fetchDeviceStake, fetchLease, findEvent, ix, requiredStake, sendInstructions } from "../src/index.ts";
import { PrismaChainIndexStore } from "../src/store.ts";
import {
  airdrop, bootstrapLocalnet, buildLocalnet, devSupplierKeypair, fundTokens, localnetBinary, registerSuppliers, stakeDevices, startLocalnet, supplierChainIdentity, tokenBalance, warpClock,
  type LocalnetAccounts, type RunningLocalnet,
} from "../src/localnet.ts";

// `pnpm dev`'s seeded suppliers on-chain: the seed writes the dev keys' identities, one batched pass
// registers them (a second pass sends nothing), and the settlement authority allocates a renter's
// real lease to one of them, read back from Postgres the way the scheduler reads it.

const SUPPLIERS = 12;
let localnet: RunningLocalnet;
let chain: LocalnetAccounts;
let database: TestDatabase;
let db: Db;

beforeAll(async () => {
  localnet = await startLocalnet({ binary: existsSync(localnetBinary()) ? localnetBinary() : await buildLocalnet() });
  chain = await bootstrapLocalnet(localnet.connection);
  database = await createTestDatabase("devsuppliers");
  db = createDb(database.url);
  await seedSimulatedNetwork(db, { suppliers: SUPPLIERS, devices: 30, supplierIdentity: (index) => supplierChainIdentity(devSupplierKeypair(index).publicKey) });
}, 900_000);

afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
  await localnet?.stop();
});

const seededSuppliers = () => db.supplier.findMany({ select: { onChainAddress: true, payoutTokenAccount: true, account: { select: { walletAddress: true } } } });

describe("seeded dev suppliers on localnet", () => {
  it("the seed writes each supplier's dev wallet, Supplier PDA and USDC payout account", async () => {
    const rows = await seededSuppliers();
    expect(rows).toHaveLength(SUPPLIERS);
    const expected = Array.from({ length: SUPPLIERS }, (_, i) => supplierChainIdentity(devSupplierKeypair(i).publicKey));
    expect(rows.map((r) => ({ walletAddress: r.account.walletAddress, onChainAddress: r.onChainAddress, payoutTokenAccount: r.payoutTokenAccount })).sort((a, b) => a.walletAddress.localeCompare(b.walletAddress))).toEqual(
      expected.sort((a, b) => a.walletAddress.localeCompare(b.walletAddress)),
    );
    // Deterministic: the same index gives the same key on every start.
    expect(devSupplierKeypair(3).publicKey.equals(devSupplierKeypair(3).publicKey)).toBe(true);
    expect(devSupplierKeypair(3).publicKey.equals(devSupplierKeypair(4).publicKey)).toBe(false);
  });

  it("registers them in a few batched transactions, with payout token accounts; a second pass is a no-op", async () => {
    const keys = Array.from({ length: SUPPLIERS }, (_, i) => devSupplierKeypair(i));
    const first = await registerSuppliers(localnet.connection, chain, keys);
    // 5 registrations per transaction and 6 payout wallets (12 token accounts) per transaction.
    expect(first).toEqual({ registered: SUPPLIERS, alreadyRegistered: 0, tokenAccountsCreated: 2 * SUPPLIERS, transactions: Math.ceil(SUPPLIERS / 5) + Math.ceil(SUPPLIERS / 6) });
    for (const row of await seededSuppliers()) {
      const info = await localnet.connection.getAccountInfo(new PublicKey(row.onChainAddress!));
      const record = decodeAccount<{ authority: PublicKey; payout_wallet: PublicKey }>("Supplier", info!.data);
      expect(record.authority.toBase58()).toBe(row.account.walletAddress);
      expect(record.payout_wallet.toBase58()).toBe(row.account.walletAddress);
      expect(await tokenBalance(localnet.connection, new PublicKey(row.payoutTokenAccount!))).toBe(0n);
      expect(await tokenBalance(localnet.connection, getAssociatedTokenAddressSync(chain.meshMint, record.payout_wallet))).toBe(0n);
    }
    const signaturesBefore = await localnet.connection.getTransactionCount();
    const second = await registerSuppliers(localnet.connection, chain, keys);
    expect(second).toEqual({ registered: 0, alreadyRegistered: SUPPLIERS, tokenAccountsCreated: 0, transactions: 0 });
    expect(await localnet.connection.getTransactionCount()).toBe(signaturesBefore);
  });

  it("48 suppliers register in seconds", async () => {
    const keys = Array.from({ length: 48 }, (_, i) => devSupplierKeypair(1_000 + i));
    const started = Date.now();
    const result = await registerSuppliers(localnet.connection, chain, keys);
    expect(result.registered).toBe(48);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("stakes every seeded GPU device's required MESH in batches (a second pass sends nothing); the indexer mirrors them and the rewards epoch counts them staked", async () => {
    const keys = new Map(Array.from({ length: SUPPLIERS }, (_, i) => devSupplierKeypair(i)).map((key) => [key.publicKey.toBase58(), key]));
    const devices = await db.device.findMany({ where: { gpuCount: { gt: 0 } }, select: { id: true, gpuModelId: true, gpuCount: true, supplier: { select: { account: { select: { walletAddress: true } } } } } });
    const stakes = devices.map((d) => ({ authority: keys.get(d.supplier.account.walletAddress)!, deviceId: d.id, weightBps: deviceStakeWeightBps(d.gpuModelId, d.gpuCount) }));
    const supply = async () => BigInt((await localnet.connection.getTokenSupply(chain.meshMint)).value.amount);
    const before = await supply();
    const first = await stakeDevices(localnet.connection, chain, stakes);
    expect(first.staked).toBe(stakes.filter((s) => s.weightBps > 0).length);
    // Far fewer transactions than devices: funding three suppliers, staking four devices per transaction.
    expect(first.transactions).toBeLessThan(stakes.length);
    // Staking moves MESH into vaults; it mints and burns nothing.
    expect(await supply()).toBe(before);
    for (const stake of stakes.filter((s) => s.weightBps > 0)) {
      const account = await fetchDeviceStake(localnet.connection, stake.deviceId);
      expect(account).toMatchObject({ authority: stake.authority.publicKey, amount: requiredStake(stake.weightBps), weightBps: stake.weightBps });
    }
    const signaturesBefore = await localnet.connection.getTransactionCount();
    expect(await stakeDevices(localnet.connection, chain, stakes)).toEqual({ staked: 0, alreadyStaked: first.staked, transactions: 0 });
    expect(await localnet.connection.getTransactionCount()).toBe(signaturesBefore);

    await new ChainIndexer(localnet.connection, new PrismaChainIndexStore(db, chain.meshMint), { programId: chain.programId }).catchUp();
    const hour = { epoch: 1, start: new Date(Date.now() - 3_600_000), end: new Date() };
    const inputs = await epochContributionInputs(db, hour, 0);
    expect(inputs.length).toBeGreaterThan(0);
    expect(inputs.filter((i) => !i.staked).map((i) => i.deviceId)).toEqual(stakes.filter((s) => s.weightBps === 0).map((s) => s.deviceId));
  });

  it("the settlement authority allocates a renter's real lease to a seeded supplier and settles into its payout account", async () => {
    const connection = localnet.connection;
    const renter = Keypair.generate();
    await airdrop(connection, renter.publicKey, 10);
    const renterToken = await fundTokens(connection, chain, chain.usdcMint, renter.publicKey, 1_000_000_000n);
    const terms = { leaseId: 7n, pricePerSecond: 1_000n, maxSeconds: 3_600n };
    await sendInstructions(connection, [ix.openLease({ renter: renter.publicKey, mint: chain.usdcMint, renterToken }, terms)], [renter]);
    const opened = (await fetchLease(connection, renter.publicKey, terms.leaseId))!;
    expect(opened.status).toBe("pending");

    // The supplier as the scheduler finds it: the seeded account's wallet is the on-chain authority.
    const row = (await seededSuppliers())[0]!;
    const supplier = new PublicKey(row.account.walletAddress);
    const authority = chain.settlementAuthority;
    await warpClock(localnet.url, 10);
    const start = opened.openedAt + 5n;
    const added = await sendInstructions(
      connection,
      [
        ix.activateLease(authority.publicKey, opened.address, { startTs: start, pricePerSecond: terms.pricePerSecond, maxSeconds: terms.maxSeconds }),
        ix.addAllocation(authority.publicKey, opened.address, 0, supplier, { ratePerSecond: terms.pricePerSecond, fromTs: start }),
      ],
      [authority],
    );
    const tx = await connection.getTransaction(added.signature, { commitment: "confirmed", maxSupportedTransactionVersion: 0 });
    expect(findEvent(tx?.meta?.logMessages ?? [], "AllocationAdded")).toMatchObject({ index: 0, supplier, ratePerSecond: terms.pricePerSecond, fromTs: start });
    const [allocation] = await fetchAllocations(connection, opened.address, 1);
    expect(allocation?.supplier.toBase58()).toBe(row.account.walletAddress);

    await warpClock(localnet.url, 60);
    const treasuryToken = getAssociatedTokenAddressSync(chain.usdcMint, chain.treasury.publicKey);
    const payout = new PublicKey(row.payoutTokenAccount!);
    await sendInstructions(
      connection,
      [ix.settleAllocation({ lease: opened.address, index: 0, mint: chain.usdcMint, supplierAuthority: supplier, supplierToken: payout, treasuryToken }, start + 60n)],
      [authority],
    );
    const gross = terms.pricePerSecond * 60n;
    expect(await tokenBalance(connection, payout)).toBe(gross - (gross * BigInt(chain.feeBps)) / 10_000n);
  });
});
