import { createHash, randomBytes } from "node:crypto";
import { connectivityTierFor, gpuModel, REGIONS, type SupplierNetwork } from "@gpumesh/core";
import type { Db } from "./client.ts";
import { isUniqueViolation } from "./errors.ts";

/**
 * SUPPLY SIDE (issue #11): join tokens and the devices agents register with them.
 *
 * A supplier registers a device in the web app (name, region, network) and gets a one-time token; the
 * agent on the machine sends it with its new device key and the hardware it detected. The token is
 * random (32 bytes), only its SHA-256 is stored, it expires (JOIN_TOKEN_TTL_MS), and the UPDATE that
 * spends it is conditional on it being unused and unexpired, so two joins racing with one token
 * create one device.
 */
export const JOIN_TOKEN_TTL_MS = 60 * 60 * 1000;
const TOKEN_PREFIX = "gmj_";

export function hashJoinToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** The supplier record of an account, created on its first device (payouts go to its wallet). */
export async function supplierOfAccount(db: Db, accountId: string, name: string) {
  const existing = await db.supplier.findUnique({ where: { accountId } });
  if (existing) return existing;
  try {
    return await db.supplier.create({ data: { accountId, name: name.slice(0, 80) } });
  } catch (error) {
    if (isUniqueViolation(error)) return db.supplier.findUniqueOrThrow({ where: { accountId } });
    throw error;
  }
}

export async function createJoinToken(
  db: Db,
  input: { supplierId: string; name: string; region: string; network: SupplierNetwork; now?: Date; ttlMs?: number },
): Promise<{ id: string; token: string; expiresAt: Date }> {
  const token = TOKEN_PREFIX + randomBytes(32).toString("base64url");
  const now = input.now ?? new Date();
  const expiresAt = new Date(now.getTime() + (input.ttlMs ?? JOIN_TOKEN_TTL_MS));
  const row = await db.deviceJoinToken.create({
    data: { supplierId: input.supplierId, tokenHash: hashJoinToken(token), name: input.name, region: input.region, network: input.network, createdAt: now, expiresAt },
  });
  return { id: row.id, token, expiresAt };
}

export interface JoinHardware {
  cpuModel: string;
  cpuCores: number;
  ramGb: number;
  diskGb: number;
  gpus: { name: string; vramMb: number; gpuModelId: string | null }[];
  bandwidthUpMbps?: number;
  bandwidthDownMbps?: number;
}

export type JoinOutcome =
  | { ok: true; device: { id: string; name: string; region: string; gpuModelId: string | null; gpuCount: number } }
  | { ok: false; reason: "TOKEN_UNKNOWN" | "TOKEN_USED" | "TOKEN_EXPIRED" | "KEY_IN_USE" };

/**
 * Spends the token and creates the device, in one transaction. The device starts REGISTERED: the
 * verification sweep challenges it, and a pass makes it ONLINE (rentable). Its asking price starts at
 * the catalogue's reference price for its model (the supplier can change it); a CPU device has no GPU
 * price and no GPU quote ever places it.
 */
export async function joinDevice(db: Db, input: { token: string; publicKey: string; hardware: JoinHardware; now?: Date }): Promise<JoinOutcome> {
  const now = input.now ?? new Date();
  const tokenHash = hashJoinToken(input.token);
  const token = await db.deviceJoinToken.findUnique({ where: { tokenHash } });
  if (!token) return { ok: false, reason: "TOKEN_UNKNOWN" };
  if (token.usedAt) return { ok: false, reason: "TOKEN_USED" };
  if (token.expiresAt <= now) return { ok: false, reason: "TOKEN_EXPIRED" };
  if (await db.device.findUnique({ where: { agentPublicKey: input.publicKey }, select: { id: true } })) return { ok: false, reason: "KEY_IN_USE" };

  const { hardware } = input;
  const modelId = hardware.gpus[0]?.gpuModelId ?? null;
  const model = modelId ? gpuModel(modelId) : undefined;
  const site = REGIONS.find((region) => region.id === token.region)?.sites[0] ?? { country: "ZZ", city: "Unknown" };
  const up = hardware.bandwidthUpMbps ?? 0;
  const down = hardware.bandwidthDownMbps ?? 0;
  try {
    return await db.$transaction(async (tx) => {
      const spent = await tx.deviceJoinToken.updateMany({ where: { id: token.id, usedAt: null, expiresAt: { gt: now } }, data: { usedAt: now } });
      if (spent.count === 0) return { ok: false as const, reason: "TOKEN_USED" as const };
      const device = await tx.device.create({
        data: {
          supplierId: token.supplierId,
          name: token.name,
          gpuModelId: model?.id ?? null,
          gpuCount: model ? hardware.gpus.length : 0,
          vramGb: model ? Math.round((hardware.gpus[0]?.vramMb ?? 0) / 1024) : 0,
          cpuModel: hardware.cpuModel.slice(0, 80),
          cpuCores: hardware.cpuCores,
          ramGb: hardware.ramGb,
          diskGb: hardware.diskGb,
          region: token.region,
          country: site.country,
          city: site.city.slice(0, 64),
          bandwidthUpMbps: up,
          bandwidthDownMbps: down,
          connectivityTier: connectivityTierFor({ bandwidthDownMbps: down, bandwidthUpMbps: up }),
          network: token.network,
          status: "REGISTERED",
          pricePerGpuHour: model?.referencePricePerHour ?? 0n,
          agentPublicKey: input.publicKey,
        },
      });
      await tx.deviceJoinToken.update({ where: { id: token.id }, data: { deviceId: device.id } });
      return { ok: true as const, device: { id: device.id, name: device.name, region: device.region, gpuModelId: device.gpuModelId, gpuCount: device.gpuCount } };
    });
  } catch (error) {
    // The same key joined concurrently with another token.
    if (isUniqueViolation(error)) return { ok: false, reason: "KEY_IN_USE" };
    throw error;
  }
}

/**
 * The device an agent's key belongs to (the gateway's authentication lookup; the online transition is
 * `markAgentOnline`). Null when the key is not, or no longer, a device's.
 */
export async function deviceForAgentKey(db: Db, publicKey: string) {
  return db.device.findUnique({ where: { agentPublicKey: publicKey }, select: { id: true, status: true, supplierId: true, name: true } });
}

/**
 * The agent is draining (SIGTERM, shutdown): the device goes OFFLINE now instead of after the
 * heartbeat deadline, so the health sweep moves any lease it held at once.
 */
export async function markDeviceDrained(db: Db, deviceId: string): Promise<boolean> {
  const rows = await db.$executeRaw`update device set status = 'OFFLINE' where id = ${deviceId}::uuid and status = 'ONLINE'`;
  return rows > 0;
}
