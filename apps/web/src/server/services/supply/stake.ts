import "server-only";
import { associatedTokenAddress, fetchDeviceStake, ix, ProgramError, type DeviceStakeAccount, type TransactionRecorder } from "@gpumesh/chain";
import { PublicKey } from "@solana/web3.js";
import { ApiError, notFound } from "../../api/errors.ts";
import type { Session } from "../../auth/session.ts";
import { chain, type WebChain } from "../../chain.ts";
import { db } from "../../db.ts";
import { requester } from "../../queue.ts";
import { redis } from "../../redis.ts";
import { expectedOf, issueOrder, loadOrder, orderKey, type StoredOrder } from "../quotes/lease-order.ts";

/**
 * A device's MESH stake from the supplier's page (issue #11): stake, request the unstake, withdraw
 * after the cooldown. Each is the usual wallet flow (the server builds the transaction, the wallet
 * signs, the server checks the signed transaction against the stored order and submits it), except
 * that `stake_device` also needs the settlement authority's co-signature (it attests the device's
 * weight), and this server holds no key: the scheduler builds and co-signs that transaction (the
 * `stake-order` request, packages/queue requests.ts) and this server stores its terms as the order.
 * The co-signature covers the whole message, so a wallet that changes anything voids it as well as
 * failing the order check. Another wallet's device answers 404, like one that does not exist.
 *
 * What is recorded: nothing of its own; the chain indexer mirrors the stake events into
 * `device_stake` (what the rewards epoch reads), and the device page reads the stake account live.
 * A submitted signature is remembered (for the order's lifetime), so a replay is refused at once.
 */

/** The stake terms the scheduler co-signed, kept with the order. */
interface StakeTerms extends StoredOrder {
  weightBps: number;
  amount: string;
  settlementAuthority: string;
}

export interface StakeOrder {
  transaction: string;
  /** Base units this transaction stakes (the required stake, or the top-up back to it). */
  amount: bigint;
  required: bigint;
  weightBps: number;
}

export interface StakeResult {
  txSignature: string;
  /** What the device's stake holds after the transaction (base units). */
  staked: bigint;
  /** While unstaking: when the stake can be withdrawn. */
  withdrawableAt: Date | null;
}

const ORDER_TTL_S = 150;
const submittedKey = (signature: string) => `stake-submitted:${signature}`;

async function ownDevice(session: Session, deviceId: string): Promise<void> {
  const device = await db.device.findFirst({ where: { id: deviceId, supplier: { accountId: session.accountId } }, select: { id: true } });
  if (!device) throw notFound("device");
}

/** Refuses a replayed signature; otherwise records nothing (the indexer mirrors the stake). */
function stakeRecorder(deviceId: string): TransactionRecorder<StakeResult> {
  return {
    find: async (signature) => ((await redis.get(submittedKey(signature))) ? { txSignature: signature, staked: 0n, withdrawableAt: null } : null),
    async record(landed) {
      await redis.set(submittedKey(landed.signature), deviceId, "EX", 24 * 3_600);
      let staked = 0n;
      let withdrawableAt: Date | null = null;
      for (const event of landed.events) {
        if (event.name === "DeviceStaked") staked = event.data.total;
        if (event.name === "DeviceUnstakeRequested") {
          staked = event.data.amount;
          withdrawableAt = new Date(Number(event.data.withdrawableAt) * 1000);
        }
      }
      return { created: true, record: { txSignature: landed.signature, staked, withdrawableAt } };
    },
  };
}

/** The device's stake account, which must be this wallet's. */
async function walletStake(web: WebChain, wallet: PublicKey, deviceId: string): Promise<DeviceStakeAccount> {
  const stake = await fetchDeviceStake(web.connection, deviceId, web.programId);
  if (!stake) throw new ApiError("CONFLICT", "this device has no stake");
  if (!stake.authority.equals(wallet)) throw new ApiError("CONFLICT", "this device is staked by another wallet");
  return stake;
}

// -- stake ------------------------------------------------------------------------------------------

/** The co-signed stake_device for the session's wallet to sign (the scheduler builds it). */
export async function stakeOrder(session: Session, deviceId: string): Promise<StakeOrder> {
  await ownDevice(session, deviceId);
  chain(); // 503 before asking the scheduler, when this server has no chain at all
  // A scheduler that does not answer in time is a 503 (RequestTimeoutError, domain-errors.ts).
  const answer = await requester().stakeOrder({ deviceId, wallet: session.walletAddress });
  if (!answer.ok) throw answer.code === "NOT_FOUND" ? notFound("device") : new ApiError("CONFLICT", answer.message);
  const terms: StakeTerms = {
    wallet: session.walletAddress, blockhash: answer.blockhash, lastValidBlockHeight: answer.lastValidBlockHeight,
    weightBps: answer.weightBps, amount: answer.amount, settlementAuthority: answer.settlementAuthority,
  };
  await redis.set(orderKey("stake", deviceId, session.walletAddress), JSON.stringify(terms), "EX", ORDER_TTL_S);
  return { transaction: answer.transaction, amount: BigInt(answer.amount), required: BigInt(answer.required), weightBps: answer.weightBps };
}

/** Submits the wallet-signed (and scheduler co-signed) stake_device. */
export async function submitStake(session: Session, deviceId: string, wire: string): Promise<StakeResult> {
  await ownDevice(session, deviceId);
  const web = chain();
  const terms = (await loadOrder(orderKey("stake", deviceId, session.walletAddress))) as StakeTerms;
  const { meshMint, settlementAuthority } = await web.config();
  // The program's settlement authority now, not the one the order names: a rotated key voids old orders.
  if (settlementAuthority.toBase58() !== terms.settlementAuthority) throw new ApiError("EXPIRED", "transaction: the network's signing key changed; stake again", "transaction");
  const wallet = new PublicKey(session.walletAddress);
  const instruction = ix.stakeDevice(
    { authority: wallet, settlementAuthority, meshMint, authorityToken: associatedTokenAddress(meshMint, wallet) },
    { deviceId, weightBps: terms.weightBps, amount: BigInt(terms.amount) },
    web.programId,
  );
  try {
    const landed = await web.gateway.submitSigned(wire, expectedOf(terms, [instruction]), stakeRecorder(deviceId));
    return landed.record;
  } catch (error) {
    // A second order signed before the first landed (another tab): the program caps a stake at its requirement.
    if (error instanceof ProgramError && error.errorName === "StakeAboveRequired") throw new ApiError("CONFLICT", "this device is already fully staked (another order landed first); nothing was charged", "transaction");
    throw error;
  }
}

// -- unstake ----------------------------------------------------------------------------------------

/** The request_unstake for the session's wallet to sign: the stake stops counting for rewards at once. */
export async function unstakeOrder(session: Session, deviceId: string): Promise<{ transaction: string }> {
  await ownDevice(session, deviceId);
  const web = chain();
  const wallet = new PublicKey(session.walletAddress);
  const stake = await walletStake(web, wallet, deviceId);
  if (stake.unstakeRequestedAt !== 0n) throw new ApiError("CONFLICT", "an unstake is already under way for this device");
  const { transaction } = await issueOrder(web, orderKey("unstake", deviceId, session.walletAddress), wallet, [ix.requestUnstake(wallet, deviceId, web.programId)]);
  return { transaction };
}

export async function submitUnstake(session: Session, deviceId: string, wire: string): Promise<StakeResult> {
  await ownDevice(session, deviceId);
  const web = chain();
  const wallet = new PublicKey(session.walletAddress);
  const order = await loadOrder(orderKey("unstake", deviceId, session.walletAddress));
  const landed = await web.gateway.submitSigned(wire, expectedOf(order, [ix.requestUnstake(wallet, deviceId, web.programId)]), stakeRecorder(deviceId));
  return landed.record;
}

// -- withdraw ---------------------------------------------------------------------------------------

function withdrawInstruction(web: WebChain, wallet: PublicKey, meshMint: PublicKey, deviceId: string) {
  return ix.withdrawStake({ authority: wallet, meshMint, authorityToken: associatedTokenAddress(meshMint, wallet) }, deviceId, web.programId);
}

/** The withdraw_stake for the session's wallet to sign, once an unstake was requested (the program enforces the cooldown). */
export async function withdrawOrder(session: Session, deviceId: string): Promise<{ transaction: string }> {
  await ownDevice(session, deviceId);
  const web = chain();
  const wallet = new PublicKey(session.walletAddress);
  const stake = await walletStake(web, wallet, deviceId);
  if (stake.unstakeRequestedAt === 0n) throw new ApiError("CONFLICT", "request the unstake first; the stake can be withdrawn 7 days later");
  const { meshMint } = await web.config();
  const { transaction } = await issueOrder(web, orderKey("withdraw-stake", deviceId, session.walletAddress), wallet, [withdrawInstruction(web, wallet, meshMint, deviceId)]);
  return { transaction };
}

export async function submitWithdraw(session: Session, deviceId: string, wire: string): Promise<StakeResult> {
  await ownDevice(session, deviceId);
  const web = chain();
  const wallet = new PublicKey(session.walletAddress);
  const order = await loadOrder(orderKey("withdraw-stake", deviceId, session.walletAddress));
  const { meshMint } = await web.config();
  const landed = await web.gateway.submitSigned(wire, expectedOf(order, [withdrawInstruction(web, wallet, meshMint, deviceId)]), stakeRecorder(deviceId));
  return landed.record;
}
