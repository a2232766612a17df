import "server-only";
import { fetchDeviceStake, isStakeActive, requiredStake, stakeWithdrawableAt } from "@gpumesh/chain";
import { deviceStakeWeightBps, type ConnectivityTier } from "@gpumesh/core";
import { deviceChecks, Prisma } from "@gpumesh/db";
import { chain } from "../../chain.ts";
import { notFound } from "../../api/errors.ts";
import { db } from "../../db.ts";

export interface DeviceEvidence {
  id: string;
  kind: string;
  matrixSize: number;
  seed: string;
  root: string | null;
  rowsOpened: number[];
  elapsedMs: number | null;
  status: string;
  failureReason: string | null;
  issuedAt: Date;
  respondedAt: Date | null;
}

export interface DailyEarnings {
  day: string;
  /** USDC/MESH base units billed to renters for this device's GPU time (gross, before the protocol fee). */
  leaseGross: bigint;
  /** MESH base units of token rewards attributed to this device. */
  rewards: bigint;
}

export interface SupplierDeviceDetail {
  device: {
    id: string; name: string; status: string; gpuModelId: string | null; gpuCount: number; vramGb: number; cpuModel: string; cpuCores: number; ramGb: number; diskGb: number;
    region: string; country: string; city: string; bandwidthUpMbps: number; bandwidthDownMbps: number; connectivityTier: ConnectivityTier; network: string;
    pricePerGpuHour: bigint; verificationScoreBps: number; verifiedAt: Date | null; lastHeartbeatAt: Date | null; nextChallengeAt: Date; createdAt: Date; removed: boolean;
    /** Paused by you since then (no new leases); null when it takes leases. */
    pausedAt: Date | null;
  };
  lease: { clusterId: string; startsAt: Date; endsAt: Date; ratePerSecond: bigint | null } | null;
  evidence: DeviceEvidence[];
  earnings: DailyEarnings[];
  totals: { leaseGross: bigint; rewards: bigint };
  /** The device's on-chain MESH stake (programs/gpumesh stake_device); null fields when unreadable. */
  stake: { weightBps: number; required: bigint; staked: bigint | null; active: boolean; withdrawableAt: Date | null; slashed: bigint; readable: boolean };
}

/** Required and staked MESH for a device (weight = its model's performance weight × its GPUs). */
async function stakeOf(deviceId: string, gpuModelId: string | null, gpuCount: number): Promise<SupplierDeviceDetail["stake"]> {
  const weightBps = deviceStakeWeightBps(gpuModelId, gpuCount);
  const required = requiredStake(weightBps);
  try {
    const account = await fetchDeviceStake(chain().connection, deviceId);
    if (!account) return { weightBps, required, staked: 0n, active: false, withdrawableAt: null, slashed: 0n, readable: true };
    const at = stakeWithdrawableAt(account);
    return { weightBps, required, staked: account.amount, active: isStakeActive(account), withdrawableAt: at === null ? null : new Date(Number(at) * 1000), slashed: account.slashedTotal, readable: true };
  } catch {
    return { weightBps, required, staked: null, active: false, withdrawableAt: null, slashed: 0n, readable: false };
  }
}

const DAYS = 14;

/**
 * One of the signed-in supplier's devices: its spec, every recent proof-of-work check with its
 * evidence (seed, n, committed root, rows opened, time, verdict: enough to re-run the verifier), its
 * current lease and what it earned per day. Another wallet's device is 404, like a missing one.
 */
export async function supplierDeviceDetail(accountId: string, deviceId: string, now = new Date()): Promise<SupplierDeviceDetail> {
  const device = await db.device.findFirst({ where: { id: deviceId, supplier: { accountId } } });
  if (!device) throw notFound("device");
  const since = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - (DAYS - 1)));
  const [stake, checks, lease, usage, rewards, totals] = await Promise.all([
    stakeOf(deviceId, device.gpuModelId, device.gpuCount),
    deviceChecks(db, deviceId, { limit: 25 }),
    db.allocation.findFirst({ where: { deviceId, status: "ACTIVE", cluster: { status: { in: ["DEPLOYING", "RUNNING", "DEGRADED"] } } }, select: { clusterId: true, startsAt: true, endsAt: true, ratePerSecond: true } }),
    db.$queryRaw<{ day: Date; amount: bigint }[]>`
      select date_trunc('day', period_start at time zone 'UTC') as day, sum(amount)::bigint as amount
        from usage_record where device_id = ${deviceId}::uuid and period_start >= ${since} group by 1`,
    db.$queryRaw<{ day: Date; amount: bigint }[]>`
      select date_trunc('day', e.hour_start at time zone 'UTC') as day, sum(c.amount)::bigint as amount
        from reward_contribution c join reward_epoch e on e.epoch = c.epoch
       where c.device_id = ${deviceId}::uuid and e.hour_start >= ${since} group by 1`,
    db.$queryRaw<{ lease: bigint | null; rewards: bigint | null }[]>(Prisma.sql`
      select (select sum(amount) from usage_record where device_id = ${deviceId}::uuid)::bigint as lease,
             (select sum(amount) from reward_contribution where device_id = ${deviceId}::uuid)::bigint as rewards`),
  ]);
  const key = (date: Date) => date.toISOString().slice(0, 10);
  const usageByDay = new Map(usage.map((row) => [key(row.day), row.amount]));
  const rewardsByDay = new Map(rewards.map((row) => [key(row.day), row.amount]));
  const earnings = Array.from({ length: DAYS }, (_, i) => {
    const day = key(new Date(since.getTime() + i * 86_400_000));
    return { day, leaseGross: usageByDay.get(day) ?? 0n, rewards: rewardsByDay.get(day) ?? 0n };
  });
  const { agentPublicKey, supplierId: _supplier, gpuModelId, ...rest } = device;
  return {
    device: { ...rest, gpuModelId, removed: agentPublicKey === null },
    lease,
    evidence: checks.checks,
    earnings,
    totals: { leaseGross: totals[0]?.lease ?? 0n, rewards: totals[0]?.rewards ?? 0n },
    stake,
  };
}
