import type { Connection, PublicKey } from "@solana/web3.js";
import type { BN } from "./anchor.ts";
import { GPUMESH_PROGRAM_ID, pdas } from "./pdas.ts";
import { decodeAccount } from "./program.ts";

/** The program's config account, in the fields the apps read (amounts as bigint). */
export interface ProgramConfig {
  treasury: PublicKey;
  meshMint: PublicKey;
  /** Signs settlements and co-signs stakes (the weight attestation); the scheduler holds its key. */
  settlementAuthority: PublicKey;
  feeBps: number;
  burnBps: number;
  /** Unix seconds; emission hour t covers [start + (t-1)·3600, start + t·3600). */
  emissionStart: number;
  emissionMinted: bigint;
  rewardEpoch: bigint;
  rewardTotalCumulative: bigint;
  paused: boolean;
}

interface RawConfig {
  treasury: PublicKey;
  mesh_mint: PublicKey;
  settlement_authority: PublicKey;
  fee_bps: number;
  burn_bps: number;
  emission_start: BN;
  emission_minted: BN;
  reward_epoch: BN;
  reward_total_cumulative: BN;
  paused: boolean;
}

const big = (value: BN) => BigInt(value.toString());

export function decodeProgramConfig(data: Uint8Array): ProgramConfig {
  const raw = decodeAccount<RawConfig>("Config", data);
  return {
    treasury: raw.treasury,
    meshMint: raw.mesh_mint,
    settlementAuthority: raw.settlement_authority,
    feeBps: raw.fee_bps,
    burnBps: raw.burn_bps,
    emissionStart: Number(big(raw.emission_start)),
    emissionMinted: big(raw.emission_minted),
    rewardEpoch: big(raw.reward_epoch),
    rewardTotalCumulative: big(raw.reward_total_cumulative),
    paused: raw.paused,
  };
}

/** Reads the config account now, or null when the program is not initialized on this chain. */
export async function fetchProgramConfig(connection: Connection, programId: PublicKey = GPUMESH_PROGRAM_ID): Promise<ProgramConfig | null> {
  const info = await connection.getAccountInfo(pdas.config(programId)[0], "confirmed");
  return info ? decodeProgramConfig(info.data) : null;
}
