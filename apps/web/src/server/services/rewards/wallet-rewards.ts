import "server-only";
import { requiredStake } from "@gpumesh/core";
import { Prisma } from "@gpumesh/db";
import { pageOf, readCursor, type PageOf } from "../../api/pagination.ts";
import { RewardsCursor, type RewardsQuery } from "../../api/schemas/rewards.ts";
import { db } from "../../db.ts";
import { claimState } from "./claim-state.ts";

/**
 * A wallet's rewards, public (anyone may check a supplier's rewards, as anyone may read the chain):
 * per epoch and per device what was earned and why, with every number of the formula
 *
 *   weight = GPUs × performance weight (bps) × seconds online in the hour   (0 when not verified or not staked)
 *   amount = ⌊pool × weight / total weight⌋   (+1 base unit to the largest remainders, so Σ = pool)
 *
 * so a supplier can recompute its share; what is claimable now; and its claims with their
 * transactions. Epochs are paged newest first (cursor = the last epoch of the previous page), every
 * hour since the wallet's first GPU device joined, so an hour in which a device earned nothing is
 * listed too, with the reason.
 */
export type RewardReason = "EARNED" | "OFFLINE" | "PAUSED" | "CHECK_FAILED" | "NOT_STAKED" | "STAKE_BELOW_REQUIRED" | "UNSTAKING" | "NOT_VERIFIED";

export interface DeviceReward {
  deviceId: string;
  name: string;
  gpuModelId: string | null;
  gpuCount: number;
  onlineSeconds: number;
  uptimeBps: number;
  performanceWeightBps: number;
  verified: boolean;
  /** Why it earned what it did: EARNED, or why it was not counted in the hour. */
  reason: RewardReason;
  /** MESH base units the device must stake to earn (GPUs × weight × STAKE_PER_WEIGHT_UNIT). */
  requiredStake: bigint;
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

/** The wallet's GPU devices of a catalogue model (the only ones the rewards job considers), as SQL. */
const walletDevices = (wallet: string) => Prisma.sql`
  select d.id, d.name, d.gpu_model_id, d.gpu_count, d.created_at, g.performance_weight_bps,
         d.agent_public_key is null as removed
    from device d
    join supplier s on s.id = d.supplier_id
    join account a on a.id = s.account_id
    join gpu_model g on g.id = d.gpu_model_id
   where a.wallet_address = ${wallet} and d.gpu_count > 0`;

/**
 * The newest `limit` epochs (older than `cursor`) in which the wallet had a device that was not
 * removed, or one that earned: every hour of its supply, without the endless empty hours after the
 * last device was removed.
 */
async function epochsOf(wallet: string, query: RewardsQuery): Promise<number[]> {
  const after = readCursor(query.cursor, RewardsCursor);
  const older = after ? Prisma.sql`and e.epoch < ${after.epoch}` : Prisma.empty;
  const rows = await db.$queryRaw<{ epoch: number }[]>`
    with mine as (${walletDevices(wallet)})
    select e.epoch
      from reward_epoch e
     where (exists (select 1 from mine m where not m.removed and m.created_at < e.hour_start + interval '1 hour')
            or exists (select 1 from reward_contribution c where c.epoch = e.epoch and c.device_id in (select id from mine))) ${older}
     order by e.epoch desc
     limit ${query.limit + 1}`;
  return rows.map((r) => r.epoch);
}

interface IdleRow {
  epoch: number;
  device_id: string;
  name: string;
  gpu_model_id: string | null;
  gpu_count: number;
  performance_weight_bps: number;
  online_seconds: number;
  check_failed: boolean;
  /** Its supplier paused it at some moment of the hour (device_pause). */
  paused: boolean;
  removed: boolean;
  /** Its mirrored stake now: null when never staked, else device_stake.status. */
  stake_status: "STAKED" | "UNSTAKING" | "WITHDRAWN" | null;
  stake_amount: bigint | null;
}

/**
 * The wallet's devices that existed in an epoch's hour but earned nothing in it, with what the
 * rewards job's inputs (packages/db rewards.ts inputsQuery) said of them, as recorded now: seconds
 * online (outages overlapping the hour), and whether a proof-of-work check issued in the hour failed
 * or went unanswered. A device online with no failed check was not counted because it was not
 * verified (never passed a check, score below the floor, or suspended) when the hour was computed.
 * Seconds online are as recorded now: an outage recorded after the hour was computed counts here
 * and did not count there. Its stake is the mirrored stake now (device_stake keeps no history): a
 * device not staked, unstaking or staked short now is named so, ahead of "not verified". A removed device is left out of the hours it spent wholly offline.
 */
async function idleDevicesOf(wallet: string, epochs: number[]): Promise<IdleRow[]> {
  return db.$queryRaw<IdleRow[]>`
    with mine as (${walletDevices(wallet)}),
    hours as (select epoch, hour_start, hour_start + interval '1 hour' as hour_end from reward_epoch where epoch = any(${epochs}::int[]))
    select * from (
    select h.epoch, m.id::text as device_id, m.removed, m.name, m.gpu_model_id, m.gpu_count, m.performance_weight_bps,
           least(3600, greatest(0, floor(extract(epoch from (h.hour_end - greatest(h.hour_start, m.created_at)))
             - coalesce((select sum(extract(epoch from (least(coalesce(o.ended_at, h.hour_end), h.hour_end) - greatest(o.started_at, h.hour_start, m.created_at))))
                           from device_outage o
                          where o.device_id = m.id and o.started_at < h.hour_end and (o.ended_at is null or o.ended_at > h.hour_start)), 0))))::int as online_seconds,
           exists (select 1 from verification_challenge v
                    where v.device_id = m.id and v.status in ('FAILED', 'EXPIRED') and v.issued_at >= h.hour_start and v.issued_at < h.hour_end) as check_failed,
           exists (select 1 from device_pause p
                    where p.device_id = m.id and p.started_at < h.hour_end and (p.ended_at is null or p.ended_at > h.hour_start)) as paused,
           st.status::text as stake_status, st.amount as stake_amount
      from hours h
      join mine m on m.created_at < h.hour_end
      left join device_stake st on st.device_id = m.id
     where not exists (select 1 from reward_contribution c where c.epoch = h.epoch and c.device_id = m.id)
    ) idle
    -- A removed device is not listed for hours it spent wholly offline (when it was removed is not
    -- recorded, so this also drops such hours from before its removal).
    where not (idle.removed and idle.online_seconds = 0)
    order by idle.epoch desc, idle.name, idle.device_id`;
}

/** Why a device's stake does not count now, or null when it does (the rewards job's `staked`). */
function stakeShortfall(row: Pick<IdleRow, "stake_status" | "stake_amount">, required: bigint): RewardReason | null {
  if (row.stake_status === null || row.stake_status === "WITHDRAWN") return "NOT_STAKED";
  if (row.stake_status === "UNSTAKING") return "UNSTAKING";
  return (row.stake_amount ?? 0n) < required ? "STAKE_BELOW_REQUIRED" : null;
}

/** A device that earned nothing in an epoch, and why (the first reason the rewards job applies). */
export function idleDeviceReward(row: IdleRow): DeviceReward {
  const required = requiredStake(row.gpu_count * row.performance_weight_bps);
  const reason: RewardReason = row.online_seconds <= 0 ? "OFFLINE" : row.paused ? "PAUSED" : row.check_failed ? "CHECK_FAILED" : (stakeShortfall(row, required) ?? "NOT_VERIFIED");
  return {
    deviceId: row.device_id,
    name: row.name,
    gpuModelId: row.gpu_model_id,
    gpuCount: row.gpu_count,
    onlineSeconds: row.online_seconds,
    uptimeBps: Math.round((row.online_seconds * 10_000) / 3_600),
    performanceWeightBps: row.performance_weight_bps,
    verified: false,
    reason,
    requiredStake: required,
    weight: 0n,
    amount: 0n,
  };
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

/** One stored contribution as the formula's inputs. Only devices with weight are stored: all counted. */
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
    reason: "EARNED",
    requiredStake: requiredStake(row.gpu_count * row.weight_bps),
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
  const [facts, rows, idle] = page.length ? await Promise.all([epochFacts(page), contributionsOf(wallet, page), idleDevicesOf(wallet, page)]) : [new Map<number, EpochRow>(), [], []];
  const epochs = page.flatMap((epoch): RewardEpochView[] => {
    const fact = facts.get(epoch);
    if (!fact) return [];
    const devices = [...rows.filter((r) => r.epoch === epoch).map(deviceReward), ...idle.filter((r) => r.epoch === epoch).map(idleDeviceReward)];
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
