import { BorshCoder, Program, type Idl, type Provider } from "./anchor.ts";
import { PublicKey, type Connection } from "@solana/web3.js";
import { GPUMESH_IDL } from "./idl.ts";
import { GPUMESH_PROGRAM_ID } from "./pdas.ts";

/** The IDL pointed at `programId` (a deployment other than the dev id). */
export function idlFor(programId: PublicKey = GPUMESH_PROGRAM_ID): Idl {
  return programId.equals(new PublicKey(GPUMESH_IDL.address)) ? GPUMESH_IDL : { ...GPUMESH_IDL, address: programId.toBase58() };
}

/** Coder over the raw (snake_case) IDL: instruction data, accounts and events exactly as named in Rust. */
export const gpumeshCoder = new BorshCoder(GPUMESH_IDL);

/**
 * A typed Anchor `Program` over a wallet-less provider: fetch and decode accounts
 * (`program.account.config.fetch(...)`), build instructions. The server never holds user keys, so
 * signing and sending go through `ChainGateway`, not the provider.
 */
export function createProgram(connection: Connection, programId: PublicKey = GPUMESH_PROGRAM_ID): Program {
  const provider: Provider = { connection };
  return new Program(idlFor(programId), provider);
}

/** Anchor account types of the program. */
export type GpumeshAccountName = "Config" | "PaymentMint" | "Supplier" | "Lease" | "Allocation" | "ClaimRecord" | "DeviceStake" | "SlashRecord";

/** Decodes a program account's data (discriminator checked) with the raw IDL's field names. */
export function decodeAccount<T = Record<string, unknown>>(name: GpumeshAccountName, data: Uint8Array): T {
  return gpumeshCoder.accounts.decode<T>(name, Buffer.from(data));
}
