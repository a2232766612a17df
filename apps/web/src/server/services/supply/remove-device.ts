import "server-only";
import { RESERVATION_LOCK_SPACE } from "@gpumesh/db";
import { ApiError, notFound } from "../../api/errors.ts";
import { env } from "../../../env.ts";
import { db } from "../../db.ts";
import { redis } from "../../redis.ts";

/**
 * Removes a device from the network: its agent key is revoked (the gateway refuses it from the next
 * connection on, and the current one is closed now) and it is taken offline. Refused while it serves
 * a lease: the renter paid for it. Another wallet's device answers 404, like one that does not exist.
 */
export async function removeDevice(accountId: string, deviceId: string): Promise<{ removed: true }> {
  const device = await db.device.findFirst({ where: { id: deviceId, supplier: { accountId } }, select: { id: true, agentPublicKey: true } });
  if (!device) throw notFound("device");
  // Under the device's reservation lock (the advisory lock every reservation takes for it, reservations.ts):
  // a reservation racing this removal either committed first (and this refuses) or runs after and finds
  // the device OFFLINE.
  const removed = await db.$transaction(async (tx) => {
    await tx.$executeRaw`select pg_advisory_xact_lock(${RESERVATION_LOCK_SPACE}::int, hashtext(${deviceId}::uuid::text))`;
    return tx.$executeRaw`
      update device set agent_public_key = null, status = 'OFFLINE'
       where id = ${deviceId}::uuid
         and not exists (select 1 from allocation a where a.device_id = device.id and a.status = 'ACTIVE')`;
  });
  if (removed === 0) throw new ApiError("CONFLICT", "this device is serving a lease; remove it after the lease ends");
  // Closes the live connection on whichever gateway holds it (apps/gateway listens on this channel); if
  // the notice is lost, the gateway's next rollup no longer finds the device and closes it then. What
  // was waiting for the device (challenges) is dropped.
  await redis
    .multi()
    .publish(`${env.GATEWAY_PREFIX}:takeover`, JSON.stringify({ deviceId, sessionId: "removed" }))
    .del(`${env.GATEWAY_PREFIX}:outbox:${deviceId}`)
    .zrem(`${env.GATEWAY_PREFIX}:live`, deviceId)
    .exec()
    .catch(() => undefined);
  return { removed: true };
}
