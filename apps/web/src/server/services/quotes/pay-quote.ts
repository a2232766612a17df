import "server-only";
import type { LandedTransaction, TransactionRecorder } from "@gpumesh/chain";
import { paymentRecorder } from "@gpumesh/chain/store";
import { UnexpectedClusterStatusError } from "@gpumesh/core";
import { transitionCluster, type Cluster, type Payment } from "@gpumesh/db";
import { PublicKey } from "@solana/web3.js";
import { ApiError, notFound } from "../../api/errors.ts";
import type { Session } from "../../auth/session.ts";
import { chain } from "../../chain.ts";
import { db } from "../../db.ts";
import { logger } from "../../logger.ts";
import { producer } from "../../queue.ts";
import { expectedOf, issueOrder, loadOrder, openLeaseInstruction, orderKey } from "./lease-order.ts";

/**
 * Paying a held quote: the server builds `open_lease` from the quote it stored (price per second,
 * maximum seconds, a lease id it assigns), the wallet signs, the server checks the signed transaction
 * against that order, submits and confirms it, records the deposit once by signature, moves the
 * cluster REQUESTED → PAID and enqueues its deployment.
 *
 * What can go wrong, and what the renter sees:
 * - double click / reload / a replayed request: the same signature is recorded once; the second call
 *   answers with the same payment (idempotent), never a second charge;
 * - a second, differently signed transaction for the same quote: the lease id is taken on-chain, the
 *   program refuses it, nothing is charged;
 * - the quote expired, or expires while the transaction is in flight: refused before submitting; if
 *   it lands anyway the cluster is FAILED and the scheduler cancels the lease with a full refund;
 * - a tampered transaction (other amount, price, account, program): 400, nothing submitted.
 */

/** Seconds a quote must still be held when its payment is requested or submitted (signing takes time). */
const PAY_MARGIN_MS = 20_000;

async function ownQuote(session: Session, quoteId: string): Promise<Cluster> {
  const cluster = await db.cluster.findFirst({ where: { id: quoteId, renterId: session.accountId } });
  if (!cluster) throw notFound("quote");
  return cluster;
}

function assertPayable(cluster: Cluster, now: Date) {
  if (cluster.status !== "REQUESTED") throw new ApiError("CONFLICT", `this quote was already ${cluster.status === "FAILED" || cluster.status === "REFUNDED" ? "closed" : "paid"}`);
  const expires = cluster.quoteExpiresAt?.getTime() ?? 0;
  if (expires - PAY_MARGIN_MS <= now.getTime()) throw new ApiError("EXPIRED", "this quote expired; ask for a new one (prices and availability may have changed)");
}

/** A lease id unique per renter on-chain and globally in the database: 60 bits of the cluster's UUID. */
function leaseIdOf(clusterId: string): bigint {
  return BigInt(`0x${clusterId.replace(/-/g, "").slice(0, 15)}`);
}

function terms(cluster: Cluster) {
  return { leaseId: cluster.leaseId!, pricePerSecond: cluster.pricePerSecond, maxSeconds: BigInt(cluster.durationHours) * 3_600n };
}

/** The unsigned open_lease for this quote (base64), for the renter's wallet to sign. */
export async function orderQuote(session: Session, quoteId: string, now = new Date()): Promise<{ transaction: string; amount: bigint; token: string; expiresAt: Date | null }> {
  const web = chain();
  let cluster = await ownQuote(session, quoteId);
  assertPayable(cluster, now);
  if (cluster.leaseId === null) {
    await db.cluster.updateMany({ where: { id: cluster.id, leaseId: null }, data: { leaseId: leaseIdOf(cluster.id) } });
    cluster = await ownQuote(session, quoteId);
  }
  const renter = new PublicKey(session.walletAddress);
  const mint = await web.mint(cluster.paymentToken);
  const { transaction } = await issueOrder(web, orderKey("open", cluster.id, session.walletAddress), renter, [openLeaseInstruction(web, renter, mint, terms(cluster))]);
  return { transaction, amount: cluster.depositAmount, token: cluster.paymentToken, expiresAt: cluster.quoteExpiresAt };
}

export interface PaidQuote {
  clusterId: string;
  signature: string;
  amount: bigint;
  token: string;
  status: string;
}

const paidView = (cluster: Cluster, payment: Payment): PaidQuote => ({ clusterId: cluster.id, signature: payment.txSignature, amount: payment.amount, token: payment.token, status: cluster.status });

/** Submits the wallet-signed open_lease for this quote; idempotent by transaction signature. */
export async function payQuote(session: Session, quoteId: string, wire: string, now = new Date()): Promise<PaidQuote> {
  const web = chain();
  const cluster = await ownQuote(session, quoteId);
  const paid = await db.payment.findFirst({ where: { clusterId: cluster.id, kind: "DEPOSIT", status: "CONFIRMED" } });
  if (paid) return paidView(cluster, paid); // reload, double click: the first payment stands
  assertPayable(cluster, now);
  if (cluster.leaseId === null) throw new ApiError("CONFLICT", "transaction: ask for the payment transaction first", "transaction");
  const order = await loadOrder(orderKey("open", cluster.id, session.walletAddress));
  const renter = new PublicKey(session.walletAddress);
  const mint = await web.mint(cluster.paymentToken);
  const expected = expectedOf(order, [openLeaseInstruction(web, renter, mint, terms(cluster))]);
  const config = await web.config();
  const deposit = paymentRecorder(db, { accountId: session.accountId, clusterId: cluster.id, token: cluster.paymentToken, amount: cluster.depositAmount, rates: { feeBps: config.feeBps, burnBps: config.burnBps } });
  // The deposit row and the move to PAID: the payment first (it is the money), then the transition;
  // a crash between the two is finished by the indexer/sweep (a REQUESTED cluster with a confirmed deposit).
  const recorder: TransactionRecorder<Payment> = {
    find: deposit.find,
    async record(landed: LandedTransaction) {
      const recorded = await deposit.record(landed);
      await transitionCluster(db, cluster.id, "PAID", `paid: deposit ${landed.signature}`, { expectedFrom: ["REQUESTED"] }).catch((error: unknown) => {
        // The quote expired while the transaction was in flight: the scheduler cancels the lease in full.
        if (!(error instanceof UnexpectedClusterStatusError)) throw error;
        logger.warn({ err: error, clusterId: cluster.id }, "deposit landed for a quote that is no longer REQUESTED");
      });
      return recorded;
    },
  };
  let result;
  try {
    result = await web.gateway.submitSigned(wire, expected, recorder);
  } catch (error) {
    // A racing call for the same transaction (double click) recorded it first: answer with that payment.
    const existing = await db.payment.findFirst({ where: { clusterId: cluster.id, kind: "DEPOSIT", status: "CONFIRMED" } });
    if (existing && (await db.cluster.count({ where: { id: cluster.id, status: { not: "REQUESTED" } } }))) return paidView(await ownQuote(session, quoteId), existing);
    throw error;
  }
  const after = await ownQuote(session, quoteId);
  if (after.status !== "PAID" && after.status !== "MATCHING" && after.status !== "DEPLOYING" && after.status !== "RUNNING") {
    throw new ApiError("CONFLICT", "the quote expired while the payment was on its way; the deposit is refunded to your wallet in full");
  }
  await producer()
    .deploy(cluster.id)
    .catch((error: unknown) => logger.warn({ err: error, clusterId: cluster.id }, "deploy enqueue failed; the deploy sweep will pick the cluster up"));
  return paidView(after, result.record);
}
