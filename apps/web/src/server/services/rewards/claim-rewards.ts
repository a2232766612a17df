import "server-only";
import { associatedTokenAddress, ix, ProgramError } from "@gpumesh/chain";
import { claimRecorder } from "@gpumesh/chain/store";
import { createAssociatedTokenAccountIdempotentInstruction } from "@solana/spl-token";
import { PublicKey, type TransactionInstruction } from "@solana/web3.js";
import { ApiError } from "../../api/errors.ts";
import type { Session } from "../../auth/session.ts";
import { chain, type WebChain } from "../../chain.ts";
import { db } from "../../db.ts";
import { redis } from "../../redis.ts";
import { expectedOf, issueOrder, loadOrder, orderKey } from "../quotes/lease-order.ts";
import { claimState } from "./claim-state.ts";

/**
 * Claim everything owed in one transaction. The server builds it for the signed-in wallet from its
 * own records (the proof from `rewardClaimFor`, never an amount or proof from the client): create
 * the wallet's MESH token account if it has none (idempotent), then `claim_rewards(cumulative,
 * proof)`, which pays cumulative − already claimed. The wallet signs and pays the fee (and, on a first
 * claim, the claim record's and token account's rent); the server checks the signed transaction
 * against the order, submits, confirms and records the claim once.
 *
 * The terms (cumulative and proof) are kept with the order: a root posted between building and
 * submitting does not change what is checked, and the program still accepts the previous root for one
 * epoch after a new post.
 */
interface ClaimTerms {
  epoch: number;
  cumulative: string;
  proof: string[];
}

const TERMS_TTL_S = 150; // as long as the order (lease-order.ts)
const termsKey = (wallet: string) => `order:claim-rewards-terms:${wallet}`;
const fromHex = (hex: string) => Uint8Array.from(Buffer.from(hex, "hex"));

async function instructionsFor(web: WebChain, wallet: PublicKey, terms: ClaimTerms): Promise<TransactionInstruction[]> {
  const { meshMint } = await web.config();
  const token = associatedTokenAddress(meshMint, wallet);
  return [
    createAssociatedTokenAccountIdempotentInstruction(wallet, token, wallet, meshMint),
    ix.claimRewards(wallet, meshMint, token, BigInt(terms.cumulative), terms.proof.map(fromHex), web.programId),
  ];
}

export interface ClaimOrder {
  transaction: string;
  amount: bigint;
  cumulative: bigint;
  epoch: number;
}

/** The unsigned claim for the session's wallet, or 409 NOTHING_TO_CLAIM with why. */
export async function claimOrder(session: Session): Promise<ClaimOrder> {
  const web = chain();
  const state = await claimState(session.walletAddress);
  if (!state.proof) throw new ApiError("NOTHING_TO_CLAIM", "no rewards have been posted for this wallet yet: devices earn from the hour they are online and verified, and each hour is posted shortly after it ends");
  if (state.claimable === 0n) throw new ApiError("NOTHING_TO_CLAIM", "everything posted for this wallet is already claimed; the next hourly epoch adds more");
  const wallet = new PublicKey(session.walletAddress);
  const terms: ClaimTerms = { epoch: state.proof.epoch, cumulative: state.proof.cumulative.toString(), proof: state.proof.proof };
  const { transaction } = await issueOrder(web, orderKey("claim-rewards", session.walletAddress, session.walletAddress), wallet, await instructionsFor(web, wallet, terms));
  await redis.set(termsKey(session.walletAddress), JSON.stringify(terms), "EX", TERMS_TTL_S);
  return { transaction, amount: state.claimable, cumulative: state.proof.cumulative, epoch: state.proof.epoch };
}

export interface ClaimResult {
  amount: bigint;
  cumulative: bigint;
  epoch: number;
  txSignature: string;
}

/** Submits the wallet-signed claim; the answer is what the program paid (its RewardsClaimed event). */
export async function submitClaim(session: Session, wire: string): Promise<ClaimResult> {
  const web = chain();
  const order = await loadOrder(orderKey("claim-rewards", session.walletAddress, session.walletAddress));
  const stored = await redis.get(termsKey(session.walletAddress));
  if (!stored) throw new ApiError("EXPIRED", "transaction: this claim expired before it was signed; nothing was paid, claim again", "transaction");
  const terms = JSON.parse(stored) as ClaimTerms;
  const expected = expectedOf(order, await instructionsFor(web, new PublicKey(session.walletAddress), terms));
  const landed = await web.gateway.submitSigned(wire, expected, claimRecorder(db)).catch((error: unknown) => {
    // Claimed meanwhile (another tab, another device): the program pays nothing twice.
    if (error instanceof ProgramError && error.errorName === "NothingToClaim") throw new ApiError("NOTHING_TO_CLAIM", "everything posted for this wallet is already claimed; nothing was paid twice");
    throw error;
  });
  const claim = landed.record;
  return { amount: claim.amount, cumulative: claim.cumulative, epoch: claim.epoch, txSignature: claim.txSignature };
}
