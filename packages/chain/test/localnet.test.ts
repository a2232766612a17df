import { cumulativeEmission, GENESIS_SUPPLY, RewardTree, settlementSplit } from "@gpumesh/core";
import { createDb, type ChainEvent, type Db } from "@gpumesh/db";
import { createTestDatabase, type TestDatabase } from "@gpumesh/devstack";
import { getAssociatedTokenAddressSync } from "@solana/spl-token";
import { Keypair, PublicKey, Transaction, type TransactionInstruction } from "@solana/web3.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BlockhashExpiredError,
  ChainGateway,
  ChainIndexer,
  decodeAccount,
  fetchLease,
  findEvent,
  InsufficientFundsError,
  ix,
  pdas,
  ProgramError,
  ReplayedTransactionError,
  sendInstructions,
  TransactionMismatchError,
  type ExpectedTransaction,
} from "../src/index.ts";
import { airdrop, bootstrapLocalnet, buildLocalnet, ensureTokenAccount, fundTokens, registerNewSupplier, startLocalnet, tokenBalance as readTokenBalance, warpClock, type LocalnetAccounts, type RunningLocalnet } from "../src/localnet.ts";
import { claimRecorder, paymentRecorder, PrismaChainIndexStore } from "../src/store.ts";

// Integration against a real programs/localnet process: the natively compiled program, SPL Token
// as bytecode, web3.js over JSON-RPC; Postgres from the test services.

let localnet: RunningLocalnet;
let chain: LocalnetAccounts;
let gateway: ChainGateway;
let database: TestDatabase;
let db: Db;

const connection = () => localnet.connection;
const tokenBalance = (account: PublicKey) => readTokenBalance(connection(), account);
const supply = async (mint: PublicKey) => BigInt((await connection().getTokenSupply(mint)).value.amount);

/** The server builds the order's transaction; the wallet (here: a keypair) signs it. */
async function walletSigned(instructions: TransactionInstruction[], wallet: Keypair, tamper?: (tx: Transaction) => void) {
  const { blockhash, lastValidBlockHeight } = await connection().getLatestBlockhash("confirmed");
  const expected: ExpectedTransaction = { instructions, feePayer: wallet.publicKey, recentBlockhash: blockhash, lastValidBlockHeight };
  const unsigned = new Transaction({ feePayer: wallet.publicKey, blockhash, lastValidBlockHeight }).add(...instructions);
  const inWallet = Transaction.from(unsigned.serialize({ requireAllSignatures: false, verifySignatures: false }));
  tamper?.(inWallet);
  inWallet.partialSign(wallet);
  return { wire: inWallet.serialize({ requireAllSignatures: false, verifySignatures: false }).toString("base64"), expected };
}

async function newSupplier() {
  const { authority, payout } = await registerNewSupplier(connection());
  const usdcPayout = await ensureTokenAccount(connection(), chain.admin, chain.usdcMint, payout.publicKey);
  const meshPayout = await ensureTokenAccount(connection(), chain.admin, chain.meshMint, payout.publicKey);
  return { authority, payout, usdcPayout, meshPayout };
}

async function newRenter(mint: PublicKey, amount: bigint) {
  const renter = Keypair.generate();
  await airdrop(connection(), renter.publicKey, 10);
  const token = await fundTokens(connection(), chain, mint, renter.publicKey, amount);
  const account = await db.account.create({ data: { walletAddress: renter.publicKey.toBase58() } });
  return { renter, token, accountId: account.id };
}

const expectMismatch = async (promise: Promise<unknown>, field: string) => {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TransactionMismatchError);
  expect((error as TransactionMismatchError).field).toBe(field);
};

let supplier: Awaited<ReturnType<typeof newSupplier>>;
/** The renter of the MESH lease (id 10) the settlement test opens; the indexer test reads its events. */
let meshRenterKey: () => PublicKey = () => PublicKey.default;
let usdcRenter: Awaited<ReturnType<typeof newRenter>>;
let firstWire: string;
const USDC = 1_000_000n;

beforeAll(async () => {
  await buildLocalnet();
  localnet = await startLocalnet();
  chain = await bootstrapLocalnet(localnet.connection);
  gateway = new ChainGateway(localnet.connection);
  database = await createTestDatabase("chain");
  db = createDb(database.url);
  supplier = await newSupplier();
  usdcRenter = await newRenter(chain.usdcMint, 1_000n * USDC);
}, 900_000);

afterAll(async () => {
  await db?.$disconnect();
  await database?.drop();
  await localnet?.stop();
});

describe("localnet", () => {
  it("starts in under 5 s and serves the program initialized, with the genesis MESH supply", async () => {
    expect(localnet.startupMs).toBeLessThan(5_000);
    const config = await connection().getAccountInfo(pdas.config()[0]);
    expect(config?.owner.toBase58()).toBe(chain.programId.toBase58());
    const decoded = decodeAccount<{ mesh_mint: PublicKey; fee_bps: number }>("Config", config!.data);
    expect(decoded.mesh_mint.toBase58()).toBe(chain.meshMint.toBase58());
    expect(await supply(chain.meshMint)).toBe(GENESIS_SUPPLY);
    expect(await connection().getSlot()).toBeGreaterThan(0);
  });
});

describe("chain gateway", () => {
  const terms = { leaseId: 1n, pricePerSecond: 100n, maxSeconds: 3_600n };

  it("opens a USDC lease from a wallet-signed transaction: verified, confirmed, recorded once", async () => {
    const deposit = terms.pricePerSecond * terms.maxSeconds;
    const built = ix.openLease({ renter: usdcRenter.renter.publicKey, mint: chain.usdcMint, renterToken: usdcRenter.token }, terms);
    const { wire, expected } = await walletSigned([built], usdcRenter.renter);
    firstWire = wire;
    const result = await gateway.submitSigned(wire, expected, paymentRecorder(db, { accountId: usdcRenter.accountId, token: "USDC", amount: deposit }));
    expect(result.created).toBe(true);
    expect(findEvent(result.logs, "LeaseOpened")?.deposited).toBe(deposit);
    const lease = pdas.lease(usdcRenter.renter.publicKey, terms.leaseId)[0];
    expect(await tokenBalance(pdas.escrow(lease)[0])).toBe(deposit);
    expect(await tokenBalance(usdcRenter.token)).toBe(1_000n * USDC - deposit);
    const payments = await db.payment.findMany({ where: { accountId: usdcRenter.accountId } });
    expect(payments).toHaveLength(1);
    expect(payments[0]).toMatchObject({ kind: "DEPOSIT", token: "USDC", amount: deposit, status: "CONFIRMED", txSignature: result.signature });
  });

  it("rejects a wrong or tampered transaction (other amount, other recipient, altered bytes, replay) and records nothing", async () => {
    const renter = usdcRenter.renter;
    const order = { leaseId: 2n, pricePerSecond: 100n, maxSeconds: 3_600n };
    const accounts = { renter: renter.publicKey, mint: chain.usdcMint, renterToken: usdcRenter.token };
    const serverBuilt = ix.openLease(accounts, order);
    const recorder = paymentRecorder(db, { accountId: usdcRenter.accountId, token: "USDC", amount: 360_000n });

    // The wallet signs a different amount.
    const cheaper = await walletSigned([ix.openLease(accounts, { ...order, pricePerSecond: 1n })], renter);
    await expectMismatch(gateway.submitSigned(cheaper.wire, { ...cheaper.expected, instructions: [serverBuilt] }, recorder), "open_lease.args.price_per_second");
    // … or pays in another token.
    const other = await walletSigned([ix.openLease({ ...accounts, mint: chain.meshMint }, order)], renter);
    await expectMismatch(gateway.submitSigned(other.wire, { ...other.expected, instructions: [serverBuilt] }, recorder), "open_lease.accounts.payment_mint");
    // … or the bytes were altered after the wallet signed (signature no longer verifies).
    const good = await walletSigned([serverBuilt], renter);
    const altered = Transaction.from(Buffer.from(good.wire, "base64"));
    altered.signatures[0]!.signature![0]! ^= 0xff;
    await expectMismatch(gateway.submitSigned(altered.serialize({ verifySignatures: false }).toString("base64"), good.expected, recorder), "signatures");
    // … or an extra instruction rides along.
    const extra = await walletSigned([serverBuilt, ix.crankEmissions(chain.meshMint)], renter);
    await expectMismatch(gateway.submitSigned(extra.wire, { ...extra.expected, instructions: [serverBuilt] }, recorder), "instructions.length");
    // A signature already recorded is a replay: rejected, for the same order or another one.
    await expect(gateway.submitSigned(firstWire, { instructions: [ix.openLease(accounts, { leaseId: 1n, pricePerSecond: 100n, maxSeconds: 3_600n })] }, recorder)).rejects.toBeInstanceOf(ReplayedTransactionError);
    await expectMismatch(gateway.submitSigned(firstWire, { instructions: [serverBuilt] }, recorder), "open_lease.args.lease_id");

    expect(await db.payment.count({ where: { accountId: usdcRenter.accountId } })).toBe(1);
    expect(await connection().getAccountInfo(pdas.lease(renter.publicKey, 2n)[0])).toBeNull();
  });

  it("names insufficient funds and an expired blockhash", async () => {
    const poor = await newRenter(chain.usdcMint, 10n);
    const built = ix.openLease({ renter: poor.renter.publicKey, mint: chain.usdcMint, renterToken: poor.token }, { leaseId: 1n, pricePerSecond: 100n, maxSeconds: 60n });
    const { wire, expected } = await walletSigned([built], poor.renter);
    await expect(gateway.submitSigned(wire, expected, paymentRecorder(db, { accountId: poor.accountId, token: "USDC", amount: 6_000n }))).rejects.toBeInstanceOf(InsufficientFundsError);

    const stale = new Transaction({ feePayer: poor.renter.publicKey, recentBlockhash: Keypair.generate().publicKey.toBase58() }).add(built);
    stale.sign(poor.renter);
    await expect(gateway.submitSigned(stale.serialize().toString("base64"), { instructions: [built], lastValidBlockHeight: 10 ** 9 }, paymentRecorder(db, { accountId: poor.accountId, token: "USDC", amount: 6_000n }))).rejects.toBeInstanceOf(
      BlockhashExpiredError,
    );
    expect(await db.payment.count({ where: { accountId: poor.accountId } })).toBe(0);
  });
});

describe("lease settlement, emissions and rewards on localnet", () => {
  const MESH = 1_000_000n;
  const price = 1_000n;
  const maxSeconds = 7_200n;
  let meshRenter: Awaited<ReturnType<typeof newRenter>>;
  meshRenterKey = () => meshRenter.renter.publicKey;
  let lease: PublicKey;
  const treasuryMesh = () => getAssociatedTokenAddressSync(chain.meshMint, chain.treasury.publicKey);

  it("opens a MESH lease, activates it at the start, pays the supplier's allocation (fee burned) and ends it with a refund", async () => {
    meshRenter = await newRenter(chain.meshMint, 100n * MESH);
    const deposit = price * maxSeconds;
    const built = ix.openLease({ renter: meshRenter.renter.publicKey, mint: chain.meshMint, renterToken: meshRenter.token }, { leaseId: 10n, pricePerSecond: price, maxSeconds });
    const { wire, expected } = await walletSigned([built], meshRenter.renter);
    await gateway.submitSigned(wire, expected, paymentRecorder(db, { accountId: meshRenter.accountId, token: "MESH", amount: deposit }));
    lease = pdas.lease(meshRenter.renter.publicKey, 10n)[0];

    // Billing starts at activation, with one allocation for the supplier at the whole price.
    const opened = (await fetchLease(connection(), meshRenter.renter.publicKey, 10n))!;
    expect(opened.status).toBe("pending");
    await warpClock(localnet.url, 30);
    const start = opened.openedAt + 20n;
    const authority = chain.settlementAuthority;
    await gateway.sendServerSigned(
      () => [
        ix.activateLease(authority.publicKey, lease, { startTs: start, pricePerSecond: price, maxSeconds }),
        ix.addAllocation(authority.publicKey, lease, 0, supplier.authority.publicKey, { ratePerSecond: price, fromTs: start }),
      ],
      [authority],
    );

    const supplyBefore = await supply(chain.meshMint);
    const treasuryBefore = await tokenBalance(treasuryMesh());
    await warpClock(localnet.url, 600);
    const accounts = { lease, index: 0, mint: chain.meshMint, supplierAuthority: supplier.authority.publicKey, supplierToken: supplier.meshPayout, treasuryToken: treasuryMesh() };
    // Anyone may settle what an allocation is owed, up to a named instant: here 600 s after the start.
    const stranger = Keypair.generate();
    await airdrop(connection(), stranger.publicKey, 1);
    const settled = await gateway.sendServerSigned(() => [ix.settleAllocation(accounts, start + 600n)], [stranger]);
    const event = findEvent(settled.logs, "AllocationSettled")!;
    expect({ from: event.fromTs, until: event.untilTs }).toEqual({ from: start, until: start + 600n });
    const split = settlementSplit(price, 600n, BigInt(chain.feeBps), BigInt(chain.burnBps), true);
    expect({ gross: event.gross, fee: event.fee, burn: event.burned, treasury: event.treasury, supplier: event.supplierAmount }).toEqual(split);
    expect(split.burn).toBeGreaterThan(0n);
    expect(await tokenBalance(supplier.meshPayout)).toBe(split.supplier);
    expect((await tokenBalance(treasuryMesh())) - treasuryBefore).toBe(split.treasury);
    expect(supplyBefore - (await supply(chain.meshMint))).toBe(split.burn);

    // The end at a fixed instant (the renter's terminate, 700 s in): settle the rest, refund the unused deposit.
    await warpClock(localnet.url, 120);
    const endTs = start + 700n;
    const escrow = { lease, renter: meshRenter.renter.publicKey, mint: chain.meshMint, renterToken: meshRenter.token };
    const ended = await gateway.sendServerSigned(() => [ix.settleAllocation(accounts, endTs), ix.endLease(authority.publicKey, escrow, endTs)], [authority]);
    const end = findEvent(ended.logs, "LeaseEnded")!;
    expect(end).toMatchObject({ endTs, owedTotal: price * 700n, totalGross: price * 700n, refund: deposit - price * 700n, closed: true });
    const whole = settlementSplit(price, 700n, BigInt(chain.feeBps), BigInt(chain.burnBps), true);
    expect(await tokenBalance(meshRenter.token)).toBe(100n * MESH - whole.gross);
    expect(await tokenBalance(supplier.meshPayout)).toBe(whole.supplier);
    expect(supplyBefore - (await supply(chain.meshMint))).toBe(whole.burn);
    // The lease account stays as a tombstone (its id can never be reused); the escrow is closed.
    expect((await fetchLease(connection(), meshRenter.renter.publicKey, 10n))!).toMatchObject({ status: "closed", refunded: deposit - whole.gross });
    expect(await connection().getAccountInfo(pdas.escrow(lease)[0])).toBeNull();
  });

  it("cranks emissions, posts a reward root and pays a claim with a proof", async () => {
    const supplyBefore = await supply(chain.meshMint);
    await warpClock(localnet.url, 2 * 3_600);
    const cranked = await gateway.sendServerSigned(() => [ix.crankEmissions(chain.meshMint)], [chain.settlementAuthority]);
    const minted = findEvent(cranked.logs, "EmissionsMinted")!;
    expect(minted.hour).toBeGreaterThanOrEqual(2n);
    expect(minted.totalMinted).toBe(cumulativeEmission(Number(minted.hour)));
    expect(minted.amount).toBe(minted.totalMinted);
    expect((await supply(chain.meshMint)) - supplyBefore).toBe(minted.amount);
    expect(await tokenBalance(pdas.rewardsVault()[0])).toBe(minted.amount);

    await db.rewardEpoch.create({ data: { epoch: 1, hourStart: new Date(chain.emissionStart * 1000), emission: minted.amount, cumulativeTotal: 0n, pool: 0n, totalWeight: 0n } });
    const claimant = supplier.authority;
    const tree = new RewardTree([
      { claimant: claimant.publicKey.toBytes(), cumulative: 1_500n * MESH },
      { claimant: Keypair.generate().publicKey.toBytes(), cumulative: 500n * MESH },
    ]);
    const posted = await gateway.sendServerSigned(() => [ix.postRewardRoot(chain.rewardsAuthority.publicKey, 1n, tree.root, 2_000n * MESH)], [chain.rewardsAuthority]);
    expect(Buffer.from(findEvent(posted.logs, "RewardRootPosted")!.root).equals(Buffer.from(tree.root))).toBe(true);
    // Program errors come back typed, with the IDL's name.
    const again = await gateway.sendServerSigned(() => [ix.postRewardRoot(chain.rewardsAuthority.publicKey, 1n, tree.root, 2_000n * MESH)], [chain.rewardsAuthority]).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(ProgramError);
    expect(again).toMatchObject({ code: 6013, errorName: "EpochNotIncreasing" });

    const claimantToken = getAssociatedTokenAddressSync(chain.meshMint, claimant.publicKey);
    const before = await tokenBalance(claimantToken).catch(() => 0n);
    const built = ix.claimRewards(claimant.publicKey, chain.meshMint, await ensureTokenAccount(connection(), chain.admin, chain.meshMint, claimant.publicKey), 1_500n * MESH, tree.proof(0));
    const { wire, expected } = await walletSigned([built], claimant);
    const claim = await gateway.submitSigned(wire, expected, claimRecorder(db));
    expect(claim.created).toBe(true);
    expect((await tokenBalance(claimantToken)) - before).toBe(1_500n * MESH);
    expect(await tokenBalance(pdas.rewardsVault()[0])).toBe(minted.amount - 1_500n * MESH);
    expect(await db.claim.findMany()).toMatchObject([{ claimant: claimant.publicKey.toBase58(), amount: 1_500n * MESH, cumulative: 1_500n * MESH, epoch: 1, txSignature: claim.signature }]);
  });
});

describe("chain indexer", () => {
  const MESH = 1_000_000n;
  const newIndexer = () => new ChainIndexer(connection(), new PrismaChainIndexStore(db, chain.meshMint));
  const cursorRow = () => db.chainCursor.findUnique({ where: { programId: chain.programId.toBase58() } });
  const counts = async () => ({
    deposits: await db.payment.count({ where: { kind: "DEPOSIT" } }),
    refunds: await db.payment.count({ where: { kind: "REFUND" } }),
    claims: await db.claim.count(),
    journals: await db.journal.count(),
    events: await db.chainEvent.count(),
  });

  it("mirrors every program event into chain_event (settlements with burns, refunds, emissions, claims) and payments, roots and claims into Postgres", async () => {
    const indexer = newIndexer();
    const applied = await indexer.catchUp();
    expect(applied).toBeGreaterThan(5);
    expect(await indexer.catchUp()).toBe(0);
    expect(await counts()).toMatchObject({ deposits: 2, refunds: 1, claims: 1, journals: 2 });
    expect(await db.rewardEpoch.findUniqueOrThrow({ where: { epoch: 1 } })).toMatchObject({ status: "POSTED", postedTxSignature: expect.any(String) });
    expect((await db.payment.findFirstOrThrow({ where: { kind: "REFUND" } })).token).toBe("MESH");

    // The MESH lease (id 10): opened, activated, allocated, settled by anyone, settled again and ended (escrow closed).
    const meshLease = await db.chainEvent.findMany({ where: { lease: pdas.lease(meshRenterKey(), 10n)[0].toBase58() }, orderBy: { seq: "asc" } });
    expect(meshLease.map((e) => e.name)).toEqual(["LeaseOpened", "LeaseActivated", "AllocationAdded", "AllocationSettled", "AllocationSettled", "LeaseEnded"]);
    expect(meshLease.every((e) => e.mint === chain.meshMint.toBase58() && e.lease === meshLease[0]!.lease)).toBe(true);
    const opened = meshLease[0]!;
    const [firstSettle, finalSettle] = meshLease.filter((e) => e.name === "AllocationSettled") as [ChainEvent, ChainEvent];
    const ended = meshLease.at(-1)!;
    expect(opened.deposit).toBe(1_000n * 7_200n);
    expect(firstSettle.burned).toBeGreaterThan(0n);
    expect(firstSettle.gross).toBe(firstSettle.supplierAmount! + firstSettle.treasury! + firstSettle.burned!);
    expect(finalSettle.signature).toBe(ended.signature); // the last settle and the end in one transaction
    // The explorer sums: escrow in = Σ supplier + Σ treasury + Σ burned + refund, to the base unit.
    const sums = await db.chainEvent.aggregate({ where: { lease: opened.lease }, _sum: { supplierAmount: true, treasury: true, burned: true, refund: true, gross: true } });
    expect(sums._sum.supplierAmount! + sums._sum.treasury! + sums._sum.burned! + sums._sum.refund!).toBe(opened.deposit);
    expect(ended.gross).toBeNull();
    expect(ended.data).toMatchObject({ totalGross: sums._sum.gross!.toString(), refund: ended.refund!.toString(), lease: ended.lease, closed: true });
    expect(await tokenBalance(supplier.meshPayout)).toBe(sums._sum.supplierAmount);

    const emission = await db.chainEvent.findFirstOrThrow({ where: { name: "EmissionsMinted" } });
    expect(emission.emission).toBe(cumulativeEmission(Number((emission.data as { hour: string }).hour)));
    expect(await db.chainEvent.findFirstOrThrow({ where: { name: "RewardsClaimed" } })).toMatchObject({ claimant: supplier.authority.publicKey.toBase58(), claimAmount: 1_500n * MESH, mint: chain.meshMint.toBase58() });
    expect(await db.chainEvent.count({ where: { name: "RewardRootPosted" } })).toBe(1);

    // The cursor is the newest transaction applied, in Postgres.
    const [newest] = await connection().getSignaturesForAddress(chain.programId, { limit: 1 }, "confirmed");
    expect((await cursorRow())?.signature).toBe(newest!.signature);
  });

  it("catches up after downtime with a new indexer (durable cursor), and a lost or rewound cursor records nothing twice", async () => {
    const before = await counts();
    // Downtime: no indexer runs while a lease is opened (outside the gateway) and emissions are cranked.
    const renter = await newRenter(chain.usdcMint, 100n * USDC);
    await sendInstructions(
      connection(),
      [ix.openLease({ renter: renter.renter.publicKey, mint: chain.usdcMint, renterToken: renter.token }, { leaseId: 5n, pricePerSecond: 10n, maxSeconds: 100n })],
      [renter.renter],
    );
    await warpClock(localnet.url, 3_600);
    const crank = await sendInstructions(connection(), [ix.crankEmissions(chain.meshMint)], [chain.settlementAuthority]);

    expect(await newIndexer().catchUp()).toBe(2);
    const after = await counts();
    expect(after).toEqual({ ...before, deposits: before.deposits + 1, journals: before.journals + 1, events: before.events + 2 });
    expect(await db.payment.findFirstOrThrow({ where: { accountId: renter.accountId } })).toMatchObject({ kind: "DEPOSIT", amount: 1_000n, token: "USDC" });
    expect((await cursorRow())?.signature).toBe(crank.signature);

    // Rewound to an old transaction: re-applies from there, changes nothing, ends at the newest again.
    const oldest = await db.chainEvent.findFirstOrThrow({ orderBy: { seq: "asc" } });
    await db.chainCursor.update({ where: { programId: chain.programId.toBase58() }, data: { signature: oldest.signature } });
    expect(await newIndexer().catchUp()).toBeGreaterThan(5);
    expect(await counts()).toEqual(after);
    expect((await cursorRow())?.signature).toBe(crank.signature);

    // Lost entirely: everything is re-applied, nothing is recorded twice.
    await db.chainCursor.deleteMany();
    expect(await newIndexer().catchUp()).toBeGreaterThan(5);
    expect(await counts()).toEqual(after);

    // Two passes at once (two scheduler processes): the cursor's compare-and-set lets one apply, the other stops.
    await db.chainCursor.update({ where: { programId: chain.programId.toBase58() }, data: { signature: oldest.signature } });
    const [a, b] = await Promise.all([newIndexer().catchUp(), newIndexer().catchUp()]);
    expect(Math.min(a, b)).toBe(0);
    expect(Math.max(a, b)).toBeGreaterThan(5);
    expect(await counts()).toEqual(after);
    expect((await cursorRow())?.signature).toBe(crank.signature);
  });
});
