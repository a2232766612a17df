import "server-only";
import { associatedTokenAddress, ix, pdas, type ExpectedTransaction } from "@gpumesh/chain";
import { PublicKey, Transaction } from "@solana/web3.js";
import { ApiError } from "../../api/errors.ts";
import type { WebChain } from "../../chain.ts";
import { redis } from "../../redis.ts";

/**
 * A transaction the server built for a renter to sign: the exact instructions, fee payer and blockhash
 * are kept in Redis (for the blockhash's lifetime) so that the signed transaction that comes back can
 * be checked against them field by field (`ChainGateway.submitSigned`). Nothing the client sends back
 * is trusted beyond its signatures.
 */
export interface StoredOrder {
  wallet: string;
  blockhash: string;
  lastValidBlockHeight: number;
}

const ORDER_TTL_S = 150; // a blockhash lives ~60–90 s; keep the order a little longer than that

export const orderKey = (kind: "open" | "extend" | "register-supplier" | "payout-wallet" | "claim-rewards" | "stake" | "unstake" | "withdraw-stake", id: string, wallet: string) => `order:${kind}:${id}:${wallet}`;

export async function issueOrder(chain: WebChain, key: string, wallet: PublicKey, instructions: ReturnType<typeof ix.openLease>[]): Promise<{ transaction: string; lastValidBlockHeight: number }> {
  const { blockhash, lastValidBlockHeight } = await chain.connection.getLatestBlockhash("confirmed");
  const tx = new Transaction({ feePayer: wallet, blockhash, lastValidBlockHeight }).add(...instructions);
  const order: StoredOrder = { wallet: wallet.toBase58(), blockhash, lastValidBlockHeight };
  await redis.set(key, JSON.stringify(order), "EX", ORDER_TTL_S);
  return { transaction: tx.serialize({ requireAllSignatures: false, verifySignatures: false }).toString("base64"), lastValidBlockHeight };
}

export async function loadOrder(key: string): Promise<StoredOrder> {
  const stored = await redis.get(key);
  if (!stored) throw new ApiError("EXPIRED", "transaction: this payment request expired before it was signed; nothing was charged, start the payment again", "transaction");
  return JSON.parse(stored) as StoredOrder;
}

export function expectedOf(order: StoredOrder, instructions: ReturnType<typeof ix.openLease>[]): ExpectedTransaction {
  return { instructions, feePayer: new PublicKey(order.wallet), recentBlockhash: order.blockhash, lastValidBlockHeight: order.lastValidBlockHeight };
}

/** The renter's open_lease for a quote: its own terms only (price per second, maximum seconds, lease id). */
export function openLeaseInstruction(
  chain: WebChain,
  renter: PublicKey,
  mint: PublicKey,
  terms: { leaseId: bigint; pricePerSecond: bigint; maxSeconds: bigint },
) {
  return ix.openLease({ renter, mint, renterToken: associatedTokenAddress(mint, renter) }, terms, chain.programId);
}

export function extendLeaseInstruction(chain: WebChain, renter: PublicKey, mint: PublicKey, leaseId: bigint, extraSeconds: bigint) {
  const lease = pdas.lease(renter, leaseId, chain.programId)[0];
  return ix.extendLease({ lease, renter, mint, renterToken: associatedTokenAddress(mint, renter) }, extraSeconds, chain.programId);
}
