import type { Db } from "@gpumesh/db";

/**
 * Marks ONLINE devices whose last heartbeat is older than the deadline OFFLINE. One statement, so it
 * is atomic and idempotent: running it twice (retries, several schedulers) changes nothing more.
 * Returns the ids of devices that went offline, for the follow-up work (degraded clusters, refunds).
 */
export async function sweepStaleDevices(db: Db, offlineAfterSeconds: number, now = new Date()): Promise<string[]> {
  const deadline = new Date(now.getTime() - offlineAfterSeconds * 1000);
  const rows = await db.$queryRaw<{ id: string }[]>`
    update device set status = 'OFFLINE'
     where status = 'ONLINE' and (last_heartbeat_at is null or last_heartbeat_at < ${deadline})
    returning id`;
  return rows.map((row) => row.id);
}

/**
 * ACTIVE allocations on devices that are not ONLINE, of clusters that are deploying or serving: the
 * nodes those clusters have lost.
 */
export async function lostAllocations(db: Db): Promise<{ id: string; clusterId: string; deviceId: string; deviceStatus: string }[]> {
  const rows = await db.$queryRaw<{ id: string; cluster_id: string; device_id: string; device_status: string }[]>`
    select a.id::text, a.cluster_id::text, a.device_id::text, d.status::text as device_status
      from allocation a
      join device d on d.id = a.device_id
      join cluster c on c.id = a.cluster_id
     where a.status = 'ACTIVE' and d.status in ('OFFLINE', 'SUSPENDED')
       and c.status in ('DEPLOYING', 'RUNNING', 'DEGRADED')
     limit 10000`;
  return rows.map((row) => ({ id: row.id, clusterId: row.cluster_id, deviceId: row.device_id, deviceStatus: row.device_status }));
}
