import "server-only";
import { ix, pdas } from "@gpumesh/chain";
import { supplierOfAccount } from "@gpumesh/db";
import { PublicKey } from "@solana/web3.js";
import { ApiError } from "../../api/errors.ts";
import type { Session } from "../../auth/session.ts";
import { chain } from "../../chain.ts";
import { db } from "../../db.ts";
import { expectedOf, issueOrder, loadOrder, orderKey } from "../quotes/lease-order.ts";

/**
 * A supplier's on-chain registration (`register_supplier`: its Supplier record, payouts to its own
 * wallet). Leases allocate to that record, so until it exists a supplier's devices are verified but
 * not rentable (the verify step holds them REGISTERED); recording it promotes the ones that passed.
 * The server builds the instruction, the wallet signs and pays the account's rent, the server checks
 * the signed transaction against the order, submits, confirms, and records it once.
 */
export interface RegistrationState {
  registered: boolean;
  onChainAddress: string | null;
  /** Devices that became rentable with this registration. */
  promoted?: number;
}

const supplierName = (session: Session) => `Supplier ${session.walletAddress.slice(0, 4)}…${session.walletAddress.slice(-4)}`;

function instructionFor(authority: PublicKey, programId: PublicKey) {
  return ix.registerSupplier(authority, authority, programId);
}

/** Marks the supplier registered at `address` and makes its verified devices rentable. */
async function record(supplierId: string, address: string): Promise<RegistrationState> {
  const promoted = await db.$transaction(async (tx) => {
    await tx.supplier.update({ where: { id: supplierId }, data: { onChainAddress: address } });
    return tx.device.updateMany({ where: { supplierId, status: "REGISTERED", verifiedAt: { not: null }, agentPublicKey: { not: null } }, data: { status: "ONLINE" } });
  });
  return { registered: true, onChainAddress: address, promoted: promoted.count };
}

export async function registrationState(session: Session): Promise<RegistrationState> {
  const supplier = await db.supplier.findUnique({ where: { accountId: session.accountId }, select: { onChainAddress: true } });
  return { registered: Boolean(supplier?.onChainAddress), onChainAddress: supplier?.onChainAddress ?? null };
}

/**
 * The unsigned register_supplier for the session's wallet (base64). Already registered on-chain (from
 * another session, or a crash after landing): recorded now, no transaction needed.
 */
export async function registrationOrder(session: Session): Promise<{ transaction: string } | RegistrationState> {
  const web = chain();
  const supplier = await supplierOfAccount(db, session.accountId, supplierName(session));
  if (supplier.onChainAddress) throw new ApiError("CONFLICT", "you are already registered as a supplier on-chain");
  const authority = new PublicKey(session.walletAddress);
  const [address] = pdas.supplier(authority, web.programId);
  // Registered already (another session, a crash after landing): only a program-owned Supplier record
  // whose authority is this wallet counts. Anyone can send lamports to the address and create a
  // system-owned account there; that is not a registration.
  const existing = await web.connection.getAccountInfo(address, "confirmed");
  if (existing?.owner.equals(web.programId) && existing.data.length >= 40 && new PublicKey(existing.data.subarray(8, 40)).equals(authority)) return record(supplier.id, address.toBase58());
  const { transaction } = await issueOrder(web, orderKey("register-supplier", supplier.id, session.walletAddress), authority, [instructionFor(authority, web.programId)]);
  return { transaction };
}

/** Submits the wallet-signed register_supplier; idempotent (a replay answers the recorded state). */
export async function submitRegistration(session: Session, wire: string): Promise<RegistrationState> {
  const web = chain();
  const supplier = await supplierOfAccount(db, session.accountId, supplierName(session));
  if (supplier.onChainAddress) return { registered: true, onChainAddress: supplier.onChainAddress };
  const order = await loadOrder(orderKey("register-supplier", supplier.id, session.walletAddress));
  const authority = new PublicKey(session.walletAddress);
  const [address] = pdas.supplier(authority, web.programId);
  const expected = expectedOf(order, [instructionFor(authority, web.programId)]);
  const result = await web.gateway.submitSigned<RegistrationState>(wire, expected, {
    async find(): Promise<RegistrationState | null> {
      const current = await db.supplier.findUnique({ where: { id: supplier.id }, select: { onChainAddress: true } });
      return current?.onChainAddress ? { registered: true, onChainAddress: current.onChainAddress } : null;
    },
    async record() {
      return { created: true, record: await record(supplier.id, address.toBase58()) };
    },
  });
  return result.record;
}
