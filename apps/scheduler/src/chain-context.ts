import { readFileSync } from "node:fs";
import { ChainGateway, fetchProgramConfig, GPUMESH_PROGRAM_ID, type ProgramConfig } from "@gpumesh/chain";
import { devKeypair } from "@gpumesh/chain/localnet";
import { Connection, Keypair, type PublicKey } from "@solana/web3.js";
import { EnvError } from "@gpumesh/core";
import type { SchedulerEnv } from "./env.ts";

/**
 * What the scheduler's chain steps share: one connection and gateway, the server keys (settlement
 * and rewards authorities) and the program's config account. Built only when SOLANA_RPC_URL is set;
 * without it the settle job records what it would send, and the rewards and index queues do not run.
 */
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

/** The program's config account now (it changes with every crank and posted root). */
export async function readProgramConfig(connection: Connection, programId: PublicKey = GPUMESH_PROGRAM_ID): Promise<ProgramConfig> {
  const config = await fetchProgramConfig(connection, programId);
  if (!config) throw new Error(`the program ${programId.toBase58()} is not initialized on this chain (no config account)`);
  return config;
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
