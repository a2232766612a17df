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
