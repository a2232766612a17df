import { spawn, type ChildProcess } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { sha256 } from "@noble/hashes/sha2";
import {
  createAssociatedTokenAccountIdempotentInstruction,
  createInitializeMint2Instruction,
  createMintToInstruction,
  createTransferCheckedInstruction,
  getAssociatedTokenAddressSync,
  MINT_SIZE,
  TOKEN_PROGRAM_ID,
} from "@solana/spl-token";
import { Connection, Keypair, LAMPORTS_PER_SOL, type PublicKey, SystemProgram, type TransactionInstruction } from "@solana/web3.js";
import { GENESIS_SUPPLY, requiredStake } from "@gpumesh/core";
import { fetchProgramConfig } from "./config.ts";
import { ix } from "./instructions.ts";
import { GPUMESH_PROGRAM_ID, pdas } from "./pdas.ts";
import { sendInstructions, waitForConfirmation } from "./send.ts";

/**
 * programs/localnet from TypeScript: build it (cargo, cached in the shared target dir), start it on
 * a free port, warp its clock, and bootstrap the program (config, MESH + USDC-like mints, accepted
 * payment mints, treasury accounts, a funded demo renter) with deterministic dev keys.
 */

export const REPO_ROOT = path.resolve(import.meta.dirname, "../../..");

export function cargoTargetDir(): string {
  return process.env.CARGO_TARGET_DIR ?? path.join(os.homedir(), ".cache", "gpumesh", "cargo-target");
}

export function localnetBinary(targetDir = cargoTargetDir()): string {
  return path.join(targetDir, "debug", "localnet");
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, log?: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    const tail: string[] = [];
    const collect = (chunk: Buffer) => {
      for (const line of chunk.toString().split("\n")) {
        if (!line) continue;
        log?.(line);
        tail.push(line);
        if (tail.length > 40) tail.shift();
      }
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(" ")} exited with ${code}:\n${tail.join("\n")}`))));
  });
}

/** `cargo build -p localnet` (incremental; a no-op when nothing changed). Returns the binary path. */
export async function buildLocalnet(options: { log?: (line: string) => void } = {}): Promise<string> {
  const targetDir = cargoTargetDir();
  await run("cargo", ["build", "-p", "localnet"], { ...process.env, CARGO_TARGET_DIR: targetDir }, options.log);
  return localnetBinary(targetDir);
}

export interface RunningLocalnet {
  url: string;
  port: number;
  process: ChildProcess;
  /** Milliseconds from spawn to "listening". */
  startupMs: number;
  connection: Connection;
  stop(): Promise<void>;
}

/** Starts the localnet binary (`port` 0 = any free port) and resolves once it listens. */
/** `ownProcessGroup`: as for Redis (devstack `startRedis`): `pnpm dev` stops the chain itself, after the apps. */
export async function startLocalnet(options: { port?: number; binary?: string; log?: (line: string) => void; timeoutMs?: number; ownProcessGroup?: boolean } = {}): Promise<RunningLocalnet> {
  const binary = options.binary ?? localnetBinary();
  const started = Date.now();
  // solana-program-test logs every instruction at info level otherwise.
  const env = { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "error" };
  const child = spawn(binary, ["--port", String(options.port ?? 0)], { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: options.ownProcessGroup ?? false });
  const stderr: string[] = [];
  child.stderr!.on("data", (chunk: Buffer) => {
    const text = chunk.toString();
    options.log?.(text.trimEnd());
    stderr.push(text);
    if (stderr.length > 50) stderr.shift();
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`localnet did not start within ${options.timeoutMs ?? 30_000} ms\n${stderr.join("")}`));
    }, options.timeoutMs ?? 30_000);
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      options.log?.(line);
      const match = /localnet listening on (http:\/\/\S+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`localnet exited with ${code} before listening\n${stderr.join("")}`));
    });
  });
  const startupMs = Date.now() - started;
  return {
    url,
    port: Number(new URL(url).port),
    process: child,
    startupMs,
    connection: new Connection(url, { commitment: "confirmed", disableRetryOnRateLimit: true }),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}

/** Dev-only (localnet): moves the chain's unix time forward by `seconds`; returns the new time. */
export async function warpClock(rpcUrl: string, seconds: number): Promise<number> {
  const response = await fetch(rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "gpumesh_warpClock", params: [seconds] }),
  });
  const body = (await response.json()) as { result?: { unixTimestamp: number }; error?: { message: string } };
  if (!body.result) throw new Error(`gpumesh_warpClock failed: ${body.error?.message ?? response.status}`);
  return body.result.unixTimestamp;
}

/** A deterministic dev keypair: ed25519 seed sha256("gpumesh:dev:<label>") (never for real funds). */
export function devKeypair(label: string): Keypair {
  return Keypair.fromSeed(sha256(new TextEncoder().encode(`gpumesh:dev:${label}`)));
}

export interface LocalnetAccounts {
  programId: PublicKey;
  admin: Keypair;
  settlementAuthority: Keypair;
  rewardsAuthority: Keypair;
  treasury: Keypair;
  meshMint: PublicKey;
  usdcMint: PublicKey;
  usdcAuthority: Keypair;
  /** Admin-owned MESH account holding the genesis supply (a faucet for dev and tests). */
  meshFaucet: PublicKey;
  demoRenter: Keypair;
  feeBps: number;
  burnBps: number;
  emissionStart: number;
}

export const DEV_FEE_BPS = 250;
export const DEV_BURN_BPS = 5_000;
export const MESH_DECIMALS = 6;
export const USDC_DECIMALS = 6;

/** The dev accounts `bootstrapLocalnet` uses (deterministic, so they are the same on every start). */
export function localnetAccounts(): Omit<LocalnetAccounts, "emissionStart"> {
  const admin = devKeypair("admin");
  const usdcAuthority = devKeypair("usdc-authority");
  return {
    programId: GPUMESH_PROGRAM_ID,
    admin,
    settlementAuthority: devKeypair("settlement"),
    rewardsAuthority: devKeypair("rewards"),
    treasury: devKeypair("treasury"),
    meshMint: devKeypair("mesh-mint").publicKey,
    usdcMint: devKeypair("usdc-mint").publicKey,
    usdcAuthority,
    meshFaucet: getAssociatedTokenAddressSync(devKeypair("mesh-mint").publicKey, admin.publicKey),
    demoRenter: devKeypair("demo-renter"),
    feeBps: DEV_FEE_BPS,
    burnBps: DEV_BURN_BPS,
  };
}

/** Airdrops `sol` SOL to `to` and waits for it. */
export async function airdrop(connection: Connection, to: PublicKey, sol = 100): Promise<void> {
  const { lastValidBlockHeight } = await connection.getLatestBlockhash("confirmed");
  const signature = await connection.requestAirdrop(to, sol * LAMPORTS_PER_SOL);
  await waitForConfirmation(connection, signature, lastValidBlockHeight);
}

/** A token account's balance in base units. */
export async function tokenBalance(connection: Connection, account: PublicKey): Promise<bigint> {
  return BigInt((await connection.getTokenAccountBalance(account, "confirmed")).value.amount);
}

/** Registers a new supplier on-chain: a funded authority and a payout wallet that holds nothing yet. */
export async function registerNewSupplier(connection: Connection): Promise<{ authority: Keypair; payout: Keypair }> {
  const authority = Keypair.generate();
  const payout = Keypair.generate();
  await airdrop(connection, authority.publicKey, 10);
  await sendInstructions(connection, [ix.registerSupplier(authority.publicKey, payout.publicKey)], [authority]);
  return { authority, payout };
}

/** Creates the associated token account of (`mint`, `owner`) if needed; returns its address. */
export async function ensureTokenAccount(connection: Connection, payer: Keypair, mint: PublicKey, owner: PublicKey): Promise<PublicKey> {
  const ata = getAssociatedTokenAddressSync(mint, owner, true);
  if (!(await connection.getAccountInfo(ata))) await sendInstructions(connection, [createAssociatedTokenAccountIdempotentInstruction(payer.publicKey, ata, owner, mint)], [payer]);
  return ata;
}

/** Funds `owner` with `amount` base units of USDC (minted) or MESH (from the genesis faucet). */
export async function fundTokens(connection: Connection, accounts: Omit<LocalnetAccounts, "emissionStart">, mint: PublicKey, owner: PublicKey, amount: bigint): Promise<PublicKey> {
  const ata = await ensureTokenAccount(connection, accounts.admin, mint, owner);
  if (amount === 0n) return ata;
  if (mint.equals(accounts.meshMint)) {
    await sendInstructions(connection, [createTransferCheckedInstruction(accounts.meshFaucet, mint, ata, accounts.admin.publicKey, amount, MESH_DECIMALS)], [accounts.admin]);
  } else {
    await sendInstructions(connection, [createMintToInstruction(mint, ata, accounts.usdcAuthority.publicKey, amount)], [accounts.admin, accounts.usdcAuthority]);
  }
  return ata;
}

/**
 * Seeded dev supplier `index` (0-based, in the order `seedSimulatedNetwork` writes them): its
 * wallet, which is both the on-chain supplier authority and its payout wallet. Deterministic
 * (`devKeypair("supplier:<index>")`), so a restart of `pnpm dev` finds the same keys; never for real funds.
 */
export function devSupplierKeypair(index: number): Keypair {
  return devKeypair(`supplier:${index}`);
}

/** What the database records of a supplier registered by `registerSuppliers` (authority = payout wallet). */
export interface SupplierChainIdentity {
  /** The supplier's wallet (`Account.walletAddress`): the program's `Supplier.authority` and payout wallet. */
  walletAddress: string;
  /** The Supplier PDA (`Supplier.onChainAddress`). */
  onChainAddress: string;
  /** The payout wallet's USDC token account (`Supplier.payoutTokenAccount`); its MESH account is created too. */
  payoutTokenAccount: string;
}

export function supplierChainIdentity(authority: PublicKey, usdcMint = localnetAccounts().usdcMint, programId = GPUMESH_PROGRAM_ID): SupplierChainIdentity {
  return {
    walletAddress: authority.toBase58(),
    onChainAddress: pdas.supplier(authority, programId)[0].toBase58(),
    payoutTokenAccount: getAssociatedTokenAddressSync(usdcMint, authority, true).toBase58(),
  };
}

/** Lamports each new supplier authority gets from the admin: the Supplier account's rent and then some. */
const SUPPLIER_FUNDING = LAMPORTS_PER_SOL / 100;
/** Registrations per transaction: a transfer and `register_supplier` each, one signature per supplier (the 1,232-byte limit fits 5). */
const REGISTRATIONS_PER_TX = 5;
/** Payout wallets per transaction: a USDC and a MESH token account each (6 leave room under the size limit). */
const PAYOUT_WALLETS_PER_TX = 6;

export interface RegisterSuppliersResult {
  /** Suppliers registered by this call. */
  registered: number;
  /** Suppliers that already had their record (nothing sent for them). */
  alreadyRegistered: number;
  /** Payout token accounts (USDC and MESH) created by this call. */
  tokenAccountsCreated: number;
  transactions: number;
}

async function existing(connection: Connection, keys: readonly PublicKey[]): Promise<boolean[]> {
  const found: boolean[] = [];
  for (let i = 0; i < keys.length; i += 100) {
    const infos = await connection.getMultipleAccountsInfo(keys.slice(i, i + 100), "confirmed");
    found.push(...infos.map((info) => info !== null));
  }
  return found;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Dev and tests: registers each `authorities` key as a supplier whose payout wallet is itself, with
 * the payout wallet's USDC and MESH token accounts, so the settlement authority can `add_allocation`
 * for it and settle into it. Batched (several suppliers per transaction, the admin pays fees and
 * funds each new authority with the record's rent) and idempotent: suppliers and token accounts
 * that exist are skipped, so a second call sends nothing.
 */
export async function registerSuppliers(
  connection: Connection,
  accounts: Pick<LocalnetAccounts, "admin" | "usdcMint" | "meshMint" | "programId">,
  authorities: readonly Keypair[],
  options: { concurrency?: number } = {},
): Promise<RegisterSuppliersResult> {
  const { admin, programId } = accounts;
  const registered = await existing(connection, authorities.map((authority) => pdas.supplier(authority.publicKey, programId)[0]));
  const missing = authorities.filter((_, i) => !registered[i]);
  const batches: { instructions: TransactionInstruction[]; signers: Keypair[] }[] = chunks(missing, REGISTRATIONS_PER_TX).map((batch) => ({
    instructions: batch.flatMap((authority) => [
      SystemProgram.transfer({ fromPubkey: admin.publicKey, toPubkey: authority.publicKey, lamports: SUPPLIER_FUNDING }),
      ix.registerSupplier(authority.publicKey, authority.publicKey, programId),
    ]),
    signers: [admin, ...batch],
  }));

  const payouts = authorities.flatMap((authority) =>
    [accounts.usdcMint, accounts.meshMint].map((mint) => ({ owner: authority.publicKey, mint, ata: getAssociatedTokenAddressSync(mint, authority.publicKey, true) })),
  );
  const haveAta = await existing(connection, payouts.map((p) => p.ata));
  const missingAtas = payouts.filter((_, i) => !haveAta[i]);
  for (const batch of chunks(missingAtas, PAYOUT_WALLETS_PER_TX * 2)) {
    batches.push({ instructions: batch.map((p) => createAssociatedTokenAccountIdempotentInstruction(admin.publicKey, p.ata, p.owner, p.mint)), signers: [admin] });
  }

  // Registrations and token accounts are independent of each other: send them side by side.
  const queue = [...batches];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) await sendInstructions(connection, next.instructions, next.signers);
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 8, queue.length) }, worker));
  return { registered: missing.length, alreadyRegistered: authorities.length - missing.length, tokenAccountsCreated: missingAtas.length, transactions: batches.length };
}

/** Stakes per transaction: `stake_device` names 9 accounts, 2 of them per device (fits 4 under the size limit). */
const STAKES_PER_TX = 4;
/** Lamports a stake costs its authority: the DeviceStake account's and its vault's rent, with room to spare. */
const STAKE_FUNDING = LAMPORTS_PER_SOL / 100;

export interface DevDeviceStake {
  /** The device's supplier wallet (its dev key): becomes the stake's authority. */
  authority: Keypair;
  deviceId: string;
  /** GPUs × the model's performance weight (core `deviceStakeWeightBps`); 0 (no catalogued GPU) is skipped. */
  weightBps: number;
}

export interface StakeDevicesResult {
  staked: number;
  alreadyStaked: number;
  transactions: number;
}

/**
 * Dev and tests: stakes each device's required MESH (`requiredStake(weightBps)`), from its supplier's
 * wallet, co-signed by the settlement authority (which on a real network attests the weight through
 * the scheduler's stake order; here the caller computed it from the catalogue). Batched like
 * `registerSuppliers`: first the admin funds every authority with the SOL for the rents and the MESH
 * to stake (from the genesis faucet), then several stakes of one authority per transaction, the admin
 * paying the fees. Idempotent: devices with a stake account are skipped, so a second call sends nothing.
 */
export async function stakeDevices(
  connection: Connection,
  accounts: Pick<LocalnetAccounts, "admin" | "settlementAuthority" | "meshMint" | "meshFaucet" | "programId">,
  stakes: readonly DevDeviceStake[],
  options: { concurrency?: number } = {},
): Promise<StakeDevicesResult> {
  const { admin, settlementAuthority, meshMint, programId } = accounts;
  const wanted = stakes.filter((stake) => stake.weightBps > 0);
  const exists = await existing(connection, wanted.map((stake) => pdas.deviceStake(stake.deviceId, programId)[0]));
  const missing = wanted.filter((_, i) => !exists[i]);
  const byAuthority = new Map<string, { authority: Keypair; stakes: DevDeviceStake[] }>();
  for (const stake of missing) {
    const key = stake.authority.publicKey.toBase58();
    const group = byAuthority.get(key) ?? { authority: stake.authority, stakes: [] };
    group.stakes.push(stake);
    byAuthority.set(key, group);
  }
  const groups = [...byAuthority.values()];
  const token = (authority: PublicKey) => getAssociatedTokenAddressSync(meshMint, authority, true);

  // Funding: SOL for the rents, the MESH token account, and exactly the MESH the stakes take.
  const funding = groups.map(({ authority, stakes: own }) => [
    SystemProgram.transfer({ fromPubkey: admin.publicKey, toPubkey: authority.publicKey, lamports: STAKE_FUNDING * own.length }),
    createAssociatedTokenAccountIdempotentInstruction(admin.publicKey, token(authority.publicKey), authority.publicKey, meshMint),
    createTransferCheckedInstruction(accounts.meshFaucet, meshMint, token(authority.publicKey), admin.publicKey, own.reduce((sum, s) => sum + requiredStake(s.weightBps), 0n), MESH_DECIMALS),
  ]);
  const batches = chunks(funding, 3).map((batch) => ({ instructions: batch.flat(), signers: [admin] }));
  let transactions = 0;
  const run = async (queue: { instructions: TransactionInstruction[]; signers: Keypair[] }[]) => {
    transactions += queue.length;
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) await sendInstructions(connection, next.instructions, next.signers);
    };
    await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 8, queue.length) }, worker));
  };
  await run(batches);

  const staking = groups.flatMap(({ authority, stakes: own }) =>
    chunks(own, STAKES_PER_TX).map((batch) => ({
      instructions: batch.map((stake) =>
        ix.stakeDevice(
          { authority: authority.publicKey, settlementAuthority: settlementAuthority.publicKey, meshMint, authorityToken: token(authority.publicKey) },
          { deviceId: stake.deviceId, weightBps: stake.weightBps, amount: requiredStake(stake.weightBps) },
          programId,
        ),
      ),
      signers: [admin, settlementAuthority, authority],
    })),
  );
  await run(staking);
  return { staked: missing.length, alreadyStaked: wanted.length - missing.length, transactions };
}

/**
 * Initializes a fresh localnet (or returns the accounts when it already is): funds the dev keys,
 * creates MESH (genesis supply to the faucet, mint authority handed to the program by
 * `initialize`) and a USDC-like mint, accepts both for payment, creates the treasury's token
 * accounts and funds a demo renter with 10,000 USDC and 10,000 MESH.
 */
export async function bootstrapLocalnet(connection: Connection, options: { emissionStart?: number } = {}): Promise<LocalnetAccounts> {
  const accounts = localnetAccounts();
  const { admin } = accounts;
  const config = await fetchProgramConfig(connection);
  if (config) return { ...accounts, emissionStart: config.emissionStart };
  for (const key of [admin, accounts.settlementAuthority, accounts.rewardsAuthority, accounts.demoRenter]) await airdrop(connection, key.publicKey, 1_000);
  const rent = await connection.getMinimumBalanceForRentExemption(MINT_SIZE);
  const meshKey = devKeypair("mesh-mint");
  const usdcKey = devKeypair("usdc-mint");
  await sendInstructions(
    connection,
    [
      SystemProgram.createAccount({ fromPubkey: admin.publicKey, newAccountPubkey: meshKey.publicKey, lamports: rent, space: MINT_SIZE, programId: TOKEN_PROGRAM_ID }),
      createInitializeMint2Instruction(meshKey.publicKey, MESH_DECIMALS, admin.publicKey, null),
      SystemProgram.createAccount({ fromPubkey: admin.publicKey, newAccountPubkey: usdcKey.publicKey, lamports: rent, space: MINT_SIZE, programId: TOKEN_PROGRAM_ID }),
      createInitializeMint2Instruction(usdcKey.publicKey, USDC_DECIMALS, accounts.usdcAuthority.publicKey, null),
      createAssociatedTokenAccountIdempotentInstruction(admin.publicKey, accounts.meshFaucet, admin.publicKey, meshKey.publicKey),
      createMintToInstruction(meshKey.publicKey, accounts.meshFaucet, admin.publicKey, GENESIS_SUPPLY),
    ],
    [admin, meshKey, usdcKey],
  );
  const emissionStart = options.emissionStart ?? Math.floor(Date.now() / 1000);
  await sendInstructions(
    connection,
    [
      ix.initialize(admin.publicKey, accounts.meshMint, {
        settlementAuthority: accounts.settlementAuthority.publicKey,
        rewardsAuthority: accounts.rewardsAuthority.publicKey,
        treasury: accounts.treasury.publicKey,
        feeBps: accounts.feeBps,
        burnBps: accounts.burnBps,
        emissionStart,
      }),
      ix.setPaymentMint(admin.publicKey, accounts.meshMint, true, 0n),
      ix.setPaymentMint(admin.publicKey, accounts.usdcMint, true, 0n),
      ...[accounts.meshMint, accounts.usdcMint].map((mint) =>
        createAssociatedTokenAccountIdempotentInstruction(admin.publicKey, getAssociatedTokenAddressSync(mint, accounts.treasury.publicKey), accounts.treasury.publicKey, mint),
      ),
    ],
    [admin],
  );
  await fundTokens(connection, accounts, accounts.usdcMint, accounts.demoRenter.publicKey, 10_000n * 1_000_000n);
  await fundTokens(connection, accounts, accounts.meshMint, accounts.demoRenter.publicKey, 10_000n * 1_000_000n);
  return { ...accounts, emissionStart };
}
