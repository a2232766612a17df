import "server-only";
import { Prisma } from "@gpumesh/db";
import { pageOf, readCursor, type PageOf } from "../../api/pagination.ts";
import { RewardsCursor, type RewardsQuery } from "../../api/schemas/rewards.ts";
import { db } from "../../db.ts";
import { claimState } from "./claim-state.ts";

/**
 * A wallet's rewards, public (anyone may check a supplier's rewards, as anyone may read the chain):
 * per epoch and per device what was earned and why, with every number of the formula
 *
 *   weight = GPUs × performance weight (bps) × seconds online in the hour   (0 when not verified)
 *   amount = ⌊pool × weight / total weight⌋   (+1 base unit to the largest remainders, so Σ = pool)
 *
 * so a supplier can recompute its share; what is claimable now; and its claims with their
 * transactions. Epochs are paged newest first (cursor = the last epoch of the previous page).
 */
export interface DeviceReward {
  deviceId: string;
  name: string;
  gpuModelId: string | null;
  gpuCount: number;
  onlineSeconds: number;
  uptimeBps: number;
  performanceWeightBps: number;
  verified: boolean;
  weight: bigint;
  amount: bigint;
}

export interface RewardEpochView {
  epoch: number;
  hourStart: Date;
  status: "OPEN" | "COMPUTED" | "POSTED";
  postedTxSignature: string | null;
  pool: bigint;
  totalWeight: bigint;
  amount: bigint;
  devices: DeviceReward[];
}

export interface ClaimView {
  epoch: number;
  amount: bigint;
  cumulative: bigint;
  txSignature: string;
  claimedAt: Date;
}

export interface WalletRewards {
  wallet: string;
  posted: { epoch: number; cumulative: bigint } | null;
  claimed: bigint;
  claimedSource: "chain" | "index";
  claimable: bigint;
  epochs: PageOf<RewardEpochView>;
  claims: ClaimView[];
}

interface ContributionRow {
  epoch: number;
  device_id: string;
  name: string;
  gpu_model_id: string | null;
  gpu_count: number;
  gpu_seconds: bigint;
  weight: bigint;
  weight_bps: number;
  uptime_bps: number;
  amount: bigint;
}

interface EpochRow {
  epoch: number;
  hour_start: Date;
  status: RewardEpochView["status"];
  posted_tx_signature: string | null;
  pool: string;
  total_weight: string;
}

/** The newest `limit` epochs (older than `cursor`) in which one of the wallet's devices earned. */
async function epochsOf(wallet: string, query: RewardsQuery): Promise<number[]> {
  const after = readCursor(query.cursor, RewardsCursor);
  const older = after ? Prisma.sql`and c.epoch < ${after.epoch}` : Prisma.empty;
  const rows = await db.$queryRaw<{ epoch: number }[]>`
    select distinct c.epoch
      from reward_contribution c
      join device d on d.id = c.device_id
      join supplier s on s.id = d.supplier_id
      join account a on a.id = s.account_id
     where a.wallet_address = ${wallet} ${older}
     order by c.epoch desc
     limit ${query.limit + 1}`;
  return rows.map((r) => r.epoch);
}

/** The epochs' pools and total weights, as the rewards job stored them with each epoch. */
async function epochFacts(epochs: number[]): Promise<Map<number, EpochRow>> {
  const rows = await db.$queryRaw<EpochRow[]>`
    select e.epoch, e.hour_start, e.status::text as status, e.posted_tx_signature, e.pool::text as pool, e.total_weight::text as total_weight
      from reward_epoch e
     where e.epoch = any(${epochs}::int[])`;
  return new Map(rows.map((r) => [r.epoch, r]));
}

async function contributionsOf(wallet: string, epochs: number[]): Promise<ContributionRow[]> {
  return db.$queryRaw<ContributionRow[]>`
    select c.epoch, c.device_id::text as device_id, d.name, d.gpu_model_id, d.gpu_count, c.gpu_seconds, c.weight, c.weight_bps, c.uptime_bps, c.amount
      from reward_contribution c
      join device d on d.id = c.device_id
      join supplier s on s.id = d.supplier_id
      join account a on a.id = s.account_id
     where a.wallet_address = ${wallet} and c.epoch = any(${epochs}::int[])
     order by c.epoch desc, c.amount desc, d.name`;
}

/** One stored contribution as the formula's inputs. Only devices with weight are stored: all verified. */
export function deviceReward(row: ContributionRow): DeviceReward {
  // gpu_seconds = GPUs × seconds online; a device's GPU count does not change after it joins.
  const onlineSeconds = row.gpu_count > 0 ? Number(row.gpu_seconds / BigInt(row.gpu_count)) : 0;
  return {
    deviceId: row.device_id,
    name: row.name,
    gpuModelId: row.gpu_model_id,
    gpuCount: row.gpu_count,
    onlineSeconds,
    uptimeBps: row.uptime_bps,
    performanceWeightBps: row.weight_bps,
    verified: true,
    weight: row.weight,
    amount: row.amount,
  };
}

export async function walletRewards(wallet: string, query: RewardsQuery): Promise<WalletRewards> {
  const [state, epochNumbers, claims] = await Promise.all([
    claimState(wallet),
    epochsOf(wallet, query),
    db.claim.findMany({ where: { claimant: wallet }, orderBy: { claimedAt: "desc" }, take: 50 }),
  ]);
  const { items: page, next_cursor } = pageOf(epochNumbers, query.limit, (epoch) => ({ epoch }));
  const [facts, rows] = page.length ? await Promise.all([epochFacts(page), contributionsOf(wallet, page)]) : [new Map<number, EpochRow>(), []];
  const epochs = page.flatMap((epoch): RewardEpochView[] => {
    const fact = facts.get(epoch);
    if (!fact) return [];
    const devices = rows.filter((r) => r.epoch === epoch).map(deviceReward);
    return [
      {
        epoch,
        hourStart: fact.hour_start,
        status: fact.status,
        postedTxSignature: fact.posted_tx_signature,
        pool: BigInt(fact.pool),
        totalWeight: BigInt(fact.total_weight),
        amount: devices.reduce((sum, d) => sum + d.amount, 0n),
        devices,
      },
    ];
  });
  return {
    wallet,
    posted: state.proof ? { epoch: state.proof.epoch, cumulative: state.proof.cumulative } : null,
    claimed: state.claimed,
    claimedSource: state.claimedSource,
    claimable: state.claimable,
    epochs: { items: epochs, next_cursor },
    claims: claims.map((c) => ({ epoch: c.epoch, amount: c.amount, cumulative: c.cumulative, txSignature: c.txSignature, claimedAt: c.claimedAt })),
  };
}
