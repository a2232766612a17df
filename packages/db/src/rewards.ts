import { allocateEpoch, buildEpochTree, epochPool, hourlyEmission, isClaimant, type DeviceContributionInput, type EpochTree, type EpochWindow } from "@gpumesh/core";
import type { Db, DbTransaction } from "./client.ts";
import { insertInChunks } from "./chunks.ts";

/**
 * Reward epochs in Postgres (the math is in packages/core/src/rewards.ts). An epoch is computed once,
 * in one transaction that holds an advisory lock, so two scheduler processes can never store two
 * different trees for the same hour; the RewardEpoch row, its contributions and its leaves appear
 * together or not at all.
 */

/** Advisory lock key serialising epoch computation across scheduler processes ("GPMR"). */
const REWARDS_LOCK_KEY = 0x47504d52;

/**
 * Every device with GPUs that existed during the window, with its seconds online in the window
 * (window minus the part before it was created minus its outages) and whether it stayed verified:
 * no challenge issued in the hour failed or went unanswered, the score is at or above the floor,
 * and the device is not suspended (or still unverified).
 */
export async function epochContributionInputs(db: Db | DbTransaction, window: EpochWindow, minVerificationScoreBps: number): Promise<DeviceContributionInput[]> {
  const rows = await db.$queryRaw<{ device_id: string; claimant: string; gpu_count: number; performance_weight_bps: number; online_seconds: number; verified: boolean }[]>`
    select d.id as device_id, a.wallet_address as claimant, d.gpu_count, g.performance_weight_bps,
           greatest(0, extract(epoch from (${window.end}::timestamptz - greatest(${window.start}::timestamptz, d.created_at)))
                       - coalesce(o.down, 0))::float8 as online_seconds,
           (d.status in ('ONLINE', 'OFFLINE') and d.verification_score_bps >= ${minVerificationScoreBps}
             and not exists (select 1 from verification_challenge c
                              where c.device_id = d.id and c.status in ('FAILED', 'EXPIRED')
                                and c.issued_at >= ${window.start}::timestamptz and c.issued_at < ${window.end}::timestamptz)) as verified
      from device d
      join gpu_model g on g.id = d.gpu_model_id
      join supplier s on s.id = d.supplier_id
      join account a on a.id = s.account_id
      left join lateral (
        select sum(extract(epoch from (least(coalesce(o.ended_at, ${window.end}::timestamptz), ${window.end}::timestamptz)
                                       - greatest(o.started_at, ${window.start}::timestamptz, d.created_at)))) as down
          from device_outage o
         where o.device_id = d.id and o.started_at < ${window.end}::timestamptz
           and (o.ended_at is null or o.ended_at > ${window.start}::timestamptz)
      ) o on true
     where d.gpu_count > 0 and d.created_at < ${window.end}::timestamptz
     order by d.id`;
  return rows.map((r) => ({
    deviceId: r.device_id,
    claimant: r.claimant,
    gpuCount: r.gpu_count,
    performanceWeightBps: r.performance_weight_bps,
    onlineSeconds: Math.max(0, Math.floor(r.online_seconds)),
    verified: r.verified,
  }));
}

export interface ComputedEpoch extends EpochTree {
  epoch: number;
  created: boolean;
  pool: bigint;
  devicesRewarded: number;
}

/** The newest computed (or posted) epoch, if any. */
export function latestRewardEpoch(db: Db) {
  return db.rewardEpoch.findFirst({ orderBy: { epoch: "desc" } });
}

/**
 * Computes and stores epoch `window.epoch` unless it (or a later one) already exists. The pool is
 * what was emitted up to this hour minus what the previous stored epoch handed out; the tree carries
 * every claimant's cumulative amount forward. Devices without weight are not stored (a network of a
 * million mostly-idle devices would otherwise write a million zero rows per hour).
 */
export async function computeRewardEpoch(db: Db, window: EpochWindow, options: { minVerificationScoreBps: number; onSkippedClaimant?: (wallet: string) => void }): Promise<ComputedEpoch | null> {
  return db.$transaction(
    async (tx) => {
      await tx.$executeRaw`select pg_advisory_xact_lock(${REWARDS_LOCK_KEY}::int)`;
      const existing = await tx.rewardEpoch.findUnique({ where: { epoch: window.epoch }, include: { leaves: true } });
      if (existing) {
        return {
          epoch: existing.epoch,
          created: false,
          pool: 0n,
          devicesRewarded: 0,
          root: existing.merkleRoot ?? "",
          total: existing.cumulativeTotal,
          leaves: existing.leaves.map((l) => ({ claimant: l.claimant, cumulative: l.cumulative, proof: l.proof })),
        };
      }
      // A later epoch exists: this hour's emission already rolled into it.
      const later = await tx.rewardEpoch.findFirst({ where: { epoch: { gt: window.epoch } }, select: { epoch: true } });
      if (later) return null;
      const previous = await tx.rewardEpoch.findFirst({ where: { epoch: { lt: window.epoch } }, orderBy: { epoch: "desc" }, include: { leaves: true } });
      const pool = epochPool(window.epoch, previous?.cumulativeTotal ?? 0n);
      const inputs = (await epochContributionInputs(tx, window, options.minVerificationScoreBps)).filter((input) => {
        // A supplier whose wallet is not a public key cannot claim: leave it out rather than fail the hour.
        if (isClaimant(input.claimant)) return true;
        options.onSkippedClaimant?.(input.claimant);
        return false;
      });
      const rewards = allocateEpoch(pool, inputs).filter((r) => r.weight > 0n);
      const tree = buildEpochTree(new Map(previous?.leaves.map((l) => [l.claimant, l.cumulative]) ?? []), rewards);
      const performance = new Map(inputs.map((i) => [i.deviceId, i]));
      await tx.rewardEpoch.create({
        data: {
          epoch: window.epoch,
          hourStart: window.start,
          emission: hourlyEmission(window.epoch),
          cumulativeTotal: tree.total,
          merkleRoot: tree.leaves.length ? tree.root : null,
          status: "COMPUTED",
        },
      });
      // In slices of one statement each (chunks.ts): a network of more than ~5,000 rewarded devices
      // would otherwise make Prisma run several INSERTs at once on this transaction's connection.
      const contributions = rewards.map((r) => {
        const input = performance.get(r.deviceId)!;
        return { epoch: window.epoch, deviceId: r.deviceId, gpuSeconds: BigInt(input.gpuCount * input.onlineSeconds), weightBps: input.performanceWeightBps, uptimeBps: r.uptimeBps, amount: r.amount };
      });
      await insertInChunks(contributions, (data) => tx.rewardContribution.createMany({ data }), { columns: 6 });
      const leaves = tree.leaves.map((l) => ({ epoch: window.epoch, claimant: l.claimant, cumulative: l.cumulative, proof: l.proof }));
      await insertInChunks(leaves, (data) => tx.rewardLeaf.createMany({ data }), { columns: 4 });
      return { epoch: window.epoch, created: true, pool, devicesRewarded: rewards.filter((r) => r.amount > 0n).length, ...tree };
    },
    { timeout: 120_000, maxWait: 30_000 },
  );
}

/** Marks an epoch posted (idempotent; the chain indexer may have done it first). */
export async function markRewardEpochPosted(db: Db, epoch: number, signature: string | null, at: Date): Promise<void> {
  await db.rewardEpoch.updateMany({
    where: { epoch, status: { not: "POSTED" } },
    data: { status: "POSTED", postedAt: at, ...(signature ? { postedTxSignature: signature } : {}) },
  });
}

/** What a wallet needs to claim: its cumulative amount in a posted epoch's tree and the proof for it. */
export interface RewardClaimProof {
  epoch: number;
  /** The posted root (hex) the proof verifies against. */
  root: string;
  cumulative: bigint;
  /** Sibling hashes (hex) from leaf to root. */
  proof: string[];
}

/**
 * The claim for `wallet` against the newest POSTED epoch (or against `epoch`, if given and posted):
 * null when the wallet is not in that epoch's tree. This is the one way to read a proof, so how
 * epochs are stored can change underneath it.
 */
export async function rewardClaimFor(db: Db, wallet: string, epoch?: number): Promise<RewardClaimProof | null> {
  const posted = await db.rewardEpoch.findFirst({
    where: { status: "POSTED", merkleRoot: { not: null }, ...(epoch === undefined ? {} : { epoch }) },
    orderBy: { epoch: "desc" },
  });
  if (!posted?.merkleRoot) return null;
  const leaf = await db.rewardLeaf.findUnique({ where: { epoch_claimant: { epoch: posted.epoch, claimant: wallet } } });
  if (!leaf) return null;
  return { epoch: posted.epoch, root: posted.merkleRoot, cumulative: leaf.cumulative, proof: leaf.proof };
}
