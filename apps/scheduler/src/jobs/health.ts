import { Prisma, type Db } from "@gpumesh/db";

/** The health sweep's reads, as SQL (the sweep-plans test EXPLAINs these very statements). */
export const healthSweepSql = {
  /**
   * ONLINE devices past the heartbeat deadline go OFFLINE. Two range reads of device(status,
   * last_heartbeat_at) (never heard from; heard from before the deadline): O(devices stale).
   */
  markStale: (deadline: Date) => Prisma.sql`
    update device set status = 'OFFLINE'
     where status = 'ONLINE' and (last_heartbeat_at is null or last_heartbeat_at < ${deadline})
    returning id`,
  /**
   * ACTIVE allocations whose device left ONLINE (allocation.device_lost_at, set by a trigger on
   * device.status: partial index allocation_device_lost), of clusters that are deploying or serving:
   * O(nodes lost), not a walk over every offline device. Allocations of clusters in other states
   * (a held quote, a paid cluster not deploying yet) stay marked and are read again; there are as many
   * as that work in progress.
   */
  lostAllocations: () => Prisma.sql`
    select a.id::text, a.cluster_id::text, a.device_id::text, d.status::text as device_status
      from allocation a
      join device d on d.id = a.device_id
      join cluster c on c.id = a.cluster_id
     where a.status = 'ACTIVE' and a.device_lost_at is not null and d.status in ('OFFLINE', 'SUSPENDED')
       and c.status in ('DEPLOYING', 'RUNNING', 'DEGRADED')
     order by a.device_lost_at
     limit 10000`,
  /**
   * Outages of devices that were serving a lease (device_outage.allocation_id, set by a trigger when the
   * outage began) not decided yet, whose grace period has run out (begun before `deadline`):
   * partial index device_outage_vanish_due holds only the undecided ones, so O(outages due).
   */
  vanishDue: (deadline: Date, limit: number, correlationS: number) => Prisma.sql`
    select o.id, o.device_id::text, o.allocation_id::text, o.started_at, o.ended_at, a.ends_at as lease_ends_at,
           (select count(*) from device_outage x
             where x.started_at >= o.started_at - make_interval(secs => ${correlationS})
               and x.started_at <= o.started_at + make_interval(secs => ${correlationS}))::int as silent_around
      from device_outage o
      join allocation a on a.id = o.allocation_id
     where o.allocation_id is not null and o.vanish_decided_at is null and o.started_at < ${deadline}
     order by o.started_at, o.id
     limit ${limit}`,
  /** Marks outages decided (only those still undecided: several schedulers, retries). */
  decideVanish: (ids: bigint[], at: Date) => Prisma.sql`
    update device_outage set vanish_decided_at = ${at}
     where id = any(${ids}::bigint[]) and vanish_decided_at is null`,
};

/**
 * Marks ONLINE devices whose last heartbeat is older than the deadline OFFLINE. One statement, so it
 * is atomic and idempotent: running it twice (retries, several schedulers) changes nothing more.
 * Returns the ids of devices that went offline, for the follow-up work (degraded clusters, refunds).
 */
export async function sweepStaleDevices(db: Db, offlineAfterSeconds: number, now = new Date()): Promise<string[]> {
  const deadline = new Date(now.getTime() - offlineAfterSeconds * 1000);
  const rows = await db.$queryRaw<{ id: string }[]>(healthSweepSql.markStale(deadline));
  return rows.map((row) => row.id);
}

/**
 * ACTIVE allocations on devices that are not ONLINE, of clusters that are deploying or serving: the
 * nodes those clusters have lost. Read from the marks, not from this sweep's devices, so a crash
 * between the two steps is repaired by the next sweep. (An allocation reserved on a device in the
 * instant it goes OFFLINE can miss its mark; that node never acks and the deploy's ack deadline
 * replaces it.)
 */
export async function lostAllocations(db: Db): Promise<{ id: string; clusterId: string; deviceId: string; deviceStatus: string }[]> {
  const rows = await db.$queryRaw<{ id: string; cluster_id: string; device_id: string; device_status: string }[]>(healthSweepSql.lostAllocations());
  return rows.map((row) => ({ id: row.id, clusterId: row.cluster_id, deviceId: row.device_id, deviceStatus: row.device_status }));
}

export interface DueOutage {
  id: bigint;
  deviceId: string;
  allocationId: string;
  startedAt: Date;
  endedAt: Date | null;
  /** When the lease it walked out on was to end (its allocation's end). */
  leaseEndsAt: Date;
  /** Outages of any device (this one included) that began within the correlation window of this one. */
  silentAround: number;
}

/**
 * Mid-lease outages whose grace period (`graceS`, from the last heartbeat) has run out and that are not
 * decided yet, oldest first: each either vanished (still offline, or back only after the grace) or came
 * back in time (`vanishedBeyondGrace` in slash.ts tells which). The caller enqueues the slashes, then
 * calls `decideVanish`, so a crash in between re-reads them and the deterministic job ids (and the
 * on-chain slash record) keep it to one slash.
 */
export async function vanishDue(db: Db, graceS: number, now = new Date(), options: { limit?: number; correlationS?: number } = {}): Promise<DueOutage[]> {
  const deadline = new Date(now.getTime() - graceS * 1000);
  const rows = await db.$queryRaw<{ id: bigint; device_id: string; allocation_id: string; started_at: Date; ended_at: Date | null; lease_ends_at: Date; silent_around: number }[]>(
    healthSweepSql.vanishDue(deadline, options.limit ?? 1_000, options.correlationS ?? 300),
  );
  return rows.map((row) => ({ id: row.id, deviceId: row.device_id, allocationId: row.allocation_id, startedAt: row.started_at, endedAt: row.ended_at, leaseEndsAt: row.lease_ends_at, silentAround: row.silent_around }));
}

/** Records that these outages were decided: the sweep never reads them again. */
export async function decideVanish(db: Db, ids: bigint[], at = new Date()): Promise<number> {
  if (ids.length === 0) return 0;
  return db.$executeRaw(healthSweepSql.decideVanish(ids, at));
}
