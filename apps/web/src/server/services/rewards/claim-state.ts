import "server-only";
import { decodeAccount, pdas } from "@gpumesh/chain";
import { rewardClaimFor, type RewardClaimProof } from "@gpumesh/db";
import { PublicKey } from "@solana/web3.js";
import { notFound } from "../../api/errors.ts";
import { chain } from "../../chain.ts";
import { db } from "../../db.ts";

/**
 * Where a wallet stands: its cumulative amount in the newest posted tree (the one read of a proof,
 * `rewardClaimFor`) and what it was already paid. The program's claim record is the truth for
 * "paid"; the indexed claims lag it by the indexer's delay, so they are used only when the chain
 * cannot be read.
 */
export interface ClaimState {
  proof: RewardClaimProof | null;
  claimed: bigint;
  claimedSource: "chain" | "index";
  claimable: bigint;
}

/** The cumulative amount already paid to `wallet` (claim record), or null when the chain is unreachable. */
export async function claimedOnChain(wallet: PublicKey): Promise<bigint | null> {
  try {
    const web = chain();
    const info = await web.connection.getAccountInfo(pdas.claimRecord(wallet, web.programId)[0], "confirmed");
    if (!info) return 0n;
    if (!info.owner.equals(web.programId)) return null;
    return BigInt(decodeAccount<{ claimed: { toString(): string } }>("ClaimRecord", info.data).claimed.toString());
  } catch {
    return null;
  }
}

async function claimedIndexed(wallet: string): Promise<bigint> {
  const newest = await db.claim.findFirst({ where: { claimant: wallet }, orderBy: { cumulative: "desc" }, select: { cumulative: true } });
  return newest?.cumulative ?? 0n;
}

export async function claimState(wallet: string): Promise<ClaimState> {
  const [proof, onChain] = await Promise.all([rewardClaimFor(db, wallet), claimedOnChain(new PublicKey(wallet))]);
  const claimed = onChain ?? (await claimedIndexed(wallet));
  const owed = proof?.cumulative ?? 0n;
  return { proof, claimed, claimedSource: onChain === null ? "index" : "chain", claimable: owed > claimed ? owed - claimed : 0n };
}

/** The wallet's proof against the newest posted root (404 when it has none yet). */
export async function walletProof(wallet: string): Promise<RewardClaimProof> {
  const proof = await rewardClaimFor(db, wallet);
  if (!proof) throw notFound("posted reward for this wallet");
  return proof;
}
