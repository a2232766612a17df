import "server-only";
import { decodeWireTransaction, type LandedTransaction, type TransactionRecorder } from "@gpumesh/chain";
import { checkExtension, describeRefusal, ExtensionRefusedError, ledgerReferences, recordExtension, recordUnusableExtension, type Cluster, type Payment } from "@gpumesh/db";
import { base58 } from "@scure/base";
import { PublicKey } from "@solana/web3.js";
import { ApiError, notFound } from "../../api/errors.ts";
import type { Session } from "../../auth/session.ts";
import { chain } from "../../chain.ts";
import { db } from "../../db.ts";
import { logger } from "../../logger.ts";
import { producer } from "../../queue.ts";
import { expectedOf, extendLeaseInstruction, issueOrder, loadOrder, orderKey } from "../quotes/lease-order.ts";

/**
 * Extending a running cluster at the same price: the renter's wallet signs `extend_lease` (the top-up
 * goes into the same escrow and the on-chain end moves), the server checks it against the order and
 * books it (payment, journal, new end for the cluster and its nodes) once by signature. The nodes
 * must be free after the current end; if another renter booked one, the extension is refused before
 * anything is signed.
 */

async function ownRunning(session: Session, clusterId: string): Promise<Cluster> {
  const cluster = await db.cluster.findFirst({ where: { id: clusterId, renterId: session.accountId } });
  if (!cluster) throw notFound("cluster");
  if (cluster.leaseId === null) throw new ApiError("CONFLICT", "this cluster has no lease to extend");
  return cluster;
}

async function check(cluster: Cluster, hours: number) {
  const result = await checkExtension(db, cluster.id, hours * 3_600);
  if (!result.ok) throw new ApiError("CONFLICT", `cannot extend: ${describeRefusal(result.refusal)}`, "hours");
  return result;
}

const key = (cluster: Cluster, hours: number, wallet: string) => orderKey("extend", `${cluster.id}:${hours}`, wallet);

export async function orderExtension(session: Session, clusterId: string, hours: number): Promise<{ transaction: string; amount: bigint; token: string; newEndsAt: Date }> {
  const web = chain();
  const cluster = await ownRunning(session, clusterId);
  const checked = await check(cluster, hours);
  const renter = new PublicKey(session.walletAddress);
  const mint = await web.mint(cluster.paymentToken);
  const { transaction } = await issueOrder(web, key(cluster, hours, session.walletAddress), renter, [extendLeaseInstruction(web, renter, mint, cluster.leaseId!, BigInt(hours) * 3_600n)]);
  return { transaction, amount: checked.amount, token: cluster.paymentToken, newEndsAt: checked.newEndsAt };
}

type PaidExtension = { signature: string; amount: bigint; endsAt: Date | null; extended: boolean };

/**
 * The top-up this cluster already booked under the wire transaction's signature (a double click, a
 * reload, a retry after a lost answer), or null. Looked up before the order and the extension check,
 * which a replay may no longer pass (the order expired, the lease is now too long or ending).
 */
async function bookedExtension(cluster: Cluster, wire: string): Promise<PaidExtension | null> {
  let signature: string;
  try {
    const signed = decodeWireTransaction(wire).signature;
    if (!signed) return null;
    signature = base58.encode(signed);
  } catch {
    return null; // not a transaction: the normal path answers TRANSACTION_MISMATCH
  }
  const payment = await db.payment.findFirst({ where: { txSignature: signature, kind: "EXTENSION", clusterId: cluster.id, status: "CONFIRMED" } });
  if (!payment) return null;
  const applied = await db.journal.count({ where: { reference: ledgerReferences.extension(cluster.id, signature, payment.eventIndex) } });
  return { signature, amount: payment.amount, endsAt: cluster.endsAt, extended: applied > 0 };
}

export async function payExtension(session: Session, clusterId: string, hours: number, wire: string): Promise<PaidExtension> {
  const web = chain();
  const cluster = await ownRunning(session, clusterId);
  const booked = await bookedExtension(cluster, wire);
  if (booked) return booked; // idempotent by signature: the first booking stands, nothing is sent again
  const order = await loadOrder(key(cluster, hours, session.walletAddress));
  await check(cluster, hours);
  const renter = new PublicKey(session.walletAddress);
  const mint = await web.mint(cluster.paymentToken);
  const expected = expectedOf(order, [extendLeaseInstruction(web, renter, mint, cluster.leaseId!, BigInt(hours) * 3_600n)]);
  let outcome: { endsAt: Date | null; extended: boolean } = { endsAt: cluster.endsAt, extended: false };
  const recorder: TransactionRecorder<Payment> = {
    find: (signature) => db.payment.findFirst({ where: { txSignature: signature, kind: "EXTENSION" } }),
    async record(landed: LandedTransaction) {
      const eventIndex = landed.events.findIndex((event) => event.name === "LeaseExtended");
      const event = landed.events[eventIndex];
      if (!event || event.name !== "LeaseExtended") throw new Error(`transaction ${landed.signature} extended no lease`);
      const input = {
        clusterId: cluster.id,
        accountId: session.accountId,
        amount: cluster.pricePerSecond * event.data.extraSeconds,
        addSeconds: Number(event.data.extraSeconds),
        txSignature: landed.signature,
        eventIndex,
        slot: BigInt(landed.slot),
        at: new Date(),
      };
      try {
        const recorded = await recordExtension(db, input);
        outcome = { endsAt: recorded.endsAt, extended: recorded.extended };
        return { created: recorded.created, record: recorded.payment };
      } catch (error) {
        // It landed but cannot extend (a device was booked in the seconds between check and landing):
        // the money is in the escrow and the ledger says so; the end refunds it.
        if (!(error instanceof ExtensionRefusedError)) throw error;
        const recorded = await recordUnusableExtension(db, input, error.refusal);
        outcome = { endsAt: recorded.endsAt, extended: false };
        return { created: recorded.created, record: recorded.payment };
      }
    },
  };
  const result = await web.gateway.submitSigned(wire, expected, recorder);
  if (outcome.extended && outcome.endsAt) {
    await producer()
      .extended(cluster.id, outcome.endsAt)
      .catch((error: unknown) => logger.warn({ err: error, clusterId }, "extension enqueue failed; the expiry job re-plans from the cluster's end"));
  }
  return { signature: result.signature, amount: result.record.amount, endsAt: outcome.endsAt, extended: outcome.extended };
}
