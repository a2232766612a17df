import { z } from "zod";

// Domain enumerations. The database enums in prisma/schema.prisma carry the same values; a test in
// packages/db keeps them identical.
export const SupplierNetwork = z.enum(["GPUMESH", "RENDER", "FILECOIN", "AETHIR"]);
export type SupplierNetwork = z.infer<typeof SupplierNetwork>;

/** STANDARD < ENCRYPTED (end-to-end encrypted traffic) < COMPLIANCE (audited, SOC 2 / HIPAA-grade). */
export const SecurityTier = z.enum(["STANDARD", "ENCRYPTED", "COMPLIANCE"]);
export type SecurityTier = z.infer<typeof SecurityTier>;

/** STANDARD (≥ 400 Mbps) < HIGH_SPEED (≥ 1 Gbps) < ULTRA_HIGH_SPEED (≥ 10 Gbps). */
export const ConnectivityTier = z.enum(["STANDARD", "HIGH_SPEED", "ULTRA_HIGH_SPEED"]);
export type ConnectivityTier = z.infer<typeof ConnectivityTier>;

export const DeviceStatus = z.enum(["REGISTERED", "ONLINE", "OFFLINE", "SUSPENDED"]);
export type DeviceStatus = z.infer<typeof DeviceStatus>;

export const ClusterType = z.enum(["RAY", "KUBERNETES", "CONTAINER", "BARE_METAL"]);
export type ClusterType = z.infer<typeof ClusterType>;

export const BillingPeriod = z.enum(["HOURLY", "DAILY", "WEEKLY"]);
export type BillingPeriod = z.infer<typeof BillingPeriod>;

export const PaymentToken = z.enum(["USDC", "MESH"]);
export type PaymentToken = z.infer<typeof PaymentToken>;

export const ClusterStatus = z.enum([
  "REQUESTED",
  "PAID",
  "MATCHING",
  "DEPLOYING",
  "RUNNING",
  "DEGRADED",
  "ENDING",
  "ENDED",
  "FAILED",
  "REFUNDED",
]);
export type ClusterStatus = z.infer<typeof ClusterStatus>;

/** Ordering helpers: a device satisfies a requirement when its tier is at least the required one. */
export const SECURITY_TIER_RANK: Record<SecurityTier, number> = { STANDARD: 0, ENCRYPTED: 1, COMPLIANCE: 2 };
export const CONNECTIVITY_TIER_RANK: Record<ConnectivityTier, number> = { STANDARD: 0, HIGH_SPEED: 1, ULTRA_HIGH_SPEED: 2 };
/** Minimum symmetric bandwidth (Mbps) a device needs to be classed in a connectivity tier. */
export const CONNECTIVITY_TIER_MIN_MBPS: Record<ConnectivityTier, number> = { STANDARD: 400, HIGH_SPEED: 1_000, ULTRA_HIGH_SPEED: 10_000 };

export function connectivityTierFor(bandwidthUpMbps: number, bandwidthDownMbps: number): ConnectivityTier {
  const symmetric = Math.min(bandwidthUpMbps, bandwidthDownMbps);
  if (symmetric >= CONNECTIVITY_TIER_MIN_MBPS.ULTRA_HIGH_SPEED) return "ULTRA_HIGH_SPEED";
  if (symmetric >= CONNECTIVITY_TIER_MIN_MBPS.HIGH_SPEED) return "HIGH_SPEED";
  return "STANDARD";
}
