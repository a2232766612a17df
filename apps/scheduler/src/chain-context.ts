import { readFileSync } from "node:fs";
import { ChainGateway, decodeAccount, GPUMESH_PROGRAM_ID, pdas } from "@gpumesh/chain";
import { devKeypair } from "@gpumesh/chain/localnet";
import { Connection, Keypair, type PublicKey } from "@solana/web3.js";
import { EnvError } from "@gpumesh/core";
import type { SchedulerEnv } from "./env.ts";

/**
 * What the scheduler's chain steps share: one connection and gateway, the server keys (settlement
 * and rewards authorities) and the program's config account. Built only when SOLANA_RPC_URL is set;
 * without it the settle job records what it would send and the rewards job computes and stores
 * epochs without posting them.
 */
export interface ProgramConfig {
  treasury: PublicKey;
  meshMint: PublicKey;
  feeBps: number;
  burnBps: number;
  /** Unix seconds; hour t of emission covers [start + (t-1)·3600, start + t·3600). */
  emissionStart: number;
  emissionMinted: bigint;
  rewardEpoch: bigint;
  rewardTotalCumulative: bigint;
  paused: boolean;
}

export interface ChainContext {
  connection: Connection;
  gateway: ChainGateway;
  programId: PublicKey;
  settlementAuthority: Keypair;
  rewardsAuthority: Keypair;
  /** Reads the config account now (it changes with every crank and posted root). */
  config(): Promise<ProgramConfig>;
}

/** A keypair from a Solana CLI keypair file, or localnet's deterministic dev key for `dev`. */
export function loadKeypair(field: string, value: string, devLabel: string): Keypair {
  if (value === "dev") return devKeypair(devLabel);
  let bytes: unknown;
  try {
    bytes = JSON.parse(readFileSync(value, "utf8"));
  } catch (error) {
    throw new EnvError(field, `cannot read keypair file ${value}: ${(error as Error).message}`);
  }
  if (!Array.isArray(bytes) || bytes.length !== 64 || !bytes.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
    throw new EnvError(field, `${value} is not a Solana keypair file (a JSON array of 64 bytes)`);
  }
  return Keypair.fromSecretKey(Uint8Array.from(bytes as number[]));
}

interface RawConfig {
  treasury: PublicKey;
  mesh_mint: PublicKey;
  fee_bps: number;
  burn_bps: number;
  emission_start: { toString(): string };
  emission_minted: { toString(): string };
  reward_epoch: { toString(): string };
  reward_total_cumulative: { toString(): string };
  paused: boolean;
}

export async function readProgramConfig(connection: Connection, programId: PublicKey = GPUMESH_PROGRAM_ID): Promise<ProgramConfig> {
  const info = await connection.getAccountInfo(pdas.config(programId)[0], "confirmed");
  if (!info) throw new Error(`the program ${programId.toBase58()} is not initialized on this chain (no config account)`);
  const raw = decodeAccount<RawConfig>("Config", info.data);
  return {
    treasury: raw.treasury,
    meshMint: raw.mesh_mint,
    feeBps: raw.fee_bps,
    burnBps: raw.burn_bps,
    emissionStart: Number(raw.emission_start.toString()),
    emissionMinted: BigInt(raw.emission_minted.toString()),
    rewardEpoch: BigInt(raw.reward_epoch.toString()),
    rewardTotalCumulative: BigInt(raw.reward_total_cumulative.toString()),
    paused: raw.paused,
  };
}

export function createChainContext(env: SchedulerEnv, programId: PublicKey = GPUMESH_PROGRAM_ID): ChainContext | null {
  if (!env.SOLANA_RPC_URL) return null;
  const connection = new Connection(env.SOLANA_RPC_URL, { commitment: "confirmed" });
  return {
    connection,
    gateway: new ChainGateway(connection, { programId }),
    programId,
    settlementAuthority: loadKeypair("SETTLEMENT_AUTHORITY_KEYPAIR", env.SETTLEMENT_AUTHORITY_KEYPAIR!, "settlement"),
    rewardsAuthority: loadKeypair("REWARDS_AUTHORITY_KEYPAIR", env.REWARDS_AUTHORITY_KEYPAIR!, "rewards"),
    config: () => readProgramConfig(connection, programId),
  };
}
