import type { ConnectivityTier } from "@gpumesh/core";
import type { Db } from "./client.ts";
import { deviceChecks, type DeviceChecksPage } from "./device-checks.ts";
import { listDirectoryDevices, verificationLevel, VERIFIED_FROM_BPS, type DeviceDirectoryPage, type DirectoryDeviceStatus, type DirectoryNetwork, type VerificationLevel } from "./directory.ts";

/**
 * The explorer's device and supplier pages: what anyone may see of a machine and of whoever runs it.
 * Public-safe by construction: every field is picked here by name, so adding a column to `device`
 * never publishes it. Renters appear only as a truncated wallet; no allocation, cluster or account
 * ids, agent keys, join tokens or endpoints leave this module.
 */

const DAY_MS = 86_400_000;
/** The uptime chart's window; the page picks 7 or 30 of these days. */
const UPTIME_DAYS = 30;

export const truncateWallet = (wallet: string) => `${wallet.slice(0, 4)}…${wallet.slice(-4)}`;

const utcDay = (date: Date) => new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()));
const dayKey = (date: Date) => date.toISOString().slice(0, 10);

export interface UptimeDay {
  day: string;
  /** Share of the part of this UTC day the device existed that it was not in an outage, in bps; null before it existed. */
  uptimeBps: number | null;
}

/**
 * Uptime per UTC day from the device's outages (device_outage: an outage runs from its last heartbeat
 * until the heartbeat that ended it, open while still offline). A day counts from the device's
 * creation and up to `now`; what is not an outage counts as up, as rewards count it.
 */
export function dailyUptime(createdAt: Date, outages: readonly { startedAt: Date; endedAt: Date | null }[], days: number, now: Date): UptimeDay[] {
  const first = utcDay(new Date(now.getTime() - (days - 1) * DAY_MS));
  return Array.from({ length: days }, (_, i) => {
    const dayStart = first.getTime() + i * DAY_MS;
    const from = Math.max(dayStart, createdAt.getTime());
    const until = Math.min(dayStart + DAY_MS, now.getTime());
    if (until <= from) return { day: dayKey(new Date(dayStart)), uptimeBps: null };
    let down = 0;
    for (const outage of outages) {
      const start = Math.max(from, outage.startedAt.getTime());
      const end = Math.min(until, (outage.endedAt ?? now).getTime());
      if (end > start) down += end - start;
    }
    return { day: dayKey(new Date(dayStart)), uptimeBps: Math.round(((until - from - Math.min(down, until - from)) / (until - from)) * 10_000) };
  });
}

/** Uptime over the last `days` days as one figure (time-weighted), in bps; null when the device is newer than that window. */
function uptimeOver(createdAt: Date, outages: readonly { startedAt: Date; endedAt: Date | null }[], days: number, now: Date): number | null {
  const from = Math.max(now.getTime() - days * DAY_MS, createdAt.getTime());
  const until = now.getTime();
  if (until <= from) return null;
  let down = 0;
  for (const outage of outages) {
    const start = Math.max(from, outage.startedAt.getTime());
    const end = Math.min(until, (outage.endedAt ?? now).getTime());
    if (end > start) down += end - start;
  }
  return Math.round(((until - from - Math.min(down, until - from)) / (until - from)) * 10_000);
}

/** Why a device is in its state, for people (from what the database knows; never an internal error). */
export function statusReason(device: { status: DirectoryDeviceStatus; verificationScoreBps: number; verifiedAt: Date | null; lastHeartbeatAt: Date | null }, openOutageSince: Date | null, supplierOnChain: boolean): string {
  switch (device.status) {
    case "ONLINE":
      return device.verificationScoreBps >= VERIFIED_FROM_BPS ? "Heartbeating and verified: it can be rented." : "Heartbeating, but its verification score is under the floor, so it is not rented out until it passes more checks.";
    case "OFFLINE":
      return `No heartbeat since ${(openOutageSince ?? device.lastHeartbeatAt)?.toISOString().replace("T", " ").slice(0, 16) ?? "it joined"} UTC: its agent is not connected.`;
    case "SUSPENDED":
      return "Suspended by the network: it is not rented out and earns no rewards.";
    case "REGISTERED":
      if (device.verifiedAt && !supplierOnChain) return "Verified, waiting for its supplier to register on-chain before it can be rented.";
      return "Joined, waiting for its first passed proof-of-work check.";
  }
}

export interface PublicLease {
  /** The on-chain lease id (public on-chain), when the lease was paid. */
  leaseId: bigint | null;
  clusterType: string;
  gpuCount: number;
  pricePerGpuHour: bigint;
  token: "USDC" | "MESH";
  startsAt: Date;
  endsAt: Date;
  /** When billing started and stopped for this device (null: not yet / still serving). */
  billedFrom: Date | null;
  billedUntil: Date | null;
  state: "serving" | "ended";
  renter: string;
  /** The transaction that opened (paid) the lease, when the indexer saw it. */
  openedSignature: string | null;
}

export interface EpochEarning {
  epoch: number;
  hourStart: Date;
  gpuSeconds: bigint;
  weightBps: number;
  uptimeBps: number;
  /** MESH base units. */
  amount: bigint;
}

export interface PublicDeviceDetail {
  device: {
    id: string; name: string; status: DirectoryDeviceStatus; statusReason: string; gpuModelId: string | null; gpuCount: number; vramGb: number;
    cpuModel: string; cpuCores: number; ramGb: number; diskGb: number; region: string; country: string; city: string;
    bandwidthUpMbps: number; bandwidthDownMbps: number; connectivityTier: ConnectivityTier; securityTier: string; network: DirectoryNetwork;
    pricePerGpuHour: bigint; verificationScoreBps: number; verificationLevel: VerificationLevel; verifiedAt: Date | null; lastHeartbeatAt: Date | null; createdAt: Date;
  };
  supplier: { id: string; name: string; network: DirectoryNetwork; registeredOnChain: boolean };
  uptime: { days: UptimeDay[]; last7dBps: number | null; last30dBps: number | null };
  checks: DeviceChecksPage;
  leases: PublicLease[];
  epochs: EpochEarning[];
  totals: { leaseGross: { USDC: bigint; MESH: bigint }; rewards: bigint; leases: number };
}

const LEASES_SHOWN = 20;
const EPOCHS_SHOWN = 48;

/** A device's public page, or null when there is no such device. */
export async function publicDeviceDetail(db: Db, deviceId: string, now = new Date()): Promise<PublicDeviceDetail | null> {
  const device = await db.device.findUnique({ where: { id: deviceId }, include: { supplier: { select: { id: true, name: true, network: true, onChainAddress: true } } } });
  if (!device) return null;
  const since = new Date(utcDay(now).getTime() - (UPTIME_DAYS - 1) * DAY_MS);
  const [outages, checks, leases, epochs, leaseTotals, rewardTotal] = await Promise.all([
    db.deviceOutage.findMany({ where: { deviceId, OR: [{ endedAt: null }, { endedAt: { gt: since } }] }, orderBy: { startedAt: "asc" }, select: { startedAt: true, endedAt: true } }),
    deviceChecks(db, deviceId, { limit: 25 }),
    db.$queryRaw<{ lease_id: bigint | null; type: string; gpu_count: number; price_per_gpu_hour: bigint; payment_token: "USDC" | "MESH"; starts_at: Date; ends_at: Date; billed_from: Date | null; billed_until: Date | null; status: string; wallet: string; signature: string | null }[]>`
      select c.lease_id, c.type, a.gpu_count, a.price_per_gpu_hour, c.payment_token, a.starts_at, a.ends_at, a.billed_from, a.billed_until, a.status, r.wallet_address as wallet,
             (select e.signature from chain_event e where c.lease_pda is not null and e.lease = c.lease_pda and e.name = 'LeaseOpened' limit 1) as signature
        from allocation a join cluster c on c.id = a.cluster_id join account r on r.id = c.renter_id
       where a.device_id = ${deviceId}::uuid and c.status <> 'REQUESTED'
       order by a.starts_at desc limit ${LEASES_SHOWN}`,
    db.$queryRaw<{ epoch: number; hour_start: Date; gpu_seconds: bigint; weight_bps: number; uptime_bps: number; amount: bigint }[]>`
      select c.epoch, e.hour_start, c.gpu_seconds, c.weight_bps, c.uptime_bps, c.amount
        from reward_contribution c join reward_epoch e on e.epoch = c.epoch
       where c.device_id = ${deviceId}::uuid order by c.epoch desc limit ${EPOCHS_SHOWN}`,
    db.$queryRaw<{ token: "USDC" | "MESH"; amount: bigint; leases: number }[]>`
      select c.payment_token as token, sum(u.amount)::bigint as amount, count(distinct u.cluster_id)::int as leases
        from usage_record u join cluster c on c.id = u.cluster_id where u.device_id = ${deviceId}::uuid group by 1`,
    db.rewardContribution.aggregate({ where: { deviceId }, _sum: { amount: true } }),
  ]);
  const open = outages.find((o) => o.endedAt === null)?.startedAt ?? null;
  const onChain = device.supplier.onChainAddress !== null;
  const leaseGross = { USDC: 0n, MESH: 0n };
  for (const row of leaseTotals) leaseGross[row.token] += row.amount;
  return {
    device: {
      id: device.id, name: device.name, status: device.status,
      statusReason: statusReason(device, open, onChain),
      gpuModelId: device.gpuModelId, gpuCount: device.gpuCount, vramGb: device.vramGb, cpuModel: device.cpuModel, cpuCores: device.cpuCores, ramGb: device.ramGb, diskGb: device.diskGb,
      region: device.region, country: device.country.trim(), city: device.city, bandwidthUpMbps: device.bandwidthUpMbps, bandwidthDownMbps: device.bandwidthDownMbps,
      connectivityTier: device.connectivityTier, securityTier: device.securityTier, network: device.network, pricePerGpuHour: device.pricePerGpuHour,
      verificationScoreBps: device.verificationScoreBps, verificationLevel: verificationLevel(device.verificationScoreBps), verifiedAt: device.verifiedAt,
      lastHeartbeatAt: device.lastHeartbeatAt, createdAt: device.createdAt,
    },
    supplier: { id: device.supplier.id, name: device.supplier.name, network: device.supplier.network, registeredOnChain: onChain },
    uptime: { days: dailyUptime(device.createdAt, outages, UPTIME_DAYS, now), last7dBps: uptimeOver(device.createdAt, outages, 7, now), last30dBps: uptimeOver(device.createdAt, outages, 30, now) },
    checks,
    leases: leases.map((row) => ({
      leaseId: row.lease_id, clusterType: row.type, gpuCount: row.gpu_count, pricePerGpuHour: row.price_per_gpu_hour, token: row.payment_token,
      startsAt: row.starts_at, endsAt: row.ends_at, billedFrom: row.billed_from, billedUntil: row.billed_until,
      state: row.status === "ACTIVE" && row.billed_until === null && row.ends_at > now ? "serving" : "ended",
      renter: truncateWallet(row.wallet), openedSignature: row.signature,
    })),
    epochs: epochs.map((row) => ({ epoch: row.epoch, hourStart: row.hour_start, gpuSeconds: row.gpu_seconds, weightBps: row.weight_bps, uptimeBps: row.uptime_bps, amount: row.amount })),
    totals: { leaseGross, rewards: rewardTotal._sum.amount ?? 0n, leases: leaseTotals.reduce((sum, row) => sum + row.leases, 0) },
  };
}

export interface DailySupplierEarnings {
  day: string;
  leaseGross: { USDC: bigint; MESH: bigint };
  /** MESH base units. */
  rewards: bigint;
}

export interface PublicSupplierDetail {
  supplier: { id: string; name: string; network: DirectoryNetwork; onChainAddress: string | null; wallet: string; createdAt: Date; registeredSignature: string | null };
  totals: { devices: number; online: number; gpus: number; onlineGpus: number; leaseGross: { USDC: bigint; MESH: bigint }; rewards: bigint };
  earnings: DailySupplierEarnings[];
  devices: DeviceDirectoryPage;
}

const EARNING_DAYS = 30;

/**
 * A supplier's public page by its id, its on-chain Supplier address or its wallet; null when none.
 * Its devices come as the directory's first page (newest first); more through the directory with
 * `supplierId`.
 */
export async function publicSupplierDetail(db: Db, key: string, now = new Date()): Promise<PublicSupplierDetail | null> {
  const isUuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(key);
  const supplier = await db.supplier.findFirst({
    where: isUuid ? { id: key } : { OR: [{ onChainAddress: key }, { account: { walletAddress: key } }] },
    select: { id: true, name: true, network: true, onChainAddress: true, createdAt: true, account: { select: { walletAddress: true } } },
  });
  if (!supplier) return null;
  const since = new Date(utcDay(now).getTime() - (EARNING_DAYS - 1) * DAY_MS);
  const [counts, devices, leaseDays, rewardDays, leaseTotals, rewardTotal, registration] = await Promise.all([
    db.$queryRaw<{ devices: number; online: number; gpus: number; online_gpus: number }[]>`
      select count(*)::int as devices, count(*) filter (where status = 'ONLINE')::int as online,
             coalesce(sum(gpu_count), 0)::int as gpus, coalesce(sum(gpu_count) filter (where status = 'ONLINE'), 0)::int as online_gpus
        from device where supplier_id = ${supplier.id}::uuid`,
    listDirectoryDevices(db, { supplierId: supplier.id, sort: "newest", limit: 25 }),
    db.$queryRaw<{ day: Date; token: "USDC" | "MESH"; amount: bigint }[]>`
      select date_trunc('day', u.period_start at time zone 'UTC') as day, c.payment_token as token, sum(u.amount)::bigint as amount
        from device d join usage_record u on u.device_id = d.id join cluster c on c.id = u.cluster_id
       where d.supplier_id = ${supplier.id}::uuid and u.period_start >= ${since} group by 1, 2`,
    db.$queryRaw<{ day: Date; amount: bigint }[]>`
      select date_trunc('day', e.hour_start at time zone 'UTC') as day, sum(c.amount)::bigint as amount
        from device d join reward_contribution c on c.device_id = d.id join reward_epoch e on e.epoch = c.epoch
       where d.supplier_id = ${supplier.id}::uuid and e.hour_start >= ${since} group by 1`,
    db.$queryRaw<{ token: "USDC" | "MESH"; amount: bigint }[]>`
      select c.payment_token as token, sum(u.amount)::bigint as amount
        from device d join usage_record u on u.device_id = d.id join cluster c on c.id = u.cluster_id
       where d.supplier_id = ${supplier.id}::uuid group by 1`,
    db.$queryRaw<{ amount: bigint | null }[]>`
      select sum(c.amount)::bigint as amount from device d join reward_contribution c on c.device_id = d.id where d.supplier_id = ${supplier.id}::uuid`,
    // One SupplierRegistered per supplier ever: the (name, block_time) index narrows it to those.
    supplier.onChainAddress
      ? db.$queryRaw<{ signature: string }[]>`select signature from chain_event where name = 'SupplierRegistered' and data->>'supplier' = ${supplier.onChainAddress} order by seq limit 1`
      : Promise.resolve([]),
  ]);
  const earnings: DailySupplierEarnings[] = Array.from({ length: EARNING_DAYS }, (_, i) => ({ day: dayKey(new Date(since.getTime() + i * DAY_MS)), leaseGross: { USDC: 0n, MESH: 0n }, rewards: 0n }));
  const byDay = new Map(earnings.map((entry) => [entry.day, entry]));
  for (const row of leaseDays) {
    const entry = byDay.get(dayKey(row.day));
    if (entry) entry.leaseGross[row.token] += row.amount;
  }
  for (const row of rewardDays) {
    const entry = byDay.get(dayKey(row.day));
    if (entry) entry.rewards += row.amount;
  }
  const leaseGross = { USDC: 0n, MESH: 0n };
  for (const row of leaseTotals) leaseGross[row.token] += row.amount;
  const count = counts[0] ?? { devices: 0, online: 0, gpus: 0, online_gpus: 0 };
  return {
    supplier: { id: supplier.id, name: supplier.name, network: supplier.network, onChainAddress: supplier.onChainAddress, wallet: truncateWallet(supplier.account.walletAddress), createdAt: supplier.createdAt, registeredSignature: registration[0]?.signature ?? null },
    totals: { devices: count.devices, online: count.online, gpus: count.gpus, onlineGpus: count.online_gpus, leaseGross, rewards: rewardTotal[0]?.amount ?? 0n },
    earnings,
    devices,
  };
}
