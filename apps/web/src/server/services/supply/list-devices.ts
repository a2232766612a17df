import "server-only";
import type { DeviceStatus } from "@gpumesh/db";
import { db } from "../../db.ts";

export interface SupplierDevice {
  id: string;
  name: string;
  status: DeviceStatus;
  gpuModelId: string | null;
  gpuCount: number;
  region: string;
  lastHeartbeatAt: Date | null;
  verificationScoreBps: number;
  verifiedAt: Date | null;
  lastCheck: { status: string; failureReason: string | null; at: Date } | null;
  lease: { clusterId: string; endsAt: Date } | null;
  pricePerGpuHour: bigint;
  /** The agent's key was removed: it can no longer connect. */
  removed: boolean;
  /** Paused by its supplier since then (no new leases); null when it takes leases. */
  pausedAt: Date | null;
}

export interface SupplyOverview {
  devices: SupplierDevice[];
  pendingTokens: { name: string; region: string; expiresAt: Date }[];
}

/** The signed-in supplier's devices, newest first, with their latest check and current lease. */
export async function supplyOverview(accountId: string, now = new Date()): Promise<SupplyOverview> {
  const supplier = await db.supplier.findUnique({ where: { accountId }, select: { id: true } });
  if (!supplier) return { devices: [], pendingTokens: [] };
  const [devices, pendingTokens] = await Promise.all([
    db.device.findMany({
      where: { supplierId: supplier.id },
      orderBy: { createdAt: "desc" },
      take: 200,
      select: {
        id: true, name: true, status: true, gpuModelId: true, gpuCount: true, region: true, lastHeartbeatAt: true, verificationScoreBps: true, verifiedAt: true,
        pricePerGpuHour: true, agentPublicKey: true, pausedAt: true,
        challenges: { orderBy: { issuedAt: "desc" }, take: 1, where: { status: { not: "PENDING" } }, select: { status: true, failureReason: true, issuedAt: true } },
        allocations: { where: { status: "ACTIVE", cluster: { status: { in: ["DEPLOYING", "RUNNING", "DEGRADED"] } } }, take: 1, select: { clusterId: true, endsAt: true } },
      },
    }),
    db.deviceJoinToken.findMany({ where: { supplierId: supplier.id, usedAt: null, expiresAt: { gt: now } }, orderBy: { createdAt: "desc" }, select: { name: true, region: true, expiresAt: true } }),
  ]);
  return {
    devices: devices.map((d) => ({
      id: d.id, name: d.name, status: d.status, gpuModelId: d.gpuModelId, gpuCount: d.gpuCount, region: d.region, lastHeartbeatAt: d.lastHeartbeatAt,
      verificationScoreBps: d.verificationScoreBps, verifiedAt: d.verifiedAt, pricePerGpuHour: d.pricePerGpuHour, removed: d.agentPublicKey === null,
      pausedAt: d.pausedAt,
      lastCheck: d.challenges[0] ? { status: d.challenges[0].status, failureReason: d.challenges[0].failureReason, at: d.challenges[0].issuedAt } : null,
      lease: d.allocations[0] ? { clusterId: d.allocations[0].clusterId, endsAt: d.allocations[0].endsAt } : null,
    })),
    pendingTokens,
  };
}
