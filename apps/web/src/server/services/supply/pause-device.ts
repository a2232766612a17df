import "server-only";
import { RESERVATION_LOCK_SPACE } from "@gpumesh/db";
import { ApiError, notFound } from "../../api/errors.ts";
import { db } from "../../db.ts";

export interface DevicePauseState {
  /** When the current pause began; null: the device takes leases. */
  pausedAt: Date | null;
  /** The lease it keeps serving while paused, if any. */
  servingUntil: Date | null;
}

/**
 * Pauses or resumes one of your devices. A paused device takes no new leases (placement, quotes,
 * deployable-now and reservations leave it out: migration 20261202120000_device_pause) but keeps the
 * lease it serves, and a quote that already holds it, because a renter paid or is paying for them;
 * it keeps heartbeating and being verified, and earns no token reward for an hour it was paused in.
 * Idempotent: pausing a paused device keeps its first pause time. Done under the device's reservation
 * lock, so a reservation racing the pause either committed first (and is served) or sees it paused.
 * Another wallet's device is 404, like a missing one; a removed device cannot be resumed.
 */
export async function setDevicePaused(accountId: string, deviceId: string, paused: boolean, now = new Date()): Promise<DevicePauseState> {
  const device = await db.device.findFirst({ where: { id: deviceId, supplier: { accountId } }, select: { id: true, agentPublicKey: true } });
  if (!device) throw notFound("device");
  if (!paused && device.agentPublicKey === null) throw new ApiError("CONFLICT", "this device was removed; register the machine again to offer it");
  const pausedAt = await db.$transaction(async (tx) => {
    // The key every reservation takes for this device: hashtext of its canonical text (whatever case the caller wrote).
    await tx.$executeRaw`select pg_advisory_xact_lock(${RESERVATION_LOCK_SPACE}::int, hashtext(${deviceId}::uuid::text))`;
    const [row] = await tx.$queryRaw<{ paused_at: Date | null }[]>`
      update device set paused_at = case when ${paused} then coalesce(paused_at, ${now}::timestamptz) else null end
       where id = ${deviceId}::uuid
       returning paused_at`;
    return row?.paused_at ?? null;
  });
  const lease = await db.allocation.findFirst({
    where: { deviceId, status: "ACTIVE", endsAt: { gt: now }, cluster: { status: { in: ["REQUESTED", "PAID", "MATCHING", "DEPLOYING", "RUNNING", "DEGRADED"] } } },
    orderBy: { endsAt: "desc" },
    select: { endsAt: true },
  });
  return { pausedAt, servingUntil: lease?.endsAt ?? null };
}
