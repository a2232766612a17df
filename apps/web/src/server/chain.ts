import "server-only";
import { ChainGateway, fetchProgramConfig, GPUMESH_PROGRAM_ID, type ProgramConfig } from "@gpumesh/chain";
import type { PaymentToken } from "@gpumesh/db";
import { Connection, PublicKey } from "@solana/web3.js";
import { env } from "../env.ts";
import { ApiError } from "./api/errors.ts";

/**
 * The web app's view of the chain: one connection and gateway per process. Renters sign; the server
 * never holds a key here (settlement keys live in the scheduler only).
 */
export interface WebChain {
  connection: Connection;
  gateway: ChainGateway;
  programId: PublicKey;
  config(): Promise<ProgramConfig>;
  mint(token: PaymentToken): Promise<PublicKey>;
}

// Per process, and per bundle of @gpumesh/chain (see db.ts): errors are matched with `instanceof`.
const globalForChain = globalThis as unknown as { gpumeshChains?: WeakMap<object, WebChain | null> };
const chains = (globalForChain.gpumeshChains ??= new WeakMap());

function connect(): WebChain | null {
  if (!env.SOLANA_RPC_URL) return null;
  const connection = new Connection(env.SOLANA_RPC_URL, { commitment: "confirmed" });
  const programId = GPUMESH_PROGRAM_ID;
  const config = async () => {
    const found = await fetchProgramConfig(connection, programId);
    if (!found) throw new ApiError("UNAVAILABLE", "payments are not available: the GPUMesh program is not initialized on this chain");
    return found;
  };
  return {
    connection,
    gateway: new ChainGateway(connection, { programId }),
    programId,
    config,
    async mint(token) {
      if (token === "MESH") return (await config()).meshMint;
      if (!env.USDC_MINT) throw new ApiError("UNAVAILABLE", "USDC payments are not configured on this server; pay in MESH");
      return new PublicKey(env.USDC_MINT);
    },
  };
}

/** The chain, or a 503 naming what is missing when this server has none configured. */
export function chain(): WebChain {
  if (!chains.has(ChainGateway)) chains.set(ChainGateway, connect());
  const found = chains.get(ChainGateway);
  if (!found) throw new ApiError("UNAVAILABLE", "payments are not available: this server has no Solana RPC configured");
  return found;
}
