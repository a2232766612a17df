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
  /** Where lease payouts go (read from the on-chain record; null when unregistered or unreadable). */
  payoutWallet?: string | null;
  /** Devices that became rentable with this registration. */
  promoted?: number;
}

/** How a new supplier is named until it names itself: its wallet, shortened. */
export const supplierName = (session: Session) => `Supplier ${session.walletAddress.slice(0, 4)}…${session.walletAddress.slice(-4)}`;

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
  if (!supplier?.onChainAddress) return { registered: false, onChainAddress: null, payoutWallet: null };
  return { registered: true, onChainAddress: supplier.onChainAddress, payoutWallet: await payoutWalletOf(new PublicKey(supplier.onChainAddress)) };
}

/** The payout wallet in a Supplier record (authority at bytes 8..40, payout wallet at 40..72). */
async function payoutWalletOf(address: PublicKey): Promise<string | null> {
  try {
    const web = chain();
    const info = await web.connection.getAccountInfo(address, "confirmed");
    if (!info?.owner.equals(web.programId) || info.data.length < 72) return null;
    return new PublicKey(info.data.subarray(40, 72)).toBase58();
  } catch {
    return null;
  }
}

function parseWallet(value: string): PublicKey {
  try {
    const key = new PublicKey(value);
    if (key.equals(PublicKey.default)) throw new Error("default key");
    return key;
  } catch {
    throw new ApiError("VALIDATION", "payoutWallet: not a Solana address (base58)", "payoutWallet");
  }
}

async function registeredSupplier(session: Session) {
  const supplier = await db.supplier.findUnique({ where: { accountId: session.accountId } });
  if (!supplier?.onChainAddress) throw new ApiError("CONFLICT", "register as a supplier on-chain first");
  return supplier;
}

/**
 * The unsigned set_payout_wallet (base64): later settlements of every lease pay `payoutWallet`'s token
 * accounts (the settle step creates them if needed). Only the supplier's own wallet can sign it.
 */
export async function payoutWalletOrder(session: Session, payoutWallet: string): Promise<{ transaction: string }> {
  const web = chain();
  const supplier = await registeredSupplier(session);
  const payout = parseWallet(payoutWallet);
  const authority = new PublicKey(session.walletAddress);
  const { transaction } = await issueOrder(web, orderKey("payout-wallet", `${supplier.id}:${payout.toBase58()}`, session.walletAddress), authority, [
    ix.setPayoutWallet(authority, payout, web.programId),
  ]);
  return { transaction };
}

/** Submits the wallet-signed set_payout_wallet; answers the payout wallet the record now names. */
export async function submitPayoutWallet(session: Session, payoutWallet: string, wire: string): Promise<RegistrationState> {
  const web = chain();
  const supplier = await registeredSupplier(session);
  const payout = parseWallet(payoutWallet);
  const authority = new PublicKey(session.walletAddress);
  const order = await loadOrder(orderKey("payout-wallet", `${supplier.id}:${payout.toBase58()}`, session.walletAddress));
  const expected = expectedOf(order, [ix.setPayoutWallet(authority, payout, web.programId)]);
  await web.gateway.submitSigned<string>(wire, expected, { find: async () => null, record: async (landed) => ({ created: true, record: landed.signature }) });
  return { registered: true, onChainAddress: supplier.onChainAddress, payoutWallet: await payoutWalletOf(new PublicKey(supplier.onChainAddress!)) };
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
