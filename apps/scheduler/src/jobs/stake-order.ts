import { associatedTokenAddress, fetchDeviceStake, ix } from "@gpumesh/chain";
import { deviceStakeWeightBps, MAX_DEVICE_WEIGHT_BPS, requiredStake } from "@gpumesh/core";
import type { Db } from "@gpumesh/db";
import type { StakeOrderAnswer, StakeOrderRequest } from "@gpumesh/queue";
import { PublicKey, Transaction } from "@solana/web3.js";
import type { ChainContext } from "../chain-context.ts";

/**
 * The stake order (queue `requests`, job `stake-order`): `stake_device` needs the settlement
 * authority's co-signature, which attests the device's weight, so the scheduler (the only holder of
 * that key) builds it. It checks what the signature vouches for: the device is the asking wallet's
 * supplier's, and its weight is its catalogue weight (GPUs × the model's performance weight), never a
 * figure from the client. Then it builds the transaction with a fresh blockhash, the wallet as fee
 * payer, signs it as the settlement authority only, and answers it; the web keeps the order and checks
 * the wallet-signed transaction against it before submitting (any change voids our signature too).
 *
 * A new stake takes the full required amount; a stake slashed below it is topped up to exactly the
 * required amount it snapshotted (the program refuses a stake that ends short of it or above it, so
 * two orders signed before either landed stake once). Refused, with the reason: a
 * device that is not the wallet's (NOT_FOUND, as if it did not exist), one without a catalogued GPU,
 * one already fully staked, unstaking, staked at another weight, or staked by another wallet.
 */
export async function stakeOrder(deps: { db: Db; chain: ChainContext }, request: StakeOrderRequest): Promise<StakeOrderAnswer> {
  const { db, chain } = deps;
  let wallet: PublicKey;
  try {
    wallet = new PublicKey(request.wallet);
  } catch {
    return { ok: false, code: "NOT_FOUND", message: "device not found" };
  }
  const device = await db.device.findUnique({
    where: { id: request.deviceId },
    select: { gpuModelId: true, gpuCount: true, supplier: { select: { account: { select: { walletAddress: true } } } } },
  });
  if (!device || device.supplier.account.walletAddress !== wallet.toBase58()) return { ok: false, code: "NOT_FOUND", message: "device not found" };
  const weightBps = deviceStakeWeightBps(device.gpuModelId, device.gpuCount);
  if (weightBps <= 0) return { ok: false, code: "CONFLICT", message: "this device has no catalogued GPU: it earns no rewards and stakes nothing" };
  if (weightBps > MAX_DEVICE_WEIGHT_BPS) return { ok: false, code: "CONFLICT", message: "this device's weight is above what one stake accepts" };
  const required = requiredStake(weightBps);

  const current = await fetchDeviceStake(chain.connection, request.deviceId, chain.programId);
  let amount = required;
  if (current) {
    if (!current.authority.equals(wallet)) return { ok: false, code: "CONFLICT", message: "this device is staked by another wallet" };
    if (current.unstakeRequestedAt !== 0n) return { ok: false, code: "CONFLICT", message: "this device's stake is unstaking: withdraw it after the cooldown, then stake again" };
    if (current.weightBps !== weightBps) return { ok: false, code: "CONFLICT", message: `this device is staked at weight ${current.weightBps} bps, its weight is now ${weightBps}: unstake and stake again` };
    // The stake's own snapshot of what it needs (the program caps a stake at exactly it).
    if (current.amount >= current.required) return { ok: false, code: "CONFLICT", message: "this device is already fully staked" };
    amount = current.required - current.amount;
  }

  const { meshMint, settlementAuthority } = await chain.config();
  if (!settlementAuthority.equals(chain.settlementAuthority.publicKey)) throw new Error("this scheduler's settlement key is not the program's settlement authority");
  const instruction = ix.stakeDevice(
    { authority: wallet, settlementAuthority, meshMint, authorityToken: associatedTokenAddress(meshMint, wallet) },
    { deviceId: request.deviceId, weightBps, amount },
    chain.programId,
  );
  const { blockhash, lastValidBlockHeight } = await chain.connection.getLatestBlockhash("confirmed");
  const tx = new Transaction({ feePayer: wallet, blockhash, lastValidBlockHeight }).add(instruction);
  tx.partialSign(chain.settlementAuthority);
  return {
    ok: true,
    transaction: tx.serialize({ requireAllSignatures: false, verifySignatures: false }).toString("base64"),
    blockhash,
    lastValidBlockHeight,
    weightBps,
    amount: amount.toString(),
    required: required.toString(),
    settlementAuthority: settlementAuthority.toBase58(),
  };
}
