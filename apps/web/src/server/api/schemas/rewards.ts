import { isClaimant } from "@gpumesh/core";
import { z } from "zod";
import { Page, PageQuery } from "../pagination.ts";
import { SignedTransaction } from "./clusters.ts";
import { Amount, Timestamp } from "./common.ts";

/** MESH amounts: base units (10⁻⁶ MESH) as decimal strings. */
const Units = Amount;

export const WalletParams = z.object({
  wallet: z.string().max(44, "not a Solana address (base58)").refine(isClaimant, "not a Solana address (base58)").describe("The claimant's wallet (base58 public key)"),
});

/** Epochs page newest first: `cursor` is the previous page's `epochs.next_cursor`. */
export const RewardsQuery = PageQuery;
export type RewardsQuery = z.infer<typeof RewardsQuery>;
/** What a rewards cursor carries: the last epoch served. */
export const RewardsCursor = z.object({ epoch: z.number().int().min(1) });

export const ClaimBody = z.object({ transaction: SignedTransaction });

export const DeviceRewardView = z.object({
  deviceId: z.string().uuid(),
  name: z.string(),
  gpuModelId: z.string().nullable(),
  gpuCount: z.number().int().describe("GPUs in the device"),
  onlineSeconds: z.number().int().describe("Seconds of the hour the device was online"),
  uptimeBps: z.number().int().describe("onlineSeconds / 3600 in basis points"),
  performanceWeightBps: z.number().int().describe("The GPU model's performance weight (basis points)"),
  verified: z.boolean().describe("Counted in the hour: verified, staked, with no failed proof-of-work check in it, and online (only counted devices earn)"),
  reason: z
    .enum(["EARNED", "OFFLINE", "PAUSED", "CHECK_FAILED", "NOT_STAKED", "STAKE_BELOW_REQUIRED", "UNSTAKING", "NOT_VERIFIED"])
    .describe("EARNED; or why the device was not counted: OFFLINE the whole hour, PAUSED by its supplier at some moment of the hour (it took no new leases), a proof-of-work check issued in the hour FAILED or went unanswered (CHECK_FAILED), no MESH staked for it (NOT_STAKED), its stake below requiredStake (STAKE_BELOW_REQUIRED, e.g. after a slash), an unstake requested (UNSTAKING), or NOT_VERIFIED (never passed a check, score below the floor, or suspended) when the hour was computed. For a device not counted, onlineSeconds and the stake are as recorded now"),
  requiredStake: Units.describe("MESH base units the device must stake to earn: GPUs × performance weight (bps) × 100,000"),
  weight: Units.describe("gpuCount × performanceWeightBps × onlineSeconds when reason is EARNED; 0 otherwise"),
  amount: Units.describe("⌊pool × weight / totalWeight⌋ (+1 base unit to the largest remainders)"),
}).meta({ id: "DeviceEpochReward" });

export const RewardEpochView = z.object({
  epoch: z.number().int(),
  hourStart: Timestamp,
  status: z.enum(["OPEN", "COMPUTED", "POSTED"]),
  postedTxSignature: z.string().nullable(),
  pool: Units.describe("What the epoch handed out: emitted up to its hour minus earlier epochs' totals"),
  totalWeight: Amount.describe("Σ weight of every rewarded device in the epoch"),
  amount: Units.describe("This wallet's devices' rewards in the epoch"),
  devices: z.array(DeviceRewardView),
}).meta({ id: "WalletRewardEpoch" });

export const ClaimView = z.object({
  epoch: z.number().int().describe("The epoch whose root the claim was proven against"),
  amount: Units,
  cumulative: Units,
  txSignature: z.string(),
  claimedAt: Timestamp,
}).meta({ id: "RewardClaim" });

export const WalletRewardsView = z.object({
  wallet: z.string(),
  posted: z.object({ epoch: z.number().int(), cumulative: Units }).nullable().describe("The wallet's cumulative amount in the newest posted tree"),
  claimed: Units.describe("Cumulative amount already paid (the on-chain claim record; the indexed claims when the chain is unreachable)"),
  claimedSource: z.enum(["chain", "index"]),
  claimable: Units.describe("posted.cumulative − claimed"),
  epochs: Page(RewardEpochView).describe("Every epoch since the wallet's first GPU device joined, newest first, each with all the devices that existed in its hour (those that earned nothing with the reason)"),
  claims: z.array(ClaimView).describe("The 50 newest claims"),
}).meta({ id: "WalletRewards" });

export const RewardProofView = z.object({
  epoch: z.number().int(),
  root: z.string().describe("The posted merkle root (hex)"),
  cumulative: Units,
  proof: z.array(z.string()).describe("Sibling hashes (hex) from leaf to root"),
}).meta({ id: "RewardProof" });

export const ClaimOrderView = z.object({ transaction: z.string().describe("Unsigned claim_rewards transaction (base64) for the wallet to sign"), amount: Units, cumulative: Units, epoch: z.number().int() }).meta({ id: "ClaimOrder" });
export const ClaimResultView = z.object({ amount: Units, cumulative: Units, epoch: z.number().int(), txSignature: z.string() }).meta({ id: "ClaimResult" });

export const EmissionView = z.object({
  emissionStart: Timestamp,
  hour: z.number().int().describe("Completed emission hours"),
  hourlyEmission: Units.describe("What the hour in progress emits"),
  scheduledCumulative: Units.describe("Emitted by the schedule after the completed hours"),
  mintedOnChain: Units.describe("Minted by the program so far (cranked)"),
  burned: Units.describe("genesis + minted − the mint's supply"),
  supply: Units.describe("The MESH mint's supply"),
  unclaimedRewards: Units.describe("Minted but not yet claimed (the rewards vault)"),
  circulating: Units.describe("supply − unclaimedRewards"),
  cap: Units,
  progressBps: z.number().int().describe("mintedOnChain / cap in basis points"),
  feeBps: z.number().int().describe("The program's protocol fee on leases (basis points)"),
  burnBps: z.number().int().describe("Share of the fee burned when a lease is paid in MESH (basis points)"),
  schedule: z.array(z.object({ hour: z.number().int(), hourly: Units, cumulative: Units })).describe("The schedule sampled every 30 days to its end"),
}).meta({ id: "Emission" });
