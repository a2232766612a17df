import { ix, ProgramError } from "@gpumesh/chain";
import { cumulativeEmission, emissionHour, epochWindow } from "@gpumesh/core";
import { computeRewardEpoch, latestRewardEpoch, markRewardEpochPosted, type Db } from "@gpumesh/db";
import type { Logger } from "pino";
import type { ChainContext } from "../chain-context.ts";

/**
 * The hourly rewards epoch (DESIGN.md): once emission hour t is over, crank emissions (the program
 * mints what is due), compute every device's contribution in that hour and the merkle tree of
 * cumulative amounts (packages/db/src/rewards.ts, one transaction), post the root on-chain, and mark
 * the epoch posted. Each epoch is one job, `rewards/<t>`; every step is idempotent, so a retry or a
 * second scheduler resumes wherever the first stopped (a stored epoch is never recomputed; a root
 * the chain already has is not posted twice).
 *
 * Epochs are computed in order: the sweep enqueues the epoch after the newest stored one, and a
 * finished job enqueues the next if it is due. On a fresh database only the last completed hour is
 * computed: earlier emission rolls into its pool (core `epochPool`), since no uptime was recorded then.
 */
export interface RewardsDeps {
  db: Db;
  chain: ChainContext;
  logger: Logger;
  minVerificationScoreBps: number;
  now?: () => Date;
}

export interface EpochRun {
  epoch: number;
  status: "posted" | "already-posted" | "superseded" | "not-due";
  total?: string;
  pool?: string;
  devicesRewarded?: number;
  signature?: string | null;
}

/** The epoch the rewards job should work on now, or null when nothing is due. */
export async function nextDueEpoch(deps: RewardsDeps): Promise<number | null> {
  const now = (deps.now ?? (() => new Date()))();
  const config = await deps.chain.config();
  const completed = emissionHour(Math.floor(now.getTime() / 1000), config.emissionStart);
  if (completed < 1) return null;
  const latest = await latestRewardEpoch(deps.db);
  if (latest && latest.status !== "POSTED") return latest.epoch; // computed, not posted yet: finish it
  const next = latest ? latest.epoch + 1 : completed;
  return next <= completed ? next : null;
}

const fromHex = (value: string) => Uint8Array.from(Buffer.from(value.padEnd(64, "0"), "hex"));

export async function runRewardEpoch(deps: RewardsDeps, epoch: number): Promise<EpochRun> {
  const now = (deps.now ?? (() => new Date()))();
  const { chain, db, logger } = deps;
  const config = await chain.config();
  const window = epochWindow(config.emissionStart, epoch);
  if (window.end > now) return { epoch, status: "not-due" };

  // Mint what is due first: the program refuses a root that owes more than has been minted, and this
  // epoch's tree owes at most C(epoch). A retry (or an hour another crank covered) sends nothing.
  if (config.emissionMinted < cumulativeEmission(epoch)) {
    await chain.gateway.sendServerSigned(() => [ix.crankEmissions(config.meshMint, chain.programId)], [chain.rewardsAuthority]);
  }

  const computed = await computeRewardEpoch(db, window, {
    minVerificationScoreBps: deps.minVerificationScoreBps,
    onSkippedClaimant: (wallet) => logger.warn({ wallet, epoch }, "supplier wallet is not a public key: left out of the rewards tree"),
  });
  if (!computed) return { epoch, status: "superseded" };
  const facts = { epoch, total: computed.total.toString(), pool: computed.pool.toString(), devicesRewarded: computed.devicesRewarded };

  const current = await chain.config();
  if (current.rewardEpoch >= BigInt(epoch)) {
    await markRewardEpochPosted(db, epoch, null, now);
    return { ...facts, status: "already-posted" };
  }
  try {
    const landed = await chain.gateway.sendServerSigned(
      () => [ix.postRewardRoot(chain.rewardsAuthority.publicKey, BigInt(epoch), fromHex(computed.root), computed.total, chain.programId)],
      [chain.rewardsAuthority],
    );
    await markRewardEpochPosted(db, epoch, landed.signature, now);
    logger.info({ ...facts, signature: landed.signature }, "reward epoch posted");
    return { ...facts, status: "posted", signature: landed.signature };
  } catch (error) {
    // Another scheduler posted it between our read and our send.
    if (error instanceof ProgramError && error.errorName === "EpochNotIncreasing" && (await chain.config()).rewardEpoch >= BigInt(epoch)) {
      await markRewardEpochPosted(db, epoch, null, now);
      return { ...facts, status: "already-posted" };
    }
    throw error;
  }
}
