import "server-only";
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
  // One statement: a reservation racing this removal either lands first (and this refuses) or finds
  // the device offline. (Allocations lock the device row first: reservations.ts.)
  const removed = await db.$executeRaw`
    update device set agent_public_key = null, status = 'OFFLINE'
     where id = ${deviceId}::uuid
       and not exists (select 1 from allocation a where a.device_id = device.id and a.status = 'ACTIVE')`;
  if (removed === 0) throw new ApiError("CONFLICT", "this device is serving a lease; remove it after the lease ends");
  // Closes the live connection on whichever gateway holds it (apps/gateway listens on this channel).
  await redis.publish(`${env.GATEWAY_PREFIX}:takeover`, JSON.stringify({ deviceId, sessionId: "removed" })).catch(() => undefined);
  return { removed: true };
}
